// T5 (T5ForConditionalGeneration): an encoder over the source and a decoder that attends to its
// own tokens and, in every block, to the encoder's output. Per encoder block:
//   x += Wo · attn(q, k, v of rms(x); bias = rel_b[bucket(j - i)] bidirectional, NOT scaled)
//   x += ffn(rms(x))
// enc = rms_out_enc(x). Per decoder block (KV cache for the self-attention):
//   x += Wo · attn(rms(x); causal, bias = rel_b[bucket(j - i)] one-sided)
//   x += Wo' · attn(q = Wq'·rms(x), k = Wk'·enc, v = Wv'·enc; no bias, no mask)
//   x += ffn(rms(x))
// logits = head · rms_out_dec(x), scaled by n_embd^-0.5 first where the head is token_embd
// (tied: HF rescales before the shared lm_head). ffn is Wdown · relu(Wup·x) (original T5) or
// Wdown · (gelu_tanh(Wgate·x) ⊙ Wup·x) (T5 v1.1 / flan "gated-gelu"), chosen by whether the
// file has ffn_gate tensors, as llama.cpp does. "rms" is T5's LayerNorm: scale only, no mean,
// no bias. Each stack's relative bias is stored in its layer 0 and shared by all its layers.
// The source's cross-attention K/V are computed once per decoder layer by prefill() and kept in
// the Session, so each decoded token costs one decoder pass.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/attention.h"
#include "core/error.h"
#include "core/matmul_group.h"
#include "core/quant.h"
#include "model/arch/arch.h"
#include "model/blocks.h"

