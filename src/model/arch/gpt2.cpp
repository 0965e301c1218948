// GPT-2: learned absolute positions, pre-LayerNorm blocks with biases everywhere, a fused QKV
// projection and a GELU (tanh) MLP. Per layer:
//   qkv = Wqkv·ln1(x) + bqkv  (split as q | k | v, each [C])
//   x  += Wo · attn(q, k, v) + bo
//   x  += Wdown · gelu(Wup·ln2(x) + bup) + bdown
// then logits = Wout · ln_f(x), with Wout = token_embd unless the file has output.weight.
#include <cstring>

#include <fmt/format.h>

#include "model/arch/arch.h"
#include "model/blocks.h"

namespace lyra::model::detail {
namespace {

struct Gpt2Layer {
    const float *attn_norm, *attn_norm_b;  // [C]
    core::Tensor w_qkv;                    // [3C, C]
    const float* b_qkv;                    // [3C]
    core::Tensor wo;                       // [C, C]
    const float* bo;                       // [C]
    const float *ffn_norm, *ffn_norm_b;    // [C]
    core::Tensor w_up;                     // [F, C]
    const float* b_up;                     // [F]
    core::Tensor w_down;                   // [C, F]
    const float* b_down;                   // [C]
};

enum Slot : size_t { kX, kXn, kQkv, kQ, kAtt, kUp, kPos, kScores };

class Gpt2Model final : public Model {
public:
    Gpt2Model(const HParams& hp, std::unique_ptr<GgufFile> gguf, std::unique_ptr<Tokenizer> tok) {
        hparams_ = hp;
        gguf_ = std::move(gguf);
        tokenizer_ = std::move(tok);
        bind();
    }

    void forward(Session& s, std::span<const TokenId> tokens, core::ThreadPool& pool,
                 std::vector<float>& logits, bool all_logits) const override;

private:
    void bind();

