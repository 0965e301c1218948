// Random initialisation: writes a fresh GGUF model of any shape for the architectures Lyra runs,
// with all standard metadata and a given tokenizer, ready for training from scratch or tests.
// Weights ~ normal(0, init_std) from a seeded Rng (same options => same file, byte for byte);
// the residual output projections (attn_output, ffn_down) use init_std / sqrt(2 * n_layer) as
// GPT-2 does; norm weights are 1, biases 0. 2-D weights take `dtype` where their rows fit its
// blocks (the rule in quantize.h). Throws lyra::Error(InvalidArgument) for impossible shapes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "model/model.h"

namespace lyra::model {

struct InitOptions {
    Arch arch = Arch::Llama;
    int64_t n_embd = 256;            // model width C
    int64_t n_layer = 2;
    int64_t n_head = 4;
    int64_t n_head_kv = 0;           // 0 = n_head (no grouping); gpt2 must use n_head
    int64_t n_ff = 0;                // 0 = 4*C for gpt2, 8/3*C rounded up to 32 for llama/qwen2
    int64_t n_ctx = 512;             // context length (gpt2: rows of the position table)
    uint64_t seed = 0;
    core::DType dtype = core::DType::F32;  // weight type of the 2-D matrices
    float init_std = 0.02f;          // std of the normal init
    float bias_std = 0.0f;           // 0: biases 0 and norm weights 1; > 0: biases ~ N(0, bias_std)
                                     // and norm weights ~ 1 + N(0, bias_std) (parity tests use it)
    float norm_eps = 1e-5f;
    float rope_freq_base = 10000.0f; // llama/qwen2
    bool tied_output = false;        // llama/qwen2: no output.weight, reuse token_embd (gpt2: always)
    std::string name = "lyra-random";  // general.name
};

// Fills in the defaults (n_head_kv, n_ff) and validates; throws Error(InvalidArgument).
InitOptions resolve_init_options(const InitOptions& opt);

// Writes the model to `path` atomically. Returns notes about weights that could not take
// `dtype` (see weight_type_for), one line each.
std::vector<std::string> init_model(const InitOptions& opt, const Tokenizer& tok,
                                    const std::string& path);

}  // namespace lyra::model
