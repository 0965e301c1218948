#include "model/arch/gpt2_family.h"

#include <fmt/format.h>

namespace lyra::model::detail {

Gpt2FamilyModel::Gpt2FamilyModel(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                                 std::unique_ptr<Tokenizer> tok) {
    hparams_ = hp;
    gguf_ = std::move(gguf);
    tokenizer_ = std::move(tok);
}

void Gpt2FamilyModel::bind(const std::function<void(WeightBinder&, int64_t)>& bind_projections) {
    const HParams& hp = hparams_;
    const int64_t C = hp.n_embd, V = hp.n_vocab, F = hp.n_ff;
    WeightBinder b(*gguf_);
    tok_embd_ = b.matrix("token_embd.weight", V, C);
    pos_embd_ = b.matrix("position_embd.weight", hp.n_ctx, C);
    output_norm_ = b.vector("output_norm.weight", C);
    output_norm_b_ = b.vector("output_norm.bias", C);
    output_ = b.optional_linear("output.weight", V, C);
    hparams_.tied_output = gguf_->find_tensor("output.weight") == nullptr;
    if (hparams_.tied_output) output_ = b.for_matmul(tok_embd_);  // a packed copy, or the same view
    blocks_.resize(static_cast<size_t>(hp.n_layer));
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        LayerNormBlock& L = blocks_[static_cast<size_t>(l)];
        const auto n = [l](const char* what) { return fmt::format("blk.{}.{}", l, what); };
        L.attn_norm = b.vector(n("attn_norm.weight"), C);
        L.attn_norm_b = b.vector(n("attn_norm.bias"), C);
        L.wo = b.linear(n("attn_output.weight"), C, C);
        L.bo = b.vector(n("attn_output.bias"), C);
        L.ffn_norm = b.vector(n("ffn_norm.weight"), C);
        L.ffn_norm_b = b.vector(n("ffn_norm.bias"), C);
        L.w_up = b.linear(n("ffn_up.weight"), F, C);
        L.b_up = b.vector(n("ffn_up.bias"), F);
        L.w_down = b.linear(n("ffn_down.weight"), C, F);
        L.b_down = b.vector(n("ffn_down.bias"), C);
        bind_projections(b, l);
    }
    b.finish();
    float_linears_ = b.float_linears();
    owned_ = b.take_owned();
}

void Gpt2FamilyModel::forward(Session& s, std::span<const TokenId> tokens, core::ThreadPool& pool,
                              std::vector<float>& logits, bool all_logits) const {
    check_forward(hparams_, s, tokens);
    run(KvRows(s, static_cast<int64_t>(tokens.size()), kKBatch, kVBatch), tokens.data(), pool, logits, all_logits);
}

void Gpt2FamilyModel::forward_batch(std::span<Session* const> sessions, std::span<const TokenId> tokens,
                                    std::span<const int32_t> counts, core::ThreadPool& pool,
                                    std::vector<float>& logits) const {
    check_forward_batch(hparams_, sessions, tokens, counts);
    const auto T = static_cast<int64_t>(tokens.size());
    const int64_t C = hparams_.n_embd;
    Session& first = *sessions.front();
    run(KvRows(sessions, counts, scratch(first, kKBatch, T * C), scratch(first, kVBatch, T * C)), tokens.data(),
        pool, logits, false);
}

void Gpt2FamilyModel::run(const KvRows& rows, const TokenId* tokens, core::ThreadPool& pool,
                          std::vector<float>& logits, bool all_logits) const {
    const HParams& hp = hparams_;
    Session& s = rows.scratch_session();
    const int64_t T = rows.rows();
    const int64_t C = hp.n_embd, F = hp.n_ff, H = hp.n_head, D = hp.head_dim;
    float* x = scratch(s, kX, T * C);            // residual stream [T, C]
    float* xn = scratch(s, kXn, T * C);          // normed input / block output [T, C]
    float* q = scratch(s, kQ, T * C);            // [T, C]
    float* att = scratch(s, kAtt, T * C);        // [T, C]
    float* up = scratch(s, kUp, T * F);          // [T, F]
    float* pe = scratch(s, kPos, T * C);         // position embeddings [T, C]
    float* scores = scratch(s, kScores, rows.scores_size(pool));  // sized once for any P
    const int32_t* pos = rows.positions();

    core::get_rows(tok_embd_, tokens, T, x);
    core::get_rows(pos_embd_, pos, T, pe);
    core::add_inplace(x, pe, T * C);
    trace("inp_embd", -1, x, T, C);
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        const LayerNormBlock& L = blocks_[static_cast<size_t>(l)];
        const int il = static_cast<int>(l);
        // ---- attention ----
        core::layernorm(x, L.attn_norm, L.attn_norm_b, xn, T, C, hp.norm_eps);
        trace("attn_norm", il, xn, T, C);
        project_qkv(l, s, pool, xn, T, q, rows.k(), rows.v());
        rows.store(pool, l);
        rows.attend(pool, l, q, H, H, D, attention_span(l), scores, att);
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
    const OutputRows out = rows.output(x, C, all_logits);
    core::layernorm(out.x, output_norm_, output_norm_b_, xn, out.n, C, hp.norm_eps);
    trace("result_norm", -1, xn, out.n, C);
    output_head(pool, xn, out.n, output_, logits);
    trace("result_output", -1, logits.data(), out.n, hp.n_vocab);
    rows.advance();
}

}  // namespace lyra::model::detail
