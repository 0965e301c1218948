// Internal to model/: what an architecture file needs from Model::load and offers back.
// WeightBinder looks up every tensor an architecture declares, with the shape its
// hyperparameters imply, and collects ALL problems (missing, wrong shape, wrong type) so that
// load reports them together in one Error(Corrupt). Not included from outside model/.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "model/model.h"

namespace lyra::model::detail {

class WeightBinder {
public:
    explicit WeightBinder(const GgufFile& gguf) : gguf_(gguf) {}

    // A required 2-D weight [rows, cols] of any supported type. Returns an empty view (and
    // records the problem) if it is missing or disagrees.
    core::Tensor matrix(const std::string& name, int64_t rows, int64_t cols);
    // Like matrix() but absence is not a problem (returns an empty view).
    core::Tensor optional_matrix(const std::string& name, int64_t rows, int64_t cols);
    // For a weight that is only ever a matmul's right-hand side (never read by row, as an
    // embedding is): w itself, or a copy in the layout this machine's matmul runs fastest
    // (Q4_0 and Q8_0 on AVX-512: 16 rows per register, core/packed_weights.h) kept in owned
    // memory. The copy gives results of its own, so a weight must go through here for every use
    // or for none.
    core::Tensor for_matmul(const core::Tensor& w);
    // matrix(name, rows, cols) through for_matmul. The file's pages of a weight that was
    // packed are given back, as nothing else of the model reads them (a tied embedding goes
    // through for_matmul instead, since its rows are still read).
    core::Tensor linear(const std::string& name, int64_t rows, int64_t cols);
    core::Tensor optional_linear(const std::string& name, int64_t rows, int64_t cols) {
        return gguf_.find_tensor(name) ? linear(name, rows, cols) : core::Tensor{};
    }
    // A required 1-D tensor of n values as f32 (converted into owned memory when stored as
    // f16/bf16). nullptr (and a recorded problem) if missing or mismatched.
    const float* vector(const std::string& name, int64_t n);
    const float* optional_vector(const std::string& name, int64_t n);

    // Whether any weight bound through linear() is f32, f16 or bf16: such a product takes the
    // blocked GEMM from kExactBatchRows + 1 rows on, whose bits differ from the dot-product
    // kernels' (Model::same_row_arithmetic). An untied output head counts too, although it
    // only ever sees the few rows that get logits: a conservative answer.
    bool float_linears() const { return float_linears_; }

    // Throws Error(Corrupt) "model 'path': <problem>; <problem>; ..." if anything was wrong.
    void finish() const;
    // Converted 1-D tensors and packed weights; the model keeps them alive.
    std::deque<std::vector<float>> take_owned() { return std::move(owned_); }

private:
    const GgufTensorInfo* lookup(const std::string& name, bool required);
    bool check_shape(const GgufTensorInfo& info, std::initializer_list<int64_t> shape);

    const GgufFile& gguf_;
    std::vector<std::string> problems_;
    std::deque<std::vector<float>> owned_;
    bool float_linears_ = false;
};

// Architecture factories: bind weights (throwing as above) and return the ready model.
// Ownership of the file and tokenizer passes to the model.
std::unique_ptr<Model> make_llama(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                                  std::unique_ptr<Tokenizer> tok);  // llama and qwen2
std::unique_ptr<Model> make_gpt2(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                                 std::unique_ptr<Tokenizer> tok);
std::unique_ptr<Model> make_gptneo(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                                   std::unique_ptr<Tokenizer> tok);
std::unique_ptr<Model> make_transfo_xl(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                                       std::unique_ptr<Tokenizer> tok);
std::unique_ptr<Model> make_xlnet(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                                  std::unique_ptr<Tokenizer> tok);
std::unique_ptr<Model> make_t5(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                               std::unique_ptr<Tokenizer> tok);

// T5's bucket of a relative position (key - query), as HF's _relative_position_bucket.
int32_t t5_relative_bucket(int64_t rel, bool bidirectional, int64_t n_buckets, int64_t max_distance);

}  // namespace lyra::model::detail
