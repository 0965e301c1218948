// Building blocks the architectures share: the pre-flight check of a forward() call, causal
// attention over a Session's KV cache, and the output head. Each block is a plain function over
// f32 activation buffers and core::ops calls, parallelised with the ThreadPool passed in.
// Blocks never allocate (buffers come from the Session) and never throw, except check_forward,
// which validates outside input before anything is touched.
//
// Legend: T new tokens, P = n_past, C n_embd, H query heads, Hkv key/value heads, D head dim,
// V vocabulary.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "core/ops.h"
#include "core/thread_pool.h"
#include "model/model.h"

namespace lyra::model::detail {

// Throws Error(InvalidArgument) for an empty batch or a token id outside [0, V), and
// Error(ContextFull) when P + T exceeds the session's context. Changes nothing.
void check_forward(const HParams& hp, const Session& s, std::span<const TokenId> tokens);

// Fills pos[0..T) with P, P+1, ... (the session's integer scratch) and returns it.
const int32_t* positions(Session& s, int64_t T);

// A [n] f32 buffer from the session's scratch slot, grown only when too small.
float* scratch(Session& s, size_t slot, int64_t n);

// Calls fn(t0, t1) over the rows [0, T) of per-token work (norms, rotary embedding, the SwiGLU
// product, residual adds): split between the threads from two rows a thread on (at most 16
// rows), inline below that, where waking the pool would cost more than the work. On a 2-thread
// 128-token prefill these steps ran on one thread while the other waited, ~5% of the time; an
// 8-row batched decode step (Q4_0, d768, 12 layers) took 1.5% less with them split than inline.
// A row's result does not depend on the split.
constexpr int64_t kRowParallelTokensMax = 16;
template <typename Fn>
void for_token_rows(core::ThreadPool& pool, int64_t T, const Fn& fn) {
    const int64_t from = std::min<int64_t>(kRowParallelTokensMax, 2 * int64_t{pool.size()});
    if (T >= from && pool.size() > 1) pool.parallel_for(T, fn);
    else fn(0, T);
}

// Transformer-XL's and XLNet's sinusoid of relative distances: row d - d_lo of pe [n, C] is
// [sin(d·f_0) .. sin(d·f_{C/2-1}), cos(d·f_0) ..], f_m = 10000^(-2m/C), for d = d_lo ..
// d_lo + n - 1 (HF's PositionalEmbedding / positional_embedding; C even).
void sinusoid_positions(int64_t d_lo, int64_t n, int64_t C, float* pe);

// Transformer-XL's and XLNet's W_r·pe(d): one head's slice of the rows for distances
// -n_neg .. -1 (neg, in that order; XLNet's keys after the query) and 0, 1, ... (pos), `stride`
// floats from one row to the next.
struct RelativeRows {
    const float* neg = nullptr;
    int64_t n_neg = 0;
    const float* pos = nullptr;
    int64_t stride = 0;
};

// The position term of both (terms (b) + (d) of the paper's score): for each of n keys,
// sc[j] += dot(qr, row of distance d0 - j), the distance clamped to [-clamp, clamp] when
// clamp > 0 (every distance used must have a row). The dot product of each distinct distance is
// computed once, by the blocked score kernel (core/attention.h), into tmp (up to n floats); each
// is exactly dot_f32(qr, row, D). Does nothing for n = 0.
void add_relative_scores(const float* qr, const RelativeRows& r, int64_t d0, int64_t clamp, int64_t n, int64_t D,
                         float* tmp, float* sc);

// Keeps W_r·pe(d) for d = 0 .. n-1 of every layer in the session across calls: scratch slot
// rows_slot + l holds layer l's rows [>= n, H*D] (wr_of(l) is its W_r [H*D, C]; pe_slot is
// scratch). The rows depend only on the layer and the distance, so only distances no earlier
// call computed are: a decode step adds one row per layer instead of recomputing all of them
// (n x C x H·D multiply-adds per layer, more than everything else a long-context step does).
// Up to n_ctx rows per layer: the memory of the session's K cache in f32. A call at position 0
// (a new text, or a cleared session) starts afresh, because a row's last bits depend on how many
// rows its matmul had (the GEMM from 32 rows, the dot kernels below): a text's logits must not
// depend on what the session ran before it.
template <typename WrOf>
void keep_relative_rows(core::ThreadPool& pool, Session& s, size_t rows_slot, size_t pe_slot, int64_t n_layer,
                        int64_t n, int64_t C, int64_t HD, const WrOf& wr_of) {
    // Every layer holds as many rows.
    const int64_t have = s.n_past() == 0 ? 0 : static_cast<int64_t>(s.scratch(rows_slot).size()) / HD;
    if (have >= n) return;
    float* pe = scratch(s, pe_slot, (n - have) * C);
    sinusoid_positions(have, n - have, C, pe);
    for (int64_t l = 0; l < n_layer; ++l) {
        std::vector<float>& rows = s.scratch(rows_slot + static_cast<size_t>(l));
        rows.resize(static_cast<size_t>(n * HD));
        const core::Tensor& wr = wr_of(l);
        core::matmul(pool, pe, n - have, wr, rows.data() + have * HD);
    }
}

// Causal multi-head attention of T new queries against the cache rows 0 .. P+T-1:
//   q [T, H*D] (already rotated), k_cache/v_cache [>= P+T, Hkv*D], out [T, H*D],
//   scores: scratch of pool.size() * (P+T) floats.
// Query head h reads key/value head h / (H / Hkv) (grouped-query attention); scores are scaled
// by 1/sqrt(D) and softmaxed over keys 0 .. P+t. Parallel over (token, head) pairs.
void attention(core::ThreadPool& pool, const float* q, int64_t T, int64_t P, const float* k_cache,
               const float* v_cache, int64_t H, int64_t Hkv, int64_t D, float* scores, float* out);

// Which keys a query sees and how its scores are scaled. window > 0 keeps only the last
// `window` positions, the query's own included (GPT-Neo's local layers); 0 sees them all.
// causal = false (the encoders: BERT, RoBERTa, ALBERT) lets every query see all P+T keys, later
// ones included; window must then be 0.
struct AttentionSpan {
    float scale = 1.0f;
    int64_t window = 0;
    bool causal = true;
};

// attention() with an explicit span (the plain form is scale 1/sqrt(D), no window).
void attention(core::ThreadPool& pool, const float* q, int64_t T, int64_t P, const float* k_cache,
               const float* v_cache, int64_t H, int64_t Hkv, int64_t D, AttentionSpan span,
               float* scores, float* out);
// The same over cache views of either type and layout (a Session's k_view/v_view: f32 or f16,
// head-major).
void attention(core::ThreadPool& pool, const float* q, int64_t T, int64_t P, const KvHeads& k_cache,
               const KvHeads& v_cache, int64_t H, int64_t Hkv, int64_t D, AttentionSpan span,
               float* scores, float* out);

// The rows of x [T, C] whose logits are wanted: the last one, or all when all_logits.
struct OutputRows {
    const float* x;   // first wanted row
    int64_t n;        // 1 or T (KvRows::output: one per session of a batch)
};
inline OutputRows output_rows(const float* x, int64_t T, int64_t C, bool all_logits) {
    return all_logits ? OutputRows{x, T} : OutputRows{x + (T - 1) * C, 1};
}

// Where a forward's T rows live, for the decoders that batch decode steps (Model::decode_batch,
// Model::forward_batch): either T consecutive new positions of one session (a prompt, or one
// decode step), or a batch of sessions, each with its next counts[i] positions (1 for a decode
// step, a whole prompt for a sequence that joins), end to end. The layer code is the same for both:
// projections write f32 K/V rows to k()/v() ([T, kv_dim]), store(l) puts them in place
// (rounding them to f16 for an f16 cache), attend() runs the attention each row is owed, and
// advance() moves every session on. Sessions of a batch may differ in KV type.
class KvRows {
public:
    // Rows P .. P+T-1 of s. The K/V projections go to the session's scratch slots k_slot/v_slot
    // ([T, kv_dim]) and store() splits them into the cache's heads (converting them for f16).
    KvRows(Session& s, int64_t T, size_t k_slot, size_t v_slot);
    // counts[i] rows per session (empty: one each); K/V rows are projected into k_tmp/v_tmp
    // ([T, kv_dim], T the sum of the counts) and scattered.
    KvRows(std::span<Session* const> sessions, std::span<const int32_t> counts, float* k_tmp,
           float* v_tmp);

