// XLNet (HF XLNetLMHeadModel / XLNetModel): Transformer-XL's relative attention run as two
// streams over the same weights. Per layer l, with the content stream h (token embeddings at
// layer 0) and the query stream g (mask_emb at layer 0, one row per predicted position):
//   k, v = Wk·h, Wv·h of the memory and the call's tokens   (no biases; k, v go to the cache)
//   score(i, j) = ((q_i + r_w)·k_j + (q_i + r_r)·(Wr·pe(d)) + (q_i + r_s)·seg[s_ij]) / sqrt(D)
//       q_i = Wq·h_i for a content row, Wq·g_i for a query row; d = pos(i) - pos(j), clamped
//       to +-clamp_len; s_ij = 0 when i and j are in the same segment, else 1 (no segments: 0)
//   h_i = ln1(h_i + Wo·attn);  h_i = ln2(h_i + W2·act(W1·h_i + b1) + b2)   (post-norm)
//   g_i likewise, with the same weights
// pe(d) = [sin(d·f), cos(d·f)], f_m = 10000^(-2m/C), for d from -(T-1) (keys after the query)
// up to the memory's far end (HF's relative_positional_encoding for attn_type "bi"). Which keys
// a row sees is the permutation mask's job (HF perm_mask): a content row sees what the mask
// allows and itself, a query row what the mask allows only; the memory is seen by all. The LM
// head reads the query stream: logits = Wout·g + b (Wout tied to the token embeddings).
//
// Generation predicts the next token with one query row at the position after the text
// (HF's generate appends a dummy token no one sees and reads its query stream). The order:
//   causal        content row i sees tokens <= i, so a token's keys/values never change: they
//                 are cached (Transformer-XL's memory, mem_len positions) and the cache slides.
//   bidirectional every token sees every other one, so each new token changes them all and the
//                 whole text is recomputed for it (HF's generate without mems; O(n^2) a token).
// Legend: T the call's tokens, P cached positions, C n_embd, H heads, D head dim, F ffn, V vocab.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>

#include <fmt/format.h>

#include "core/attention.h"
#include "core/error.h"
#include "model/arch/arch.h"
#include "model/blocks.h"
#include "model/xlnet.h"

namespace lyra::model::detail {
namespace {

struct XlnetLayer {
    core::Tensor wq, wk, wv, wr;                    // [H*D, C]  (wr: HF's r, the positions)
    core::Tensor wo;                                // [C, H*D]
    const float *r_w_bias, *r_r_bias, *r_s_bias;    // [H*D]
    const float* seg_embd;                          // [2, H*D]: same segment, other segment
    const float *attn_norm, *attn_norm_b;           // [C]
    core::Tensor w_up;                              // [F, C]
    const float* b_up;                              // [F]
    core::Tensor w_down;                            // [C, F]
    const float* b_down;                            // [C]
    const float *ffn_norm, *ffn_norm_b;             // [C]
};

// Which of the call's own tokens (j = 0..T-1 at positions P+j) a row placed at P+p sees;
// every row sees the memory before P.
enum class See {
    All,     // all of them (HF without perm_mask; a query row then sees itself too)
    UpTo,    // j <= p: the content stream of the causal order
    Before,  // j < p: a query row of a left-to-right order, or one past the text
    Perm,    // perm_mask[p][j] == 0, or j == p for a content row
};

struct Visibility {
    See see = See::All;
    const uint8_t* mask = nullptr;  // [T, T] for Perm
    int64_t T = 0;
    bool self = false;  // content rows see themselves whatever the mask says
    bool operator()(int64_t p, int64_t j) const {
        switch (see) {
            case See::All: return true;
            case See::UpTo: return j <= p;
            case See::Before: return j < p;
            case See::Perm: return (self && j == p) || mask[p * T + j] == 0;
        }
        return false;
    }
};

// One thread's share of the (row, head) pairs of the two-stream relative attention.
struct RelAttention {
    const float *qw, *qr, *qs;  // q + r_w_bias, q + r_r_bias, q + r_s_bias [n, H*D]; qs null
                                // without segments
    const float* seg_embd;      // [2, H*D]
    const int32_t* row_pos;     // [n] each row's position relative to P
    const int32_t* tok_seg;     // [T] the call's segments (with qs); a row's is tok_seg[pos]
    KvHeads k, v;               // cache rows by absolute position, >= P+T per head, f32 or f16
    RelativeRows r;             // Wr·pe(d) for the distances the rows need
    int64_t clamp;              // 0: none
    int64_t n, first, P, T, H, D;
    Visibility vis;
    float* scores;  // per thread: 2 * (P + T - first) (scores, then position terms)
    float* out;     // [n, H*D]

