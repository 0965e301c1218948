// Shared by the music tests that run whole requests: a random-weight llama over the characters of
// a text, written once per name and process into the temp folder (left there: a few hundred KB).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "model/init.h"
#include "model/tokenizer/char_vocab.h"

namespace lyra::art::music::testing {

inline std::string random_char_model(const std::string& name, const std::string& text,
                                     uint64_t seed, int64_t n_ctx = 1024) {
    auto tok = model::build_char_vocab(text, 0);
    model::InitOptions o;
    o.n_embd = 32;
    o.n_layer = 1;
    o.n_head = 2;
    o.n_ctx = n_ctx;
    o.seed = seed;
    std::string p = (std::filesystem::temp_directory_path() /
                     ("lyra_" + name + "_" + std::to_string(::getpid()) + ".gguf"))
                        .string();
    model::init_model(o, *tok, p);
    return p;
}

}  // namespace lyra::art::music::testing
