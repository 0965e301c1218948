// libFuzzer target for the GGUF reader: any input either opens, and then every metadata value
// and every tensor byte can be read, or is refused with lyra::Error. Anything else — a crash, a
// sanitizer report, another exception type — is a bug.
#include <cstddef>
#include <cstdint>
#include <variant>

#include "core/error.h"
#include "fuzz_input_file.h"
#include "model/format/gguf.h"

namespace {

uint64_t touch(const lyra::model::GgufValue& v) {
    using lyra::model::GgufArray;
    if (const auto* a = std::get_if<GgufArray>(&v.v)) {
        uint64_t h = a->items.size();
        for (const auto& item : a->items) h += touch(item);
        return h;
    }
    if (const auto* s = std::get_if<std::string>(&v.v)) return s->size() + (s->empty() ? 0 : (*s)[0]);
    if (const auto* u = std::get_if<uint64_t>(&v.v)) return *u;
    if (const auto* i = std::get_if<int64_t>(&v.v)) return static_cast<uint64_t>(*i);
    if (const auto* b = std::get_if<bool>(&v.v)) return *b ? 1 : 0;
    return 0;
}

template <typename F>
uint64_t try_get(F&& f) {
    try {
        return f() ? 1 : 0;
    } catch (const lyra::Error&) {
        return 2;  // a wrong type is a normal answer
    }
}

}  // namespace

// libFuzzer's entry point (declared here for -Wmissing-prototypes).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string& path = lyra::fuzz::input_path(".gguf");
    if (!lyra::fuzz::write_input(path, data, size)) return 0;
    try {
        const auto f = lyra::model::GgufFile::open(path);
        volatile uint64_t sink = f->version() + f->alignment();
        for (const auto& kv : f->metadata()) {
            const std::string& key = kv.first;
            sink = sink + touch(kv.second);
            sink = sink + try_get([&] { return f->get_string(key).has_value(); });
            sink = sink + try_get([&] { return f->get_int(key).has_value(); });
            sink = sink + try_get([&] { return f->get_float(key).has_value(); });
            sink = sink + try_get([&] { return f->get_bool(key).has_value(); });
            sink = sink + try_get([&] { return f->get_string_array(key).has_value(); });
            sink = sink + try_get([&] { return f->get_float_array(key).has_value(); });
            sink = sink + try_get([&] { return f->get_int_array(key).has_value(); });
        }
        for (const auto& t : f->tensors()) {
            const auto* p = static_cast<const uint8_t*>(t.tensor.data);
            const size_t n = t.tensor.nbytes();
            for (size_t i = 0; i < n; ++i) sink = sink + p[i];
            sink = sink + (f->find_tensor(t.name) == &t ? 1 : 0);
        }
        (void)sink;
    } catch (const lyra::Error&) {
        // Refused with a message: the expected outcome for most inputs.
    }
    return 0;
}
