// GPT-Neo on the shared GPT-2-family forward (gpt2_family.h). What differs from GPT-2:
//   q = Wq·ln1(x), k = Wk·ln1(x), v = Wv·ln1(x)   separate projections, no biases
//   scores = q·k, NOT scaled by 1/sqrt(head_dim)  (HF GPTNeoSelfAttention._attn multiplies
//                                                  q by k^T and softmaxes as is; the trained
//                                                  weights absorb the scale)
//   local layers (hparams.local_layers[l]) see only the last sliding_window positions, their own
//   included (HF: the causal mask XOR tril(mask, -window_size)); global layers see all of them.
#include <fmt/format.h>

#include "core/matmul_group.h"
#include "model/arch/gpt2_family.h"

namespace lyra::model::detail {
namespace {

struct SplitQkv {
    core::Tensor wq, wk, wv;  // [C, C] each
};

class GptNeoModel final : public Gpt2FamilyModel {
public:
    GptNeoModel(const HParams& hp, std::unique_ptr<GgufFile> gguf, std::unique_ptr<Tokenizer> tok)
        : Gpt2FamilyModel(hp, std::move(gguf), std::move(tok)) {
        const int64_t C = hp.n_embd;
        qkv_.resize(static_cast<size_t>(hp.n_layer));
        bind([this, C](WeightBinder& b, int64_t l) {
            const auto n = [l](const char* what) { return fmt::format("blk.{}.{}.weight", l, what); };
            SplitQkv& p = qkv_[static_cast<size_t>(l)];
            p.wq = b.linear(n("attn_q"), C, C);
            p.wk = b.linear(n("attn_k"), C, C);
            p.wv = b.linear(n("attn_v"), C, C);
        });
    }

private:
    void project_qkv(int64_t l, Session&, core::ThreadPool& pool, const float* xn, int64_t T,
                     float* q, float* k_rows, float* v_rows) const override {
        const SplitQkv& p = qkv_[static_cast<size_t>(l)];
        const int64_t C = hparams_.n_embd;
        // The cache rows are [T, C] contiguous, so k and v are written there directly.
        const core::MatmulTarget qkv[] = {{&p.wq, q}, {&p.wk, k_rows}, {&p.wv, v_rows}};
        core::matmul_group(pool, xn, T, qkv);
        trace("q", static_cast<int>(l), q, T, C);
        trace("k", static_cast<int>(l), k_rows, T, C);
        trace("v", static_cast<int>(l), v_rows, T, C);
    }

    AttentionSpan attention_span(int64_t l) const override {
        const bool local = hparams_.local_layers[static_cast<size_t>(l)];
        return {1.0f, local ? hparams_.sliding_window : 0, true};
    }

    std::vector<SplitQkv> qkv_;
};

}  // namespace

std::unique_ptr<Model> make_gptneo(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                                   std::unique_ptr<Tokenizer> tok) {
    return std::make_unique<GptNeoModel>(hp, std::move(gguf), std::move(tok));
}

}  // namespace lyra::model::detail