namespace lyra::model::detail {

// HF's _relative_position_bucket: half the buckets per direction when bidirectional, exact
// buckets for small distances, logarithmic ones up to max_distance, the last bucket beyond.
// float32 arithmetic as in the PyTorch original, so bucket edges agree.
int32_t t5_relative_bucket(int64_t rel, bool bidirectional, int64_t n_buckets,
                           int64_t max_distance) {
    int64_t bucket = 0;
    if (bidirectional) {
        n_buckets /= 2;
        if (rel > 0) bucket += n_buckets;
        rel = rel < 0 ? -rel : rel;
    } else {
        rel = rel < 0 ? -rel : 0;
    }
    const int64_t max_exact = n_buckets / 2;
    if (rel < max_exact) return static_cast<int32_t>(bucket + rel);
    const float scaled = std::log(static_cast<float>(rel) / static_cast<float>(max_exact)) /
                         static_cast<float>(std::log(static_cast<double>(max_distance) /
                                                     static_cast<double>(max_exact))) *
                         static_cast<float>(n_buckets - max_exact);
    const int64_t large = std::min(max_exact + static_cast<int64_t>(scaled), n_buckets - 1);
    return static_cast<int32_t>(bucket + large);
}

namespace {

struct T5Attention {
    core::Tensor wq, wk, wv;  // [H*D, C]
    core::Tensor wo;          // [C, H*D]
};

struct T5Block {
    const float* attn_norm = nullptr;  // [C]
    T5Attention attn;
    const float* cross_norm = nullptr;  // decoder only
    T5Attention cross;                  // decoder only
    const float* ffn_norm = nullptr;
    core::Tensor gate, up, down;  // gate only when gated
};

// One stack's relative position bias, [buckets, H] as f32, and the bucket of every relative
// position -(n_ctx-1) .. n_ctx-1 (index rel + n_ctx - 1).
struct RelBias {
    std::vector<float> values;
    std::vector<int32_t> bucket;
};

struct AttnArgs {
    const float* q;     // [T, H*D]
    int64_t T, q_pos0;  // query t sits at position q_pos0 + t
    KvHeads k;          // n_keys rows per head, f32 or f16 (the session's cache type)
    KvHeads v;
    int64_t n_keys;
    bool causal;          // query at position p sees keys 0..p only
    const RelBias* bias;  // null: no position bias (cross-attention)
    int64_t H, D, n_ctx;
    float* scores;  // pool.size() * n_keys
    float* out;     // [T, H*D]
};

// One thread's share of the (token, head) pairs. No 1/sqrt(D): T5 folds it into the weights.
// The blocked kernels of core/attention.h read the head's cached rows several at a time; the
// bias goes in between the scores and the softmax (the same sums as a dot per key).
void attention_part(const AttnArgs& a, int ith, int nth) {
    const int64_t dim = a.H * a.D;
    float* sc = a.scores + static_cast<int64_t>(ith) * a.n_keys;
    int64_t begin = 0, end = 0;
    core::split_range(a.T * a.H, ith, nth, &begin, &end);
    for (int64_t item = begin; item < end; ++item) {
        const int64_t t = item / a.H, h = item % a.H, pos = a.q_pos0 + t;
        const int64_t n = a.causal ? pos + 1 : a.n_keys;
        const float* qv = a.q + t * dim + h * a.D;
        float* o = a.out + t * dim + h * a.D;
        const core::KvView k = a.k.head(h), v = a.v.head(h);
        if (!a.bias) {
            core::attention_head(qv, k, v, n, a.D, 1.0f, sc, o);
            continue;
        }
        core::attention_scores(qv, k, n, a.D, 1.0f, sc);
        const int32_t* bucket = a.bias->bucket.data() + (a.n_ctx - 1) - pos;  // [j] = bucket(j - pos)
        const float* values = a.bias->values.data() + h;
        for (int64_t j = 0; j < n; ++j) sc[j] += values[bucket[j] * a.H];
        core::softmax(sc, n);
        core::attention_values(sc, v, n, a.D, o);
    }
}

class T5Model final : public Model {
public:
    T5Model(const HParams& hp, std::unique_ptr<GgufFile> gguf, std::unique_ptr<Tokenizer> tok) {
        hparams_ = hp;
        gguf_ = std::move(gguf);
        tokenizer_ = std::move(tok);
        hparams_.gated_ffn = gguf_->find_tensor("enc.blk.0.ffn_gate.weight") != nullptr;
        const int64_t C = hp.n_embd, V = hp.n_vocab, HD = hp.n_head * hp.head_dim;
        WeightBinder b(*gguf_);
        tok_embd_ = b.matrix("token_embd.weight", V, C);
        output_ = b.optional_matrix("output.weight", V, C);
        hparams_.tied_output = gguf_->find_tensor("output.weight") == nullptr;
        if (hparams_.tied_output) output_ = tok_embd_;
        enc_norm_ = b.vector("enc.output_norm.weight", C);
        dec_norm_ = b.vector("dec.output_norm.weight", C);
        core::Tensor enc_rel = b.matrix("enc.blk.0.attn_rel_b.weight", hp.rel_buckets, hp.n_head);
        core::Tensor dec_rel = b.matrix("dec.blk.0.attn_rel_b.weight", hp.rel_buckets, hp.n_head);
        auto attention = [&](const std::string& p, const char* q, const char* k, const char* v,
                             const char* o) {
            return T5Attention{
                b.matrix(p + q + ".weight", HD, C), b.matrix(p + k + ".weight", HD, C),
                b.matrix(p + v + ".weight", HD, C), b.matrix(p + o + ".weight", C, HD)};
        };
        auto ffn = [&](const std::string& p, T5Block& B) {
            B.ffn_norm = b.vector(p + "ffn_norm.weight", C);
            if (hparams_.gated_ffn) B.gate = b.matrix(p + "ffn_gate.weight", hp.n_ff, C);
            B.up = b.matrix(p + "ffn_up.weight", hp.n_ff, C);
            B.down = b.matrix(p + "ffn_down.weight", C, hp.n_ff);
        };
        enc_.resize(static_cast<size_t>(hp.n_layer_enc));
        for (int64_t l = 0; l < hp.n_layer_enc; ++l) {
            const std::string p = fmt::format("enc.blk.{}.", l);
            T5Block& B = enc_[static_cast<size_t>(l)];
            B.attn_norm = b.vector(p + "attn_norm.weight", C);
            B.attn = attention(p, "attn_q", "attn_k", "attn_v", "attn_o");
            ffn(p, B);
        }
        dec_.resize(static_cast<size_t>(hp.n_layer));
        for (int64_t l = 0; l < hp.n_layer; ++l) {
            const std::string p = fmt::format("dec.blk.{}.", l);
            T5Block& B = dec_[static_cast<size_t>(l)];
            B.attn_norm = b.vector(p + "attn_norm.weight", C);
            B.attn = attention(p, "attn_q", "attn_k", "attn_v", "attn_o");
            B.cross_norm = b.vector(p + "cross_attn_norm.weight", C);
            B.cross = attention(p, "cross_attn_q", "cross_attn_k", "cross_attn_v", "cross_attn_o");
            ffn(p, B);
        }
        b.finish();
        owned_ = b.take_owned();
        enc_rel_ = rel_bias(enc_rel, true);
        dec_rel_ = rel_bias(dec_rel, false);
    }