    int64_t rows() const { return T_; }
    const int32_t* positions() const { return pos_; }
    // The session whose scratch slots the forward uses (the first one of a batch).
    Session& scratch_session() const { return *first_; }
    // Scratch for attention scores: pool.size() times the longest context of the rows' sessions.
    int64_t scores_size(const core::ThreadPool& pool) const;
    float* k() const { return k_tmp_; }
    float* v() const { return v_tmp_; }
    // Puts k() and v() in the cache at the rows' positions (the rows split over the pool:
    // disjoint positions).
    void store(core::ThreadPool& pool, int64_t layer) const;
    // store() for rows [t0, t1) alone. Rows are independent, so a region that already walks the
    // rows (the rotary embedding's) can store each range as it finishes it, and the step needs no
    // store of its own: a batch's was the caller's alone while the other threads waited, each
    // row's 24 half-rows of 128 bytes going to cache lines not touched since the last step.
    void store_rows(int64_t layer, int64_t t0, int64_t t1) const;
    void attend(core::ThreadPool& pool, int64_t layer, const float* q, int64_t H, int64_t Hkv,
                int64_t D, AttentionSpan span, float* scores, float* out) const;
    void advance() const;
    // The rows of x [T, C] whose logits are wanted: every row when all_logits, else each
    // session's last row. A batch whose sessions take several rows moves those last rows to the
    // front of x (in session order; x is dead after the last layer).
    OutputRows output(float* x, int64_t C, bool all_logits) const;

private:
    int64_t count(size_t i) const { return counts_.empty() ? 1 : counts_[i]; }

    Session* first_;
    std::span<Session* const> batch_;  // empty for one session
    std::span<const int32_t> counts_;  // rows per session of a batch; empty = one each
    const int32_t* row_seq_ = nullptr;  // a batch row's session index (in the integer scratch)
    int64_t T_;
    float *k_tmp_ = nullptr, *v_tmp_ = nullptr;
    const int32_t* pos_;  // in the scratch session's integer scratch
};

// check_forward for a batch (Model::forward_batch): counts[i] >= 1 tokens for session i (empty
// counts: one each), all of them in `tokens`, each fitting its session, no session twice.
// Changes nothing.
void check_forward_batch(const HParams& hp, std::span<Session* const> sessions,
                         std::span<const TokenId> tokens, std::span<const int32_t> counts);

// logits [n, V] = xn [n, C] · head[V, C]^T; resizes logits (no allocation once big enough).
void output_head(core::ThreadPool& pool, const float* xn, int64_t n, const core::Tensor& head,
                 std::vector<float>& logits);

}  // namespace lyra::model::detail
