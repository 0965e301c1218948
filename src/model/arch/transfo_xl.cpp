// Transformer-XL (HF TransfoXLLMHeadModel) as a generating decoder. Per layer l, for the T new
// tokens of one forward() call (one HF "segment"), x [T, C]:
//   q, k, v = Wqkv · (pre_norm ? ln1(x) : x)          no biases; k, v go to the KV cache
//   score(t, j) = ((q_t + u_l)·k_j + (q_t + w_l)·(Wr · pe(d))) / sqrt(D),  d = min(P+t-j, clamp)
//   pre_norm: x += Wo·attn            else: x = ln1(x + Wo·attn)
//   pre_norm: x += ffn(ln2(x))        else: x = ln2(x + ffn(x)),  ffn = W2·relu(W1·_ + b1) + b2
// with u = r_w_bias, w = r_r_bias and pe the sinusoid [sin(d·f), cos(d·f)], f_i = 10000^(-2i/C).
// Only distances enter a score, so a cached key/value row is exactly HF's "mems" row: the call's
// queries see every cached position from P - mem_len on (HF: the last mem_len hidden states
// carried between segments) plus, causally, the call's own tokens. mem_len 0 means all of them:
// without memory HF's generate re-reads the whole text each step, which is the same attention.
// same_length (HF's extra tril mask) narrows that further to a per-query window: each query
// sees itself and the mem_len - 1 positions before it, so every query attends the same length.
//
// Input: adaptive embeddings. Token ids are split at the cutoffs into clusters; cluster k has
// its own table of width e_k = d_embed / div_val^k and a projection to C; the result is scaled
// by sqrt(C). Output: the adaptive softmax. The head scores cluster 0's tokens and one entry per
// tail cluster; tail cluster i's tokens get head_logprob[n_0 + n_tails - i] (HF's
// head_logprob[:, -i]: the LAST cluster row serves the first tail) plus their own
// log_softmax. The logits returned are these log-probabilities (they sum to 1 in exp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>

#include <fmt/format.h>

#include "core/attention.h"
#include "core/error.h"
#include "model/arch/arch.h"
#include "model/blocks.h"

namespace lyra::model::detail {
namespace {

struct Cluster {
    int64_t begin = 0, end = 0, width = 0;  // token ids [begin, end), embedding width e_k
    core::Tensor embd;                      // [end-begin, e_k]
    core::Tensor embd_proj;                 // [C, e_k]; empty when e_k == C and HF has none
    core::Tensor out;                       // [end-begin, e_k]; the embedding when tied
    const float* out_b = nullptr;           // [end-begin]
    core::Tensor out_proj;                  // [e_k, C]; empty like embd_proj
};

struct XlLayer {
    core::Tensor wqkv;                     // [3*H*D, C]
    core::Tensor wr;                       // [H*D, C]  (HF r_net)
    const float *r_w_bias, *r_r_bias;      // [H*D]
    core::Tensor wo;                       // [C, H*D]
    const float *attn_norm, *attn_norm_b;  // [C]
    core::Tensor w_up;                     // [F, C]
    const float* b_up;                     // [F]
    core::Tensor w_down;                   // [C, F]
    const float* b_down;                   // [C]
    const float *ffn_norm, *ffn_norm_b;    // [C]
};

// One thread's share of the (token, head) pairs of the relative attention. Each score is
// (content term + position term) * scale: the content terms come from the blocked score kernel
// over the head's cached rows, the position terms are added to them (add_relative_scores), and
// the values are weighted by the blocked kernel too (core/attention.h).
struct RelAttention {
    const float *qw, *qr;        // q + r_w_bias, q + r_r_bias  [T, H*D]
    KvHeads k, v;                // cache, >= P+T rows per head, f32 or f16
    const float* r;              // Wr·pe(d) for d = 0 .. n_dist-1  [n_dist, H*D]
    int64_t T, P, first, H, D;   // keys first .. P+t for token t
    int64_t clamp;               // 0: none
    int64_t window;              // same_length: only keys P+t-window+1 .. P+t (0: no limit)
    float* scores;               // per thread: 2 * (P+T-first) (scores, then position terms)
    float* out;                  // [T, H*D]