    std::vector<TokenId> prefill(Session& s, std::span<const TokenId> source,
                                 core::ThreadPool& pool,
                                 std::vector<float>& logits) const override {
        const HParams& hp = hparams_;
        check_source(source);
        const auto S = static_cast<int64_t>(source.size());
        const int64_t C = hp.n_embd, HD = hp.n_head * hp.head_dim;
        float* x = scratch(s, kX, S * C);
        float* xn = scratch(s, kXn, S * C);
        float* q = scratch(s, kQ, S * HD);
        float* k = scratch(s, kK, S * HD);
        float* v = scratch(s, kV, S * HD);
        float* att = scratch(s, kAtt, S * HD);
        float* scores = scratch(s, kScores, pool.size() * S);
        core::get_rows(tok_embd_, source.data(), S, x);
        trace("enc_inp_embd", -1, x, S, C);
        for (int64_t l = 0; l < hp.n_layer_enc; ++l) {
            const T5Block& B = enc_[static_cast<size_t>(l)];
            core::rmsnorm(x, B.attn_norm, xn, S, C, hp.norm_eps);
            const core::MatmulTarget qkv[] = {{&B.attn.wq, q}, {&B.attn.wk, k}, {&B.attn.wv, v}};
            core::matmul_group(pool, xn, S, qkv);
            attend(pool, {q, S, 0, f32_heads(k, hp.n_head, hp.head_dim), f32_heads(v, hp.n_head, hp.head_dim), S,
                          false, &enc_rel_, hp.n_head, hp.head_dim, hp.n_ctx, scores, att});
            core::matmul(pool, att, S, B.attn.wo, xn);
            core::add_inplace(x, xn, S * C);
            feed_forward(s, pool, B, x, xn, S);
            trace("enc_l_out", static_cast<int>(l), x, S, C);
        }
        core::rmsnorm(x, enc_norm_, xn, S, C, hp.norm_eps);
        trace("enc_out", -1, xn, S, C);
        s.clear();
        s.set_source_len(S);
        for (int64_t l = 0; l < hp.n_layer; ++l) {  // k, v: free scratch of [S, H*D] again
            const T5Block& B = dec_[static_cast<size_t>(l)];
            core::matmul(pool, xn, S, B.cross.wk, k);
            core::matmul(pool, xn, S, B.cross.wv, v);
            s.store_cross(l, k, v);
        }
        const TokenId start = hp.decoder_start_token;
        forward(s, std::span(&start, 1), pool, logits, false);
        return {start};
    }

    void forward(Session& s, std::span<const TokenId> tokens, core::ThreadPool& pool,
                 std::vector<float>& logits, bool all_logits) const override {
        const HParams& hp = hparams_;
        check_forward(hp, s, tokens);
        if (s.n_source() == 0)
            throw_error(ErrorKind::InvalidArgument,
                        "t5: the decoder has no source to attend to; expected the prompt to be "
                        "encoded first (Model::prefill)");
        const auto T = static_cast<int64_t>(tokens.size());
        const int64_t P = s.n_past(), S = s.n_source(), C = hp.n_embd, HD = hp.n_head * hp.head_dim;
        float* x = scratch(s, kX, T * C);
        float* xn = scratch(s, kXn, T * C);
        float* q = scratch(s, kQ, T * HD);
        float* att = scratch(s, kAtt, T * HD);
        float* k = scratch(s, kK, T * HD);  // this call's K/V rows before they are cached
        float* v = scratch(s, kV, T * HD);
        float* scores = scratch(s, kScores, pool.size() * std::max(S, s.n_ctx()));
        core::get_rows(tok_embd_, tokens.data(), T, x);
        trace("inp_embd", -1, x, T, C);
        for (int64_t l = 0; l < hp.n_layer; ++l) {
            const T5Block& B = dec_[static_cast<size_t>(l)];
            const int il = static_cast<int>(l);
            // ---- causal self-attention over the cache ----
            core::rmsnorm(x, B.attn_norm, xn, T, C, hp.norm_eps);
            const core::MatmulTarget qkv[] = {{&B.attn.wq, q}, {&B.attn.wk, k}, {&B.attn.wv, v}};
            core::matmul_group(pool, xn, T, qkv);
            s.store_k(l, P, k, T, HD);
            s.store_v(l, P, v, T, HD);
            attend(pool, {q, T, P, s.k_view(l), s.v_view(l), P + T, true, &dec_rel_, hp.n_head,
                          hp.head_dim, hp.n_ctx, scores, att});
            core::matmul(pool, att, T, B.attn.wo, xn);
            core::add_inplace(x, xn, T * C);
            // ---- cross-attention to the encoded source ----
            core::rmsnorm(x, B.cross_norm, xn, T, C, hp.norm_eps);
            core::matmul(pool, xn, T, B.cross.wq, q);
            attend(pool, {q, T, P, s.cross_k_view(l), s.cross_v_view(l), S, false, nullptr, hp.n_head,
                          hp.head_dim, hp.n_ctx, scores, att});
            core::matmul(pool, att, T, B.cross.wo, xn);
            core::add_inplace(x, xn, T * C);
            feed_forward(s, pool, B, x, xn, T);
            trace("l_out", il, x, T, C);
        }
        const OutputRows rows = output_rows(x, T, C, all_logits);
        core::rmsnorm(rows.x, dec_norm_, xn, rows.n, C, hp.norm_eps);
        if (hp.tied_output) {
            const float scale = 1.0f / std::sqrt(static_cast<float>(C));
            for (int64_t i = 0; i < rows.n * C; ++i) xn[i] *= scale;
        }
        trace("result_norm", -1, xn, rows.n, C);
        output_head(pool, xn, rows.n, output_, logits);
        trace("result_output", -1, logits.data(), rows.n, hp.n_vocab);
        s.advance(T);
    }

private:
    enum Slot : size_t { kX, kXn, kQ, kK, kV, kAtt, kUp, kGate, kScores };

