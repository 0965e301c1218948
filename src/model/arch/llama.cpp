// The llama family (Llama 2/3, Mistral, SmolLM, TinyLlama) and qwen2, which differs only by
// biases on q/k/v and the NeoX RoPE pairing. Per layer (pre-norm residual blocks):
//   x += Wo · attn(rope(Wq·rms(x) [+bq]), rope(Wk·rms(x) [+bk]), Wv·rms(x) [+bv])
//   x += Wdown · (silu(Wgate·rms(x)) ⊙ Wup·rms(x))
// then logits = Wout · rms(x). GGUF llama files store Wq/Wk permuted for interleaved RoPE pairs
// (convert_hf_to_gguf permutes them), so llama uses RopeStyle::Interleaved; qwen2 keeps HF order.
#include <cmath>

#include <fmt/format.h>

#include "core/matmul_group.h"
#include "model/arch/arch.h"
#include "model/blocks.h"

namespace lyra::model::detail {
namespace {

struct LlamaLayer {
    const float* attn_norm;                      // [C]
    core::Tensor wq, wk, wv;                     // [H*D, C], [Hkv*D, C], [Hkv*D, C]
    const float *bq = nullptr, *bk = nullptr, *bv = nullptr;  // qwen2 only
    core::Tensor wo;                             // [C, H*D]
    const float* ffn_norm;                       // [C]
    core::Tensor w_gate, w_up;                   // [F, C]
    core::Tensor w_down;                         // [C, F]
};

// Scratch slots of a llama forward() in the Session.
enum Slot : size_t { kX, kXn, kQ, kAtt, kGate, kUp, kScores, kKBatch, kVBatch };

class LlamaModel final : public Model {
public:
    LlamaModel(const HParams& hp, std::unique_ptr<GgufFile> gguf, std::unique_ptr<Tokenizer> tok) {
        hparams_ = hp;
        gguf_ = std::move(gguf);
        tokenizer_ = std::move(tok);
        bind();
    }

    void forward(Session& s, std::span<const TokenId> tokens, core::ThreadPool& pool,
                 std::vector<float>& logits, bool all_logits) const override;
    void forward_batch(std::span<Session* const> sessions, std::span<const TokenId> tokens,
                       std::span<const int32_t> counts, core::ThreadPool& pool,
                       std::vector<float>& logits) const override;
    bool batches_decode() const override { return true; }

private:
    void bind();
    // The forward over `rows` (one session's new positions, or a decode batch).
    void run(const KvRows& rows, const TokenId* tokens, core::ThreadPool& pool,
             std::vector<float>& logits, bool all_logits) const;