    void part(int ith, int nth) const {
        const int64_t HD = H * D, n_max = P + T - first;
        const float scale = 1.0f / std::sqrt(static_cast<float>(D));
        float* sc = scores + static_cast<int64_t>(ith) * 2 * n_max;
        float* pos_terms = sc + n_max;
        int64_t begin = 0, end = 0;
        core::split_range(T * H, ith, nth, &begin, &end);
        for (int64_t item = begin; item < end; ++item) {
            const int64_t t = item / H, h = item % H, off = h * D;
            const int64_t lo = window > 0 ? std::max(first, P + t + 1 - window) : first;
            const int64_t n_keys = P + t + 1 - lo;
            const core::KvView keys = k.head(h).at(lo, 0), values = v.head(h).at(lo, 0);
            core::attention_scores(qw + t * HD + off, keys, n_keys, D, 1.0f, sc);
            // Key lo + j lies P + t - lo - j positions back.
            add_relative_scores(qr + t * HD + off, {.pos = r + off, .stride = HD}, P + t - lo, clamp, n_keys, D,
                                pos_terms, sc);
            for (int64_t j = 0; j < n_keys; ++j) sc[j] *= scale;
            core::softmax(sc, n_keys);
            core::attention_values(sc, values, n_keys, D, out + t * HD + off);
        }
    }
};

void log_softmax(float* x, int64_t n) {
    const float mx = *std::max_element(x, x + n);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i] - mx));
    const auto lse = static_cast<float>(std::log(sum)) + mx;
    for (int64_t i = 0; i < n; ++i) x[i] -= lse;
}

class TransfoXlModel final : public Model {
public:
    TransfoXlModel(const HParams& hp, std::unique_ptr<GgufFile> gguf, std::unique_ptr<Tokenizer> tok) {
        hparams_ = hp;
        gguf_ = std::move(gguf);
        tokenizer_ = std::move(tok);
        bind();
    }

    void forward(Session& s, std::span<const TokenId> tokens, core::ThreadPool& pool,
                 std::vector<float>& logits, bool all_logits) const override;
    int64_t slide_keep() const override { return hparams_.txl.mem_len; }

private:
    // kRows + l: layer l's W_r·pe(d) rows (keep_relative_rows).
    enum Slot : size_t { kX, kXn, kQkv, kQw, kQr, kAtt, kUp, kPe, kScores, kEmb, kHid, kTail, kRows };

    void bind();
    void embed(core::ThreadPool& pool, Session& s, std::span<const TokenId> tokens, float* x) const;
    void adaptive_log_softmax(core::ThreadPool& pool, Session& s, const float* h, int64_t n,
                              std::vector<float>& logits) const;
    // project(cluster proj, h [n, C]) -> [n, e_k]; h itself when there is no projection.
    const float* project_out(core::ThreadPool& pool, const Cluster& c, const float* h, int64_t n,
                             float* buf) const;

    std::vector<Cluster> clusters_;
    core::Tensor cluster_w_;             // [n_tails, e_0]
    const float* cluster_b_ = nullptr;   // [n_tails]
    std::vector<XlLayer> layers_;
    std::deque<std::vector<float>> owned_;
};