    bool sees(int64_t p, int64_t key) const { return key < P || vis(p, key - P); }

    // Keys past the row's last visible one are never scored: the causal order's rows (and a
    // query row one past the text) see a prefix of the keys.
    int64_t visible_end(int64_t p) const {
        switch (vis.see) {
            case See::UpTo: return std::min(P + T, P + p + 1);
            case See::Before: return std::min(P + T, P + p);
            default: return P + T;
        }
    }

    // Scores of keys first .. visible_end(p)-1: the content terms from the blocked score kernel
    // (core/attention.h), the position and segment terms added, then scaled. Scores of keys the
    // row does not see (a permutation mask) are dropped, the rest closing up in key order, and
    // softmaxed; the weights then go back to their keys' places beside zeros, so the blocked
    // value kernel reads the keys in one run (0 · v adds exactly nothing). The same sums, in
    // the same order, as a dot per key and an axpy per seen value.
    void part(int ith, int nth) const {
        const int64_t HD = H * D, end_key = P + T, n_keys = end_key - first;
        const float scale = 1.0f / std::sqrt(static_cast<float>(D));
        float* sc = scores + static_cast<int64_t>(ith) * 2 * n_keys;
        float* pos_terms = sc + n_keys;
        int64_t begin = 0, end = 0;
        core::split_range(n * H, ith, nth, &begin, &end);
        for (int64_t item = begin; item < end; ++item) {
            const int64_t i = item / H, off = (item % H) * D, p = row_pos[i];
            const core::KvView keys = k.head(item % H).at(first, 0), values = v.head(item % H).at(first, 0);
            float* o = out + i * HD + off;
            const int64_t n_run = std::max<int64_t>(visible_end(p) - first, 0);
            core::attention_scores(qw + i * HD + off, keys, n_run, D, 1.0f, sc);
            // Key first + j lies P + p - first - j positions back (negative: after the row).
            add_relative_scores(qr + i * HD + off, {r.neg + off, r.n_neg, r.pos + off, r.stride}, P + p - first, clamp,
                                n_run, D, pos_terms, sc);
            if (qs) {
                const float same = core::dot_f32(qs + i * HD + off, seg_embd + off, D);
                const float other = core::dot_f32(qs + i * HD + off, seg_embd + HD + off, D);
                const int32_t seg = tok_seg[p];
                for (int64_t j = 0; j < n_run; ++j) {
                    const int64_t key = first + j;
                    sc[j] += (key < P ? 0 : tok_seg[key - P]) == seg ? same : other;
                }
            }
            int64_t m = 0;
            for (int64_t j = 0; j < n_run; ++j)
                if (sees(p, first + j)) sc[m++] = sc[j] * scale;
            if (m == 0) {
                // HF subtracts 1e30 from masked scores, so a row that sees nothing attends
                // evenly to every key.
                std::fill(sc, sc + n_keys, 1.0f / static_cast<float>(n_keys));
                core::attention_values(sc, values, n_keys, D, o);
                continue;
            }
            core::softmax(sc, m);
            if (m < n_run)  // spread back from the end, so no weight is overwritten before it moves
                for (int64_t j = n_run - 1; j >= 0; --j) sc[j] = sees(p, first + j) ? sc[--m] : 0.0f;
            core::attention_values(sc, values, n_run, D, o);
        }
    }
};

// One forward pass: the call's tokens through the content stream (their keys and values go to
// the session's cache at P..) and the query-stream rows through every layer beside them.
struct Pass {
    std::span<const TokenId> tokens;
    int64_t first = 0, P = 0;            // the memory: cache rows first .. P-1
    const int32_t* segments = nullptr;   // [T] or null
    Visibility content, query;
    const int32_t* content_pos = nullptr;  // [T] = 0 .. T-1
    std::span<const int32_t> query_pos;    // each query row's position relative to P
    float* content_out = nullptr;          // [T, C], or null (the last layer's content rows are
                                           // then skipped: nothing reads them)
};

enum class Act { Gelu, GeluNew, Relu, Silu };

class XlnetModel final : public Model {
public:
    XlnetModel(const HParams& hp, std::unique_ptr<GgufFile> gguf, std::unique_ptr<Tokenizer> tok) {
        hparams_ = hp;
        gguf_ = std::move(gguf);
        tokenizer_ = std::move(tok);
        bind();
    }

