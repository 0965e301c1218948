// What GPT-2 and GPT-Neo share (gpt2_family.cpp): learned absolute positions, pre-LayerNorm
// blocks with biases, a biased attention output projection, a GELU (tanh) MLP and a LayerNorm'd
// output head. Per layer:
//   q, k, v = project(l, ln1(x))          (the subclass: fused+biased for gpt2, split for gptneo)
//   x  += Wo · attn_l(q, k, v) + bo       (attention_span(l): scale and window)
//   x  += Wdown · gelu(Wup·ln2(x) + bup) + bdown
// then logits = Wout · ln_f(x), with Wout = token_embd unless the file has output.weight.
// Internal to model/.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "model/arch/arch.h"
#include "model/blocks.h"

namespace lyra::model::detail {

// The per-layer weights both families have.
struct LayerNormBlock {
    const float *attn_norm, *attn_norm_b;  // [C]
    core::Tensor wo;                       // [C, C]
    const float* bo;                       // [C]
    const float *ffn_norm, *ffn_norm_b;    // [C]
    core::Tensor w_up;                     // [F, C]
    const float* b_up;                     // [F]
    core::Tensor w_down;                   // [C, F]
    const float* b_down;                   // [C]
};

class Gpt2FamilyModel : public Model {
public:
    void forward(Session& s, std::span<const TokenId> tokens, core::ThreadPool& pool,
                 std::vector<float>& logits, bool all_logits) const final;
    void forward_batch(std::span<Session* const> sessions, std::span<const TokenId> tokens,
                       std::span<const int32_t> counts, core::ThreadPool& pool,
                       std::vector<float>& logits) const final;
    bool batches_decode() const final { return true; }

protected:
    // Session scratch slots the shared forward uses; subclasses take theirs from kFirstOwnSlot.
    enum Slot : size_t { kX, kXn, kQ, kAtt, kUp, kPos, kScores, kKBatch, kVBatch, kFirstOwnSlot };

    Gpt2FamilyModel(const HParams& hp, std::unique_ptr<GgufFile> gguf, std::unique_ptr<Tokenizer> tok);

    // Binds the embeddings, the output head and every LayerNormBlock, calls
    // bind_projections(binder, layer) for each layer's q/k/v weights, and throws (one
    // Error(Corrupt) naming every problem) if anything is missing or misshapen. The subclass
    // constructor calls it once.
    void bind(const std::function<void(WeightBinder&, int64_t layer)>& bind_projections);

    // Layer l's projections of the normed input xn [T, C]: q [T, C], and k, v [T, C] written to
    // k_rows, v_rows (KvRows: the cache rows, or a decode batch's staging rows). Scratch comes
    // from s.
    virtual void project_qkv(int64_t l, Session& s, core::ThreadPool& pool, const float* xn,
                             int64_t T, float* q, float* k_rows, float* v_rows) const = 0;
    // Which keys layer l's queries see and how their scores are scaled.
    virtual AttentionSpan attention_span(int64_t l) const = 0;

private:
    void run(const KvRows& rows, const TokenId* tokens, core::ThreadPool& pool,
             std::vector<float>& logits, bool all_logits) const;

    core::Tensor tok_embd_;   // [V, C]
    core::Tensor pos_embd_;   // [n_ctx, C]
    const float *output_norm_ = nullptr, *output_norm_b_ = nullptr;  // [C]
    core::Tensor output_;     // [V, C]; token_embd when tied
    std::vector<LayerNormBlock> blocks_;
    std::deque<std::vector<float>> owned_;
};

}  // namespace lyra::model::detail