void TransfoXlModel::bind() {
    const HParams& hp = hparams_;
    const HParams::TransfoXl& t = hp.txl;
    const int64_t C = hp.n_embd, V = hp.n_vocab, F = hp.n_ff, HD = hp.n_head * hp.head_dim;
    if (C % 2 != 0)
        throw_error(ErrorKind::Corrupt, "transfo-xl: embedding length {} is odd; the sinusoid "
                    "position encoding needs it even", C);
    if (!t.cutoffs.empty() && t.cutoffs.back() >= V)
        throw_error(ErrorKind::Corrupt,
                    "transfo-xl: adaptive cutoff {} is not inside the vocabulary of {} tokens",
                    t.cutoffs.back(), V);
    WeightBinder b(*gguf_);
    const auto n_clusters = static_cast<int64_t>(t.cutoffs.size()) + 1;
    int64_t width = t.d_embed;
    for (int64_t k = 0; k < n_clusters; ++k, width /= t.div_val) {
        Cluster c;
        c.begin = k ? t.cutoffs[static_cast<size_t>(k - 1)] : 0;
        c.end = k + 1 < n_clusters ? t.cutoffs[static_cast<size_t>(k)] : V;
        c.width = width;
        const int64_t n = c.end - c.begin;
        c.embd = b.matrix(fmt::format("token_embd.{}.weight", k), n, width);
        c.embd_proj = width == C ? b.optional_matrix(fmt::format("token_embd_proj.{}.weight", k), C, width)
                                 : b.matrix(fmt::format("token_embd_proj.{}.weight", k), C, width);
        c.out = b.optional_matrix(fmt::format("output.{}.weight", k), n, width);
        if (gguf_->find_tensor(fmt::format("output.{}.weight", k)) == nullptr) c.out = c.embd;
        c.out_b = b.vector(fmt::format("output.{}.bias", k), n);
        c.out_proj = width == C ? b.optional_matrix(fmt::format("output_proj.{}.weight", k), width, C)
                                : b.matrix(fmt::format("output_proj.{}.weight", k), width, C);
        clusters_.push_back(c);
    }
    hparams_.tied_output = gguf_->find_tensor("output.0.weight") == nullptr;
    if (n_clusters > 1) {
        cluster_w_ = b.matrix("output_cluster.weight", n_clusters - 1, t.d_embed);
        cluster_b_ = b.vector("output_cluster.bias", n_clusters - 1);
    }
    layers_.resize(static_cast<size_t>(hp.n_layer));
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        XlLayer& L = layers_[static_cast<size_t>(l)];
        const auto n = [l](const char* what) { return fmt::format("blk.{}.{}", l, what); };
        L.wqkv = b.matrix(n("attn_qkv.weight"), 3 * HD, C);
        L.wr = b.matrix(n("attn_pos.weight"), HD, C);
        L.r_w_bias = b.vector(n("attn_r_w_bias"), HD);
        L.r_r_bias = b.vector(n("attn_r_r_bias"), HD);
        L.wo = b.matrix(n("attn_output.weight"), C, HD);
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

void TransfoXlModel::embed(core::ThreadPool& pool, Session& s, std::span<const TokenId> tokens,
                           float* x) const {
    const int64_t C = hparams_.n_embd;
    const float scale = std::sqrt(static_cast<float>(C));
    float* e = scratch(s, kEmb, hparams_.txl.d_embed);
    for (size_t i = 0; i < tokens.size(); ++i) {
        const TokenId id = tokens[i];
        const Cluster& c = *std::find_if(clusters_.begin(), clusters_.end(),
                                         [id](const Cluster& k) { return id < k.end; });
        const int32_t row = id - static_cast<int32_t>(c.begin);
        float* xi = x + static_cast<int64_t>(i) * C;
        if (c.embd_proj.n_dims == 0) {
            core::get_rows(c.embd, &row, 1, xi);
        } else {
            core::get_rows(c.embd, &row, 1, e);
            core::matmul(pool, e, 1, c.embd_proj, xi);
        }
        for (int64_t j = 0; j < C; ++j) xi[j] *= scale;
    }
}

const float* TransfoXlModel::project_out(core::ThreadPool& pool, const Cluster& c, const float* h,
                                         int64_t n, float* buf) const {
    if (c.out_proj.n_dims == 0) return h;
    core::matmul(pool, h, n, c.out_proj, buf);
    return buf;
}

void TransfoXlModel::adaptive_log_softmax(core::ThreadPool& pool, Session& s, const float* h,
                                          int64_t n, std::vector<float>& logits) const {
    const int64_t V = hparams_.n_vocab, C = hparams_.n_embd;
    const auto n_tails = static_cast<int64_t>(clusters_.size()) - 1;
    logits.resize(static_cast<size_t>(n * V));
    float* hid = scratch(s, kHid, n * std::max(C, hparams_.txl.d_embed));
    const Cluster& head = clusters_[0];
    const int64_t n0 = head.end, head_size = n0 + n_tails;
    float* tail = scratch(s, kTail, n * std::max(head_size, V));
    // Head: cluster 0's tokens then one score per tail cluster, softmaxed together.
    const float* hp = project_out(pool, head, h, n, hid);
    float* head_lp = tail;  // [n, head_size]
    float* cl = scratch(s, kQw, n * std::max<int64_t>(n_tails, 1));
    core::matmul(pool, hp, n, head.out, logits.data());  // [n, n0] packed; spread below
    if (n_tails > 0) {
        core::matmul(pool, hp, n, cluster_w_, cl);
        core::add_bias(cl, cluster_b_, n, n_tails);
    }
    for (int64_t r = 0; r < n; ++r) {
        float* dst = head_lp + r * head_size;
        std::memcpy(dst, logits.data() + r * n0, static_cast<size_t>(n0) * sizeof(float));
        for (int64_t i = 0; i < n0; ++i) dst[i] += head.out_b[i];
        for (int64_t i = 0; i < n_tails; ++i) dst[n0 + i] = cl[r * n_tails + i];
        log_softmax(dst, head_size);
    }
    for (int64_t r = 0; r < n; ++r)
        std::memcpy(logits.data() + r * V, head_lp + r * head_size, static_cast<size_t>(n0) * sizeof(float));
    // Tails: cluster i's own log_softmax plus the head's log-probability of the cluster.
    for (int64_t i = 1; i <= n_tails; ++i) {
        const Cluster& c = clusters_[static_cast<size_t>(i)];
        const int64_t m = c.end - c.begin;
        const float* hc = project_out(pool, c, h, n, hid);
        float* tl = scratch(s, kUp, n * m);
        core::matmul(pool, hc, n, c.out, tl);
        for (int64_t r = 0; r < n; ++r) {
            float* row = tl + r * m;
            for (int64_t j = 0; j < m; ++j) row[j] += c.out_b[j];
            log_softmax(row, m);
            const float cluster_lp = head_lp[r * head_size + head_size - i];
            float* out = logits.data() + r * V + c.begin;
            for (int64_t j = 0; j < m; ++j) out[j] = row[j] + cluster_lp;
        }
    }
}

void TransfoXlModel::forward(Session& s, std::span<const TokenId> tokens, core::ThreadPool& pool,
                             std::vector<float>& logits, bool all_logits) const {
    const HParams& hp = hparams_;
    const HParams::TransfoXl& xl = hp.txl;
    check_forward(hp, s, tokens);
    const auto T = static_cast<int64_t>(tokens.size());
    const int64_t P = s.n_past(), C = hp.n_embd, F = hp.n_ff, H = hp.n_head, D = hp.head_dim;
    const int64_t HD = H * D;
    // The memory this segment sees: the last mem_len cached positions (all when mem_len is 0).
    const int64_t first = xl.mem_len > 0 ? std::max<int64_t>(0, P - xl.mem_len) : 0;
    const int64_t max_dist = P + T - 1 - first;
    const int64_t n_dist = (xl.clamp_len > 0 ? std::min(max_dist, xl.clamp_len) : max_dist) + 1;

    float* x = scratch(s, kX, T * C);
    float* xn = scratch(s, kXn, T * C);
    float* qkv = scratch(s, kQkv, T * 3 * HD);
    float* qw = scratch(s, kQw, T * HD);
    float* qr = scratch(s, kQr, T * HD);
    float* att = scratch(s, kAtt, T * HD);
    float* up = scratch(s, kUp, T * F);
    float* scores = scratch(s, kScores, pool.size() * 2 * (P + T - first));

    embed(pool, s, tokens, x);
    trace("inp_embd", -1, x, T, C);
    keep_relative_rows(pool, s, kRows, kPe, hp.n_layer, n_dist, C, HD,
                       [this](int64_t l) -> const core::Tensor& { return layers_[static_cast<size_t>(l)].wr; });
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        const XlLayer& L = layers_[static_cast<size_t>(l)];
        const int il = static_cast<int>(l);
        // ---- relative-position attention ----
        const float* in = x;
        if (xl.pre_norm) {
            core::layernorm(x, L.attn_norm, L.attn_norm_b, xn, T, C, hp.norm_eps);
            in = xn;
        }
        core::matmul(pool, in, T, L.wqkv, qkv);
        for (int64_t t = 0; t < T; ++t) {
            const float* row = qkv + t * 3 * HD;
            for (int64_t j = 0; j < HD; ++j) {
                qw[t * HD + j] = row[j] + L.r_w_bias[j];
                qr[t * HD + j] = row[j] + L.r_r_bias[j];
            }
        }
        s.store_k(l, P, qkv + HD, T, 3 * HD);  // the k and v thirds of each row go to the cache
        s.store_v(l, P, qkv + 2 * HD, T, 3 * HD);
        const float* r = s.scratch(kRows + static_cast<size_t>(l)).data();  // keep_relative_rows
        const RelAttention ra{qw, qr, s.k_view(l), s.v_view(l), r, T, P, first, H, D, xl.clamp_len,
                              xl.same_length ? xl.mem_len : 0, scores, att};
        pool.run([&ra](int ith, int nth) { ra.part(ith, nth); });
        trace("kqv_out", il, att, T, HD);
        core::matmul(pool, att, T, L.wo, xn);
        core::add_inplace(x, xn, T * C);
        if (!xl.pre_norm) core::layernorm(x, L.attn_norm, L.attn_norm_b, x, T, C, hp.norm_eps);
        // ---- position-wise feed-forward (ReLU) ----
        in = x;
        if (xl.pre_norm) {
            core::layernorm(x, L.ffn_norm, L.ffn_norm_b, xn, T, C, hp.norm_eps);
            in = xn;
        }
        core::matmul(pool, in, T, L.w_up, up);
        core::add_bias(up, L.b_up, T, F);
        for (int64_t i = 0; i < T * F; ++i) up[i] = std::max(up[i], 0.0f);
        core::matmul(pool, up, T, L.w_down, xn);
        core::add_bias(xn, L.b_down, T, C);
        core::add_inplace(x, xn, T * C);
        if (!xl.pre_norm) core::layernorm(x, L.ffn_norm, L.ffn_norm_b, x, T, C, hp.norm_eps);
        trace("l_out", il, x, T, C);
    }
    const OutputRows rows = output_rows(x, T, C, all_logits);
    adaptive_log_softmax(pool, s, rows.x, rows.n, logits);
    trace("result_output", -1, logits.data(), rows.n, hp.n_vocab);
    s.advance(T);
}

}  // namespace

std::unique_ptr<Model> make_transfo_xl(const HParams& hp, std::unique_ptr<GgufFile> gguf,
                                       std::unique_ptr<Tokenizer> tok) {
    return std::make_unique<TransfoXlModel>(hp, std::move(gguf), std::move(tok));
}

}  // namespace lyra::model::detail