    void forward(Session& s, std::span<const TokenId> tokens, core::ThreadPool& pool,
                 std::vector<float>& logits, bool all_logits) const override;
    // Only the causal order's keys and values are final once computed; the memory is read by
    // distance only, so sliding it is exact (as Transformer-XL's).
    int64_t slide_keep() const override { return hparams_.xlnet.causal ? hparams_.xlnet.mem_len : 0; }

    // The memory a call at P sees starts here: the last mem_len cached positions, or all.
    int64_t memory_start(int64_t P) const {
        const int64_t mem = hparams_.xlnet.mem_len;
        return mem > 0 ? std::max<int64_t>(0, P - mem) : 0;
    }
    void run(Session& s, const Pass& pass, core::ThreadPool& pool, std::vector<float>& logits) const;

private:
    // kR: W_r·pe(d) of the call's negative distances; kRows + l: layer l's of the others
    // (keep_relative_rows).
    enum Slot : size_t { kX, kG, kXn, kQ, kQw, kQr, kQs, kAtt, kUp, kPe, kR, kScores, kKv, kRows };

    void bind();
    void attend(core::ThreadPool& pool, const XlnetLayer& L, const Pass& pass, Session& s,
                const float* q, int64_t n, const int32_t* pos, Visibility vis, const RelativeRows& r,
                float* att) const;
    // y = ln2(y' + ffn(y')), y' = ln1(y + Wo·att) for n rows; xn [n, C], up [n, F] scratch.
    void block_tail(core::ThreadPool& pool, const XlnetLayer& L, float* y, const float* att,
                    int64_t n, float* xn, float* up) const;

    core::Tensor tok_embd_, output_;
    const float* mask_embd_ = nullptr;  // [C]
    const float* output_b_ = nullptr;   // [V]; null: no bias (a bare XLNetModel)
    Act act_ = Act::Gelu;
    std::vector<XlnetLayer> layers_;
    std::deque<std::vector<float>> owned_;
};

void XlnetModel::bind() {
    const HParams& hp = hparams_;
    const int64_t C = hp.n_embd, V = hp.n_vocab, F = hp.n_ff, HD = hp.n_head * hp.head_dim;
    const std::string& a = hp.xlnet.ffn_act;
    act_ = a == "gelu_new" ? Act::GeluNew : a == "relu" ? Act::Relu : a == "silu" ? Act::Silu : Act::Gelu;
    WeightBinder b(*gguf_);
    tok_embd_ = b.matrix("token_embd.weight", V, C);
    output_ = b.optional_matrix("output.weight", V, C);
    hparams_.tied_output = gguf_->find_tensor("output.weight") == nullptr;
    if (hparams_.tied_output) output_ = tok_embd_;
    output_b_ = b.optional_vector("output.bias", V);
    mask_embd_ = b.vector("mask_embd", C);
    layers_.resize(static_cast<size_t>(hp.n_layer));
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        XlnetLayer& L = layers_[static_cast<size_t>(l)];
        const auto n = [l](const char* what) { return fmt::format("blk.{}.{}", l, what); };
        L.wq = b.matrix(n("attn_q.weight"), HD, C);
        L.wk = b.matrix(n("attn_k.weight"), HD, C);
        L.wv = b.matrix(n("attn_v.weight"), HD, C);
        L.wr = b.matrix(n("attn_pos.weight"), HD, C);
        L.wo = b.matrix(n("attn_output.weight"), C, HD);
        L.r_w_bias = b.vector(n("attn_r_w_bias"), HD);
        L.r_r_bias = b.vector(n("attn_r_r_bias"), HD);
        L.r_s_bias = b.vector(n("attn_r_s_bias"), HD);
        L.seg_embd = b.vector(n("attn_seg_embd"), 2 * HD);
        L.attn_norm = b.vector(n("attn_norm.weight"), C);
        L.attn_norm_b = b.vector(n("attn_norm.bias"), C);
        L.w_up = b.matrix(n("ffn_up.weight"), F, C);
        L.b_up = b.vector(n("ffn_up.bias"), F);
        L.w_down = b.matrix(n("ffn_down.weight"), C, F);
        L.b_down = b.vector(n("ffn_down.bias"), C);
        L.ffn_norm = b.vector(n("ffn_norm.weight"), C);
        L.ffn_norm_b = b.vector(n("ffn_norm.bias"), C);
    }
    b.finish();
    owned_ = b.take_owned();
}

void XlnetModel::attend(core::ThreadPool& pool, const XlnetLayer& L, const Pass& pass, Session& s,
                        const float* q, int64_t n, const int32_t* pos, Visibility vis,
                        const RelativeRows& r, float* att) const {
    const int64_t HD = hparams_.n_head * hparams_.head_dim;
    const auto T = static_cast<int64_t>(pass.tokens.size());
    float* qw = scratch(s, kQw, n * HD);
    float* qr = scratch(s, kQr, n * HD);
    float* qs = pass.segments ? scratch(s, kQs, n * HD) : nullptr;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < HD; ++j) {
            const float x = q[i * HD + j];
            qw[i * HD + j] = x + L.r_w_bias[j];
            qr[i * HD + j] = x + L.r_r_bias[j];
            if (qs) qs[i * HD + j] = x + L.r_s_bias[j];
        }
    const RelAttention ra{qw, qr, qs, L.seg_embd, pos, pass.segments,
                          s.k_view(&L - layers_.data()), s.v_view(&L - layers_.data()), r,
                          hparams_.xlnet.clamp_len, n, pass.first, pass.P, T, hparams_.n_head,
                          hparams_.head_dim, vis, scratch(s, kScores, pool.size() * 2 * (pass.P + T - pass.first)),
                          att};
    pool.run([&ra](int ith, int nth) { ra.part(ith, nth); });
}