    core::Tensor tok_embd_;   // [V, C]
    core::Tensor pos_embd_;   // [n_ctx, C]
    const float *output_norm_ = nullptr, *output_norm_b_ = nullptr;  // [C]
    core::Tensor output_;     // [V, C]; token_embd when tied
    std::vector<Gpt2Layer> layers_;
    std::deque<std::vector<float>> owned_;
};

void Gpt2Model::bind() {
    const HParams& hp = hparams_;
    const int64_t C = hp.n_embd, V = hp.n_vocab, F = hp.n_ff;
    WeightBinder b(*gguf_);
    tok_embd_ = b.matrix("token_embd.weight", V, C);
    pos_embd_ = b.matrix("position_embd.weight", hp.n_ctx, C);
    output_norm_ = b.vector("output_norm.weight", C);
    output_norm_b_ = b.vector("output_norm.bias", C);
    output_ = b.optional_matrix("output.weight", V, C);
    hparams_.tied_output = gguf_->find_tensor("output.weight") == nullptr;
    if (hparams_.tied_output) output_ = tok_embd_;
    layers_.resize(static_cast<size_t>(hp.n_layer));
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        Gpt2Layer& L = layers_[static_cast<size_t>(l)];
        const auto n = [l](const char* what) { return fmt::format("blk.{}.{}", l, what); };
        L.attn_norm = b.vector(n("attn_norm.weight"), C);
        L.attn_norm_b = b.vector(n("attn_norm.bias"), C);
        L.w_qkv = b.matrix(n("attn_qkv.weight"), 3 * C, C);
        L.b_qkv = b.vector(n("attn_qkv.bias"), 3 * C);
        L.wo = b.matrix(n("attn_output.weight"), C, C);
        L.bo = b.vector(n("attn_output.bias"), C);
        L.ffn_norm = b.vector(n("ffn_norm.weight"), C);
        L.ffn_norm_b = b.vector(n("ffn_norm.bias"), C);
        L.w_up = b.matrix(n("ffn_up.weight"), F, C);
        L.b_up = b.vector(n("ffn_up.bias"), F);
        L.w_down = b.matrix(n("ffn_down.weight"), C, F);
        L.b_down = b.vector(n("ffn_down.bias"), C);
    }
    b.finish();
    owned_ = b.take_owned();
}

void Gpt2Model::forward(Session& s, std::span<const TokenId> tokens, core::ThreadPool& pool,
                        std::vector<float>& logits, bool all_logits) const {
    const HParams& hp = hparams_;
    check_forward(hp, s, tokens);
    const auto T = static_cast<int64_t>(tokens.size());
    const int64_t P = s.n_past(), C = hp.n_embd, F = hp.n_ff, H = hp.n_head, D = hp.head_dim;
    float* x = scratch(s, kX, T * C);            // residual stream [T, C]
    float* xn = scratch(s, kXn, T * C);          // normed input / block output [T, C]
    float* qkv = scratch(s, kQkv, T * 3 * C);    // fused projection [T, 3C]
    float* q = scratch(s, kQ, T * C);            // [T, C]
    float* att = scratch(s, kAtt, T * C);        // [T, C]
    float* up = scratch(s, kUp, T * F);          // [T, F]
    float* pe = scratch(s, kPos, T * C);         // position embeddings [T, C]
    float* scores = scratch(s, kScores, pool.size() * s.n_ctx());  // sized once for any P
    const int32_t* pos = positions(s, T);

    core::get_rows(tok_embd_, tokens.data(), T, x);
    core::get_rows(pos_embd_, pos, T, pe);
    core::add_inplace(x, pe, T * C);
    trace("inp_embd", -1, x, T, C);
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        const Gpt2Layer& L = layers_[static_cast<size_t>(l)];
        const int il = static_cast<int>(l);
        float* k_cache = s.k_cache(l);
        float* v_cache = s.v_cache(l);
        // ---- attention ----
        core::layernorm(x, L.attn_norm, L.attn_norm_b, xn, T, C, hp.norm_eps);
        trace("attn_norm", il, xn, T, C);
        core::matmul(pool, xn, T, L.w_qkv, qkv);
        core::add_bias(qkv, L.b_qkv, T, 3 * C);
        for (int64_t t = 0; t < T; ++t) {  // split q | k | v; k and v go into the cache
            const float* row = qkv + t * 3 * C;
            std::memcpy(q + t * C, row, static_cast<size_t>(C) * sizeof(float));
            std::memcpy(k_cache + (P + t) * C, row + C, static_cast<size_t>(C) * sizeof(float));
            std::memcpy(v_cache + (P + t) * C, row + 2 * C, static_cast<size_t>(C) * sizeof(float));
        }
        trace("qkv", il, qkv, T, 3 * C);
        attention(pool, q, T, P, k_cache, v_cache, H, H, D, scores, att);
        trace("kqv_out", il, att, T, C);
        core::matmul(pool, att, T, L.wo, xn);
        core::add_bias(xn, L.bo, T, C);
        trace("attn_out", il, xn, T, C);
        core::add_inplace(x, xn, T * C);
        // ---- feed-forward (GELU MLP) ----
        core::layernorm(x, L.ffn_norm, L.ffn_norm_b, xn, T, C, hp.norm_eps);
        trace("ffn_norm", il, xn, T, C);
        core::matmul(pool, xn, T, L.w_up, up);
        core::add_bias(up, L.b_up, T, F);
        core::gelu(up, T * F);
        core::matmul(pool, up, T, L.w_down, xn);
        core::add_bias(xn, L.b_down, T, C);
        trace("ffn_out", il, xn, T, C);
        core::add_inplace(x, xn, T * C);
        trace("l_out", il, x, T, C);
    }
    const OutputRows rows = output_rows(x, T, C, all_logits);
    core::layernorm(rows.x, output_norm_, output_norm_b_, xn, rows.n, C, hp.norm_eps);
    trace("result_norm", -1, xn, rows.n, C);
    output_head(pool, xn, rows.n, output_, logits);
    trace("result_output", -1, logits.data(), rows.n, hp.n_vocab);
    s.advance(T);
}

}  // namespace

std::unique_ptr<Model> make_gpt2(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                                 std::unique_ptr<Tokenizer> tok) {
    return std::make_unique<Gpt2Model>(hp, std::move(gguf), std::move(tok));
}

}  // namespace lyra::model::detail
