// Hugging Face -> GGUF import for llama (LlamaForCausalLM, MistralForCausalLM), qwen2
// (Qwen2ForCausalLM), gpt2 (GPT2LMHeadModel), gptneo (GPTNeoForCausalLM), transfo-xl, t5,
// xlnet (XLNetLMHeadModel, XLNetModel) and the encoders bert,
// roberta and albert (Bert/Roberta/AlbertForMaskedLM and the bare ...Model; the list of
// supported classes is kSupported in hf_import.cpp). Reads config.json,
// model.safetensors (or the shards of model.safetensors.index.json), tokenizer.json (for
// gpt2/gptneo also vocab.json + merges.txt instead) and tokenizer_config.json from `dir`, and
// writes the standard GGUF keys and tensor names (docs/formats/gguf.md). Conversions:
// gpt2 Conv1D weights are transposed to [out, in]; llama attn_q/attn_k rows are permuted per
// head for interleaved RoPE (docs/formats/safetensors.md, "Import"). The output is written
// atomically. Throws lyra::Error: NotFound (missing file), Corrupt (malformed config/weights,
// shapes that disagree with config.json), Unsupported (other architectures or dtypes),
// InvalidArgument (an out_type other than F32/F16/BF16).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace lyra::model {

class GgufWriter;

struct HfImportOptions {
    // xlnet: the factorization order generation uses, "bidirectional" (HF's generate; empty
    // means it) or "causal" (docs/formats/gguf.md, "XLNet"). Other architectures: empty.
    std::string factorization = {};
};

// Converts the model in `dir` into `out` (metadata, tokenizer and tensors; nothing written to
// disk). 2-D weights are stored as `out_type` (F32, F16 or BF16), or as the source dtype when
// nullopt; 1-D tensors (norms, biases, rope_freqs) are always F32.
void import_hf_to_writer(const std::string& dir, GgufWriter& out,
                         std::optional<core::DType> out_type = std::nullopt,
                         const HfImportOptions& opt = {});

// The same, written to `out_gguf`.
void import_hf(const std::string& dir, const std::string& out_gguf,
               std::optional<core::DType> out_type = std::nullopt, const HfImportOptions& opt = {});

// Llama's q/k row permutation for interleaved RoPE, on a row-major [n_rows, n_cols] matrix
// (n_cols = 1 for a bias) of n_head heads: within each head of D = n_rows / n_head rows, output
// row 2j + s is input row s * D/2 + j (s = 0, 1; j < D/2). Exposed for tests.
std::vector<float> permute_qk_for_interleaved_rope(const std::vector<float>& w, int64_t n_rows,
                                                   int64_t n_cols, int64_t n_head);

// Llama 3.1 "llama3" rope scaling: the per-frequency divisors (head_dim / 2 of them) that
// GGUF stores as rope_freqs.weight. Exposed for tests.
std::vector<float> llama3_rope_freq_factors(double rope_theta, int64_t head_dim, double factor,
                                            double low_freq_factor, double high_freq_factor,
                                            double original_context);

}  // namespace lyra::model