void XlnetModel::block_tail(core::ThreadPool& pool, const XlnetLayer& L, float* y, const float* att,
                            int64_t n, float* xn, float* up) const {
    const int64_t C = hparams_.n_embd, F = hparams_.n_ff;
    const float eps = hparams_.norm_eps;
    core::matmul(pool, att, n, L.wo, xn);
    core::add_inplace(y, xn, n * C);
    core::layernorm(y, L.attn_norm, L.attn_norm_b, y, n, C, eps);
    core::matmul(pool, y, n, L.w_up, up);
    core::add_bias(up, L.b_up, n, F);
    switch (act_) {
        case Act::Gelu: core::gelu_erf(up, n * F); break;
        case Act::GeluNew: core::gelu(up, n * F); break;
        case Act::Relu: core::relu(up, n * F); break;
        case Act::Silu:
            for (int64_t i = 0; i < n * F; ++i) up[i] = up[i] / (1.0f + std::exp(-up[i]));
            break;
    }
    core::matmul(pool, up, n, L.w_down, xn);
    core::add_bias(xn, L.b_down, n, C);
    core::add_inplace(y, xn, n * C);
    core::layernorm(y, L.ffn_norm, L.ffn_norm_b, y, n, C, eps);
}

void XlnetModel::run(Session& s, const Pass& pass, core::ThreadPool& pool,
                     std::vector<float>& logits) const {
    const HParams& hp = hparams_;
    const int64_t C = hp.n_embd, HD = hp.n_head * hp.head_dim, F = hp.n_ff, clamp = hp.xlnet.clamp_len;
    const auto T = static_cast<int64_t>(pass.tokens.size());
    const auto nq = static_cast<int64_t>(pass.query_pos.size());
    const int64_t P = pass.P, rows = std::max(T, nq);
    // Distances from the nearest key after a row (-(T-1)) to the memory's far end.
    int64_t p_max = T - 1;
    for (int32_t p : pass.query_pos) p_max = std::max<int64_t>(p_max, p);
    int64_t d_lo = 1 - T, d_hi = P + p_max - pass.first;
    if (clamp > 0) {
        d_lo = std::max(d_lo, -clamp);
        d_hi = std::min(d_hi, clamp);
    }
    const int64_t n_neg = -d_lo;  // distances d_lo .. -1: keys after a row (none when T = 1)

    float* x = scratch(s, kX, T * C);
    float* g = scratch(s, kG, std::max<int64_t>(nq, 1) * C);
    float* xn = scratch(s, kXn, rows * C);
    float* q = scratch(s, kQ, rows * HD);
    float* att = scratch(s, kAtt, rows * HD);
    float* up = scratch(s, kUp, rows * F);
    float* kv = scratch(s, kKv, T * HD);  // one projection's K or V rows before they are cached
    // Grown here once, so attend()'s later requests for these slots never move them.
    scratch(s, kQw, rows * HD);
    scratch(s, kQr, rows * HD);
    if (pass.segments) scratch(s, kQs, rows * HD);
    scratch(s, kScores, pool.size() * 2 * (P + T - pass.first));

    core::get_rows(tok_embd_, pass.tokens.data(), T, x);
    trace("inp_embd", -1, x, T, C);
    for (int64_t i = 0; i < nq; ++i) std::memcpy(g + i * C, mask_embd_, static_cast<size_t>(C) * sizeof(float));
    keep_relative_rows(pool, s, kRows, kPe, hp.n_layer, d_hi + 1, C, HD,
                       [this](int64_t l) -> const core::Tensor& { return layers_[static_cast<size_t>(l)].wr; });
    // The negative distances' rows are the call's own (their number follows T): made per layer.
    float* pe = scratch(s, kPe, n_neg * C);
    float* r_neg = scratch(s, kR, std::max<int64_t>(n_neg, 1) * HD);
    sinusoid_positions(d_lo, n_neg, C, pe);
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        const XlnetLayer& L = layers_[static_cast<size_t>(l)];
        const int il = static_cast<int>(l);
        // Keys and values of this layer's content inputs: the memory's are already cached.
        core::matmul(pool, x, T, L.wk, kv);
        s.store_k(l, P, kv, T, HD);
        core::matmul(pool, x, T, L.wv, kv);
        s.store_v(l, P, kv, T, HD);
        if (n_neg > 0) core::matmul(pool, pe, n_neg, L.wr, r_neg);
        const RelativeRows r{r_neg, n_neg, s.scratch(kRows + static_cast<size_t>(l)).data(), HD};
        if (pass.content_out || l + 1 < hp.n_layer) {  // ---- content stream ----
            core::matmul(pool, x, T, L.wq, q);
            attend(pool, L, pass, s, q, T, pass.content_pos, pass.content, r, att);
            block_tail(pool, L, x, att, T, xn, up);
            trace("l_out", il, x, T, C);
        }
        if (nq > 0) {  // ---- query stream: the same keys and values, its own queries ----
            core::matmul(pool, g, nq, L.wq, q);
            attend(pool, L, pass, s, q, nq, pass.query_pos.data(), pass.query, r, att);
            block_tail(pool, L, g, att, nq, xn, up);
            trace("g_out", il, g, nq, C);
        }
    }
    if (pass.content_out) std::memcpy(pass.content_out, x, static_cast<size_t>(T * C) * sizeof(float));
    if (nq == 0) {
        logits.clear();
        return;
    }
    output_head(pool, g, nq, output_, logits);
    if (output_b_) core::add_bias(logits.data(), output_b_, nq, hp.n_vocab);
    trace("result_output", -1, logits.data(), nq, hp.n_vocab);
}