    core::Tensor tok_embd_;          // [V, C]
    const float* output_norm_ = nullptr;  // [C]
    core::Tensor output_;            // [V, C]; token_embd when tied
    std::vector<LlamaLayer> layers_;
    std::deque<std::vector<float>> owned_;  // 1-D tensors converted to f32
};

void LlamaModel::bind() {
    const HParams& hp = hparams_;
    const int64_t C = hp.n_embd, V = hp.n_vocab, F = hp.n_ff;
    const int64_t q_dim = hp.n_head * hp.head_dim, kv_dim = hp.n_head_kv * hp.head_dim;
    const bool qkv_bias = hp.arch == Arch::Qwen2;
    WeightBinder b(*gguf_);
    tok_embd_ = b.matrix("token_embd.weight", V, C);
    output_norm_ = b.vector("output_norm.weight", C);
    output_ = b.optional_linear("output.weight", V, C);
    hparams_.tied_output = gguf_->find_tensor("output.weight") == nullptr;
    if (hparams_.tied_output) output_ = b.for_matmul(tok_embd_);  // a packed copy, or the same view
    hparams_.rope.freq_factors = b.optional_vector("rope_freqs.weight", hp.rope.n_rot / 2);
    layers_.resize(static_cast<size_t>(hp.n_layer));
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        LlamaLayer& L = layers_[static_cast<size_t>(l)];
        const auto n = [l](const char* what) { return fmt::format("blk.{}.{}", l, what); };
        L.attn_norm = b.vector(n("attn_norm.weight"), C);
        L.wq = b.linear(n("attn_q.weight"), q_dim, C);
        L.wk = b.linear(n("attn_k.weight"), kv_dim, C);
        L.wv = b.linear(n("attn_v.weight"), kv_dim, C);
        if (qkv_bias) {
            L.bq = b.vector(n("attn_q.bias"), q_dim);
            L.bk = b.vector(n("attn_k.bias"), kv_dim);
            L.bv = b.vector(n("attn_v.bias"), kv_dim);
        }
        L.wo = b.linear(n("attn_output.weight"), C, q_dim);
        L.ffn_norm = b.vector(n("ffn_norm.weight"), C);
        L.w_gate = b.linear(n("ffn_gate.weight"), F, C);
        L.w_up = b.linear(n("ffn_up.weight"), F, C);
        L.w_down = b.linear(n("ffn_down.weight"), C, F);
    }
    b.finish();
    float_linears_ = b.float_linears();
    owned_ = b.take_owned();
}

void LlamaModel::forward(Session& s, std::span<const TokenId> tokens, core::ThreadPool& pool,
                         std::vector<float>& logits, bool all_logits) const {
    check_forward(hparams_, s, tokens);
    run(KvRows(s, static_cast<int64_t>(tokens.size()), kKBatch, kVBatch), tokens.data(), pool, logits, all_logits);
}

void LlamaModel::forward_batch(std::span<Session* const> sessions, std::span<const TokenId> tokens,
                               std::span<const int32_t> counts, core::ThreadPool& pool,
                               std::vector<float>& logits) const {
    check_forward_batch(hparams_, sessions, tokens, counts);
    const auto T = static_cast<int64_t>(tokens.size());
    const int64_t kv_dim = hparams_.n_head_kv * hparams_.head_dim;
    Session& first = *sessions.front();
    run(KvRows(sessions, counts, scratch(first, kKBatch, T * kv_dim), scratch(first, kVBatch, T * kv_dim)),
        tokens.data(), pool, logits, false);
}

void LlamaModel::run(const KvRows& rows, const TokenId* tokens, core::ThreadPool& pool,
                     std::vector<float>& logits, bool all_logits) const {
    const HParams& hp = hparams_;
    Session& s = rows.scratch_session();
    const int64_t T = rows.rows();
    const int64_t C = hp.n_embd, F = hp.n_ff, D = hp.head_dim;
    const int64_t H = hp.n_head, Hkv = hp.n_head_kv, q_dim = H * D, kv_dim = Hkv * D;
    float* x = scratch(s, kX, T * C);          // residual stream [T, C]
    float* xn = scratch(s, kXn, T * C);        // normed input / block output [T, C]
    float* q = scratch(s, kQ, T * q_dim);      // [T, H*D]
    float* att = scratch(s, kAtt, T * q_dim);  // attention output [T, H*D]
    float* gate = scratch(s, kGate, T * F);    // [T, F]
    float* up = scratch(s, kUp, T * F);        // [T, F]
    float* scores = scratch(s, kScores, rows.scores_size(pool));  // sized once for any P
    const int32_t* pos = rows.positions();
    const AttentionSpan span{1.0f / std::sqrt(static_cast<float>(D)), 0, true};

    core::get_rows(tok_embd_, tokens, T, x);
    trace("inp_embd", -1, x, T, C);
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        const LlamaLayer& L = layers_[static_cast<size_t>(l)];
        const int il = static_cast<int>(l);
        float* k = rows.k();  // [T, kv_dim] until rows.store_rows() puts them in the cache
        float* v = rows.v();
        // ---- attention ----
        // The norm of each row is made inside the projections' region (core::RowPrep).
        const auto attn_norm = [&](int64_t t) {
            core::rmsnorm(x + t * C, L.attn_norm, xn + t * C, 1, C, hp.norm_eps);
        };
        const core::MatmulTarget qkv[] = {{&L.wq, q}, {&L.wk, k}, {&L.wv, v}};
        core::matmul_group(pool, xn, T, qkv, core::row_prep(attn_norm));
        trace("attn_norm", il, xn, T, C);
        for_token_rows(pool, T, [&](int64_t t0, int64_t t1) {
            const int64_t n = t1 - t0;
            if (L.bq) core::add_bias(q + t0 * q_dim, L.bq, n, q_dim);
            if (L.bk) core::add_bias(k + t0 * kv_dim, L.bk, n, kv_dim);
            if (L.bv) core::add_bias(v + t0 * kv_dim, L.bv, n, kv_dim);
            core::rope(q + t0 * q_dim, n, H, D, pos + t0, hp.rope);
            core::rope(k + t0 * kv_dim, n, Hkv, D, pos + t0, hp.rope);
            rows.store_rows(l, t0, t1);  // into the cache (k and v stay as they are)
        });
        trace("q", il, q, T, q_dim);
        trace("k", il, k, T, kv_dim);
        trace("v", il, v, T, kv_dim);
        rows.attend(pool, l, q, H, Hkv, D, span, scores, att);
        trace("kqv_out", il, att, T, q_dim);
        core::matmul(pool, att, T, L.wo, xn);
        trace("attn_out", il, xn, T, C);
        // ---- feed-forward (SwiGLU) ----
        // The residual add and the norm of each row, then silu(gate) * up of each, are made
        // inside the next product's region (core::RowPrep), unless the whole block takes the
        // prompt's GEMM.
        const auto ffn_norm = [&](int64_t t) {
            core::add_inplace(x + t * C, xn + t * C, C);
            core::rmsnorm(x + t * C, L.ffn_norm, xn + t * C, 1, C, hp.norm_eps);
        };
        if (core::swiglu_gemm_applies(T, L.w_gate, L.w_up, L.w_down)) {
            for_token_rows(pool, T, [&](int64_t t0, int64_t t1) {
                for (int64_t t = t0; t < t1; ++t) ffn_norm(t);
            });
            trace("ffn_norm", il, xn, T, C);
            core::swiglu_gemm(pool, xn, T, L.w_gate, L.w_up, L.w_down, xn);
        } else {
            const core::MatmulTarget gate_up[] = {{&L.w_gate, gate}, {&L.w_up, up}};
            core::matmul_group(pool, xn, T, gate_up, core::row_prep(ffn_norm));
            trace("ffn_norm", il, xn, T, C);
            const auto silu = [&](int64_t t) { core::silu_mul(gate + t * F, up + t * F, gate + t * F, F); };
            const core::MatmulTarget down[] = {{&L.w_down, xn}};
            core::matmul_group(pool, gate, T, down, core::row_prep(silu));
        }
        trace("ffn_out", il, xn, T, C);
        for_token_rows(pool, T, [&](int64_t t0, int64_t t1) { core::add_inplace(x + t0 * C, xn + t0 * C, (t1 - t0) * C); });
        trace("l_out", il, x, T, C);
    }
    const OutputRows out = rows.output(x, C, all_logits);
    core::rmsnorm(out.x, output_norm_, xn, out.n, C, hp.norm_eps);
    trace("result_norm", -1, xn, out.n, C);
    output_head(pool, xn, out.n, output_, logits);
    trace("result_output", -1, logits.data(), out.n, hp.n_vocab);
    rows.advance();
}

}  // namespace

std::unique_ptr<Model> make_llama(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                                  std::unique_ptr<Tokenizer> tok) {
    return std::make_unique<LlamaModel>(hp, std::move(gguf), std::move(tok));
}

}  // namespace lyra::model::detail
