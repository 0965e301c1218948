// libFuzzer target: arbitrary bytes as tokenizer.json (and, after a NUL byte, as
// tokenizer_config.json) through tokenizer_from_json — the conversion import_tokenizer_json
// writes to GGUF. A lyra::Error is the expected answer to bad input; anything else (a crash, a
// sanitizer report, another exception) is a bug. When the input converts, a fixed multilingual
// text is encoded (every id must be in range) and decoded with the result.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.h"
#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/tokenizer_json.h"

// libFuzzer's entry point (declared here for -Wmissing-prototypes).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string_view tj = in, cfg;
    if (size_t nul = in.find('\0'); nul != std::string_view::npos) {
        tj = in.substr(0, nul);
        cfg = in.substr(nul + 1);
    }
    static const char* kArch[] = {"llama", "qwen2", "gpt2"};
    try {
        auto tok = lyra::model::tokenizer_from_json(tj, cfg, kArch[size % 3]);
        const std::string text = "Hello, world! 你好 😀 <|im_start|>  \n\t x Caf\xC3\xA9 \xEF\xBD\x82 [MASK]";
        for (bool special : {false, true}) {
            auto ids = tok->encode(text, true, special);
            for (auto id : ids)
                if (id < 0 || id >= tok->n_vocab()) std::abort();
            (void)tok->decode(ids);
        }
    } catch (const lyra::Error&) {
        // rejected cleanly
    }
    return 0;
}