void XlnetModel::forward(Session& s, std::span<const TokenId> tokens, core::ThreadPool& pool,
                         std::vector<float>& logits, bool all_logits) const {
    check_forward(hparams_, s, tokens);
    const auto T = static_cast<int64_t>(tokens.size());
    const int64_t P = s.n_past(), V = hparams_.n_vocab;
    std::vector<TokenId>& hist = s.history();
    if (static_cast<int64_t>(hist.size()) < P + T) hist.resize(static_cast<size_t>(P + T));
    std::copy(tokens.begin(), tokens.end(), hist.begin() + P);
    std::vector<int32_t>& pos = s.scratch_i32();
    if (hparams_.xlnet.causal) {
        // The call's tokens join the cached memory; row t predicts position P+t+1 from the
        // query stream there, which sees positions up to P+t.
        const int64_t nq = all_logits ? T : 1;
        pos.resize(static_cast<size_t>(T + nq));
        for (int64_t t = 0; t < T; ++t) pos[static_cast<size_t>(t)] = static_cast<int32_t>(t);
        for (int64_t i = 0; i < nq; ++i)
            pos[static_cast<size_t>(T + i)] = static_cast<int32_t>(all_logits ? i + 1 : T);
        Pass pass{.tokens = tokens, .first = memory_start(P), .P = P,
                  .content = {.see = See::UpTo}, .query = {.see = See::Before},
                  .content_pos = pos.data(), .query_pos = std::span(pos).subspan(static_cast<size_t>(T))};
        run(s, pass, pool, logits);
    } else {
        // Each wanted prediction re-reads the text before it, all of it seeing all of it.
        std::vector<float> row;
        const int64_t t0 = all_logits ? 0 : T - 1;
        for (int64_t t = t0; t < T; ++t) {
            const int64_t n = P + t + 1;
            pos.resize(static_cast<size_t>(n + 1));
            for (int64_t i = 0; i <= n; ++i) pos[static_cast<size_t>(i)] = static_cast<int32_t>(i);
            Pass pass{.tokens = std::span(hist).first(static_cast<size_t>(n)), .first = 0, .P = 0,
                      .content = {.see = See::All}, .query = {.see = See::Before},
                      .content_pos = pos.data(), .query_pos = std::span(pos).subspan(static_cast<size_t>(n))};
            run(s, pass, pool, all_logits ? row : logits);
            if (all_logits) {
                if (t == 0) logits.resize(static_cast<size_t>(T * V));
                std::copy(row.begin(), row.end(), logits.begin() + t * V);
            }
        }
    }
    s.advance(T);
}

}  // namespace