    void check_source(std::span<const TokenId> source) const {
        if (source.empty())
            throw_error(ErrorKind::InvalidArgument, "t5: empty source; expected at least 1 token");
        if (static_cast<int64_t>(source.size()) > hparams_.n_ctx)
            throw_error(ErrorKind::ContextFull,
                        "t5: the source has {} tokens; expected at most {} (t5.context_length); "
                        "shorten the prompt",
                        source.size(), hparams_.n_ctx);
        for (size_t i = 0; i < source.size(); ++i)
            if (source[i] < 0 || source[i] >= hparams_.n_vocab)
                throw_error(ErrorKind::InvalidArgument,
                            "t5: source token id {} at index {} is outside the vocabulary; "
                            "expected 0 <= id < {}",
                            source[i], i, hparams_.n_vocab);
    }

    RelBias rel_bias(const core::Tensor& t, bool bidirectional) const {
        const HParams& hp = hparams_;
        RelBias r;
        r.values.resize(static_cast<size_t>(hp.rel_buckets * hp.n_head));
        core::dequantize_row(t.dtype, t.data, r.values.data(), hp.rel_buckets * hp.n_head);
        for (int64_t rel = -(hp.n_ctx - 1); rel <= hp.n_ctx - 1; ++rel)
            r.bucket.push_back(
                t5_relative_bucket(rel, bidirectional, hp.rel_buckets, hp.rel_max_distance));
        return r;
    }

    // The encoder's own K/V rows [S, dim] (f32 scratch, never cached) as attention reads them.
    static KvHeads f32_heads(const float* rows, int64_t H, int64_t D) { return {rows, core::DType::F32, H * D, D}; }

    static void attend(core::ThreadPool& pool, const AttnArgs& args) {
        // Capturing one reference keeps the std::function in its small buffer (no allocation).
        pool.run([&args](int ith, int nth) { attention_part(args, ith, nth); });
    }

    // x += Wdown · act(...) of rms(x); xn is [T, C] scratch.
    void feed_forward(Session& s, core::ThreadPool& pool, const T5Block& B, float* x, float* xn,
                      int64_t T) const {
        const int64_t C = hparams_.n_embd, F = hparams_.n_ff;
        core::rmsnorm(x, B.ffn_norm, xn, T, C, hparams_.norm_eps);
        float* up = scratch(s, kUp, T * F);
        core::matmul(pool, xn, T, B.up, up);
        if (hparams_.gated_ffn) {
            float* gate = scratch(s, kGate, T * F);
            core::matmul(pool, xn, T, B.gate, gate);
            core::gelu(gate, T * F);
            for (int64_t i = 0; i < T * F; ++i) up[i] *= gate[i];
        } else {
            for (int64_t i = 0; i < T * F; ++i) up[i] = std::max(up[i], 0.0f);
        }
        core::matmul(pool, up, T, B.down, xn);
        core::add_inplace(x, xn, T * C);
    }

    core::Tensor tok_embd_, output_;
    const float *enc_norm_ = nullptr, *dec_norm_ = nullptr;
    std::vector<T5Block> enc_, dec_;
    RelBias enc_rel_, dec_rel_;
    std::deque<std::vector<float>> owned_;
};

}  // namespace

std::unique_ptr<Model> make_t5(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                               std::unique_ptr<Tokenizer> tok) {
    return std::make_unique<T5Model>(hp, std::move(gguf), std::move(tok));
}

}  // namespace lyra::model::detail
