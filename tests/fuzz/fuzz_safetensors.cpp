// libFuzzer target for the safetensors reader: any input either opens, and then every tensor
// byte, view and f32 conversion works, or is refused with lyra::Error.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "fuzz_input_file.h"
#include "model/format/safetensors.h"

// libFuzzer's entry point (declared here for -Wmissing-prototypes).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string& path = lyra::fuzz::input_path(".safetensors");
    if (!lyra::fuzz::write_input(path, data, size)) return 0;
    try {
        const auto f = lyra::model::SafetensorsFile::open(path);
        volatile uint64_t sink = f->metadata().size();
        for (const auto& e : f->entries()) {
            for (size_t i = 0; i < e.nbytes; ++i) sink = sink + e.data[i];
            sink = sink + (f->find(e.name) == &e ? 1 : 0);
            try {
                const auto t = f->tensor(e.name);
                sink = sink + static_cast<uint64_t>(t.numel());
                const auto values = lyra::model::safetensors_to_f32(e);
                sink = sink + values.size();
            } catch (const lyra::Error&) {
                // Unsupported dtype or rank: a normal answer.
            }
        }
        (void)sink;
    } catch (const lyra::Error&) {
    }
    return 0;
}