std::unique_ptr<Model> make_xlnet(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                                  std::unique_ptr<Tokenizer> tok) {
    return std::make_unique<XlnetModel>(hp, std::move(gguf), std::move(tok));
}

}  // namespace lyra::model::detail

namespace lyra::model {

TwoStreamOutput xlnet_two_stream(const Model& m, Session& s, const TwoStreamInput& in,
                                 core::ThreadPool& pool) {
    const auto* x = dynamic_cast<const detail::XlnetModel*>(&m);
    if (!x)
        throw_error(ErrorKind::InvalidArgument, "two-stream forward: model '{}' is {}; expected xlnet",
                    m.path(), arch_name(m.hparams().arch));
    detail::check_forward(m.hparams(), s, in.tokens);
    const auto T = static_cast<int64_t>(in.tokens.size());
    if (!in.segments.empty() && static_cast<int64_t>(in.segments.size()) != T)
        throw_error(ErrorKind::InvalidArgument, "two-stream forward: {} segment ids for {} tokens; "
                    "expected one per token or none", in.segments.size(), T);
    if (!in.perm_mask.empty() && static_cast<int64_t>(in.perm_mask.size()) != T * T)
        throw_error(ErrorKind::InvalidArgument, "two-stream forward: a permutation mask of {} "
                    "entries for {} tokens; expected {} x {}", in.perm_mask.size(), T, T, T);
    for (int32_t t : in.targets)
        if (t < 0 || t >= T)
            throw_error(ErrorKind::InvalidArgument, "two-stream forward: target {} is not one of "
                        "the {} tokens; expected 0 <= target < {}", t, T, T);
    const int64_t P = s.n_past();
    std::vector<TokenId>& hist = s.history();
    if (static_cast<int64_t>(hist.size()) < P + T) hist.resize(static_cast<size_t>(P + T));
    std::copy(in.tokens.begin(), in.tokens.end(), hist.begin() + P);
    std::vector<int32_t>& pos = s.scratch_i32();
    pos.resize(static_cast<size_t>(T) + in.targets.size());
    for (int64_t t = 0; t < T; ++t) pos[static_cast<size_t>(t)] = static_cast<int32_t>(t);
    std::copy(in.targets.begin(), in.targets.end(), pos.begin() + T);
    const bool masked = !in.perm_mask.empty();
    const detail::See see = masked ? detail::See::Perm : detail::See::All;
    TwoStreamOutput out;
    out.content.resize(static_cast<size_t>(T * m.hparams().n_embd));
    const detail::Pass pass{
        .tokens = in.tokens, .first = x->memory_start(P), .P = P,
        .segments = in.segments.empty() ? nullptr : in.segments.data(),
        .content = {.see = see, .mask = in.perm_mask.data(), .T = T, .self = true},
        .query = {.see = see, .mask = in.perm_mask.data(), .T = T, .self = false},
        .content_pos = pos.data(), .query_pos = std::span(pos).subspan(static_cast<size_t>(T)),
        .content_out = out.content.data()};
    x->run(s, pass, pool, out.logits);
    s.advance(T);
    return out;
}

}  // namespace lyra::model
