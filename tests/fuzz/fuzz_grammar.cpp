// libFuzzer target for the constraint front ends: arbitrary bytes as GBNF text, as a regular
// expression and as a JSON schema. Each either compiles or is refused with lyra::Error; when a
// grammar compiles, the input's own bytes are fed to its matcher (every state must answer, and
// compact() must keep the state). Anything else — a crash, a hang, a sanitizer report, another
// exception type — is a bug.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "generate/constraint/constraint.h"
#include "generate/constraint/grammar.h"
#include "generate/constraint/matcher.h"

// libFuzzer's entry point (declared here for -Wmissing-prototypes).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void exercise(const std::string& gbnf, std::string_view feed) {
    namespace c = lyra::gen::constraint;
    auto g = std::make_shared<const c::Grammar>(c::compile_gbnf(gbnf, "fuzz"));
    c::GrammarMatcher m(g);
    c::StateId s = m.start();
    volatile uint32_t sink = 0;
    for (char ch : feed) {
        const c::StateId n = m.next(s, static_cast<uint8_t>(ch));
        if (n == c::kDead) break;
        s = n;
        sink = sink + m.min_bytes_to_end(s) + (m.is_accepting(s) ? 1u : 0u);
    }
    s = m.compact(s);
    sink = sink + static_cast<uint32_t>(m.n_states());
    (void)g->to_gbnf();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 4096) return 0;  // long inputs only slow the search down
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    namespace c = lyra::gen::constraint;
    try {
        exercise(std::string(in), in);
    } catch (const lyra::Error&) {
        // Refused with a message: the expected answer to a bad grammar.
    }
    try {
        exercise(c::regex_to_gbnf(in), in);
    } catch (const lyra::Error&) {
    }
    try {
        exercise(c::json_schema_to_gbnf(in), in);
    } catch (const lyra::Error&) {
    }
    return 0;
}
