// GPT-2 on the shared GPT-2-family forward (gpt2_family.h): a fused, biased QKV projection
//   qkv = Wqkv·ln1(x) + bqkv  (split as q | k | v, each [C])
// and full causal attention with scores scaled by 1/sqrt(head_dim).
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "model/arch/gpt2_family.h"

namespace lyra::model::detail {
namespace {

struct FusedQkv {
    core::Tensor w;  // [3C, C]
    const float* b;  // [3C]
};

class Gpt2Model final : public Gpt2FamilyModel {
public:
    Gpt2Model(const HParams& hp, std::unique_ptr<GgufFile> gguf, std::unique_ptr<Tokenizer> tok)
        : Gpt2FamilyModel(hp, std::move(gguf), std::move(tok)) {
        const int64_t C = hp.n_embd;
        qkv_.resize(static_cast<size_t>(hp.n_layer));
        bind([this, C](WeightBinder& b, int64_t l) {
            qkv_[static_cast<size_t>(l)].w = b.linear(fmt::format("blk.{}.attn_qkv.weight", l), 3 * C, C);
            qkv_[static_cast<size_t>(l)].b = b.vector(fmt::format("blk.{}.attn_qkv.bias", l), 3 * C);
        });
    }

private:
    enum OwnSlot : size_t { kQkv = kFirstOwnSlot };

    void project_qkv(int64_t l, Session& s, core::ThreadPool& pool, const float* xn, int64_t T,
                     float* q, float* k_rows, float* v_rows) const override {
        const int64_t C = hparams_.n_embd;
        const FusedQkv& p = qkv_[static_cast<size_t>(l)];
        float* qkv = scratch(s, kQkv, T * 3 * C);  // [T, 3C]
        core::matmul(pool, xn, T, p.w, qkv);
        core::add_bias(qkv, p.b, T, 3 * C);
        const auto row_bytes = static_cast<size_t>(C) * sizeof(float);
        for (int64_t t = 0; t < T; ++t) {  // split q | k | v; k and v go into the cache
            const float* row = qkv + t * 3 * C;
            std::memcpy(q + t * C, row, row_bytes);
            std::memcpy(k_rows + t * C, row + C, row_bytes);
            std::memcpy(v_rows + t * C, row + 2 * C, row_bytes);
        }
        trace("qkv", static_cast<int>(l), qkv, T, 3 * C);
    }

    AttentionSpan attention_span(int64_t) const override {
        return {1.0f / std::sqrt(static_cast<float>(hparams_.head_dim)), 0, true};
    }

    std::vector<FusedQkv> qkv_;
};

}  // namespace

std::unique_ptr<Model> make_gpt2(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                                 std::unique_ptr<Tokenizer> tok) {
    return std::make_unique<Gpt2Model>(hp, std::move(gguf), std::move(tok));
}

}  // namespace lyra::model::detail
