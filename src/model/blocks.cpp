#include "model/blocks.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "core/attention.h"
#include "core/error.h"
#include "core/share_claims.h"

namespace lyra::model::detail {

void check_forward(const HParams& hp, const Session& s, std::span<const TokenId> tokens) {
    if (tokens.empty())
        throw_error(ErrorKind::InvalidArgument, "forward: no tokens to process; expected at least 1");
    const auto T = static_cast<int64_t>(tokens.size());
    if (T > s.n_free())
        throw_error(ErrorKind::ContextFull,
                    "context full: {} new tokens do not fit; the session holds {} of {} positions "
                    "({} free); truncate the session or use a larger context",
                    T, s.n_past(), s.n_ctx(), s.n_free());
    for (int64_t i = 0; i < T; ++i) {
        const TokenId id = tokens[static_cast<size_t>(i)];
        if (id < 0 || id >= hp.n_vocab)
            throw_error(ErrorKind::InvalidArgument,
                        "forward: token id {} at index {} is outside the vocabulary; expected "
                        "0 <= id < {}",
                        id, i, hp.n_vocab);
    }
}

const int32_t* positions(Session& s, int64_t T) {
    auto& pos = s.scratch_i32();
    if (pos.size() < static_cast<size_t>(T)) pos.resize(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) pos[static_cast<size_t>(t)] = static_cast<int32_t>(s.n_past() + t);
    return pos.data();
}

float* scratch(Session& s, size_t slot, int64_t n) {
    auto& v = s.scratch(slot);
    if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
    return v.data();
}

void sinusoid_positions(int64_t d_lo, int64_t n, int64_t C, float* pe) {
    const int64_t half = C / 2;
    for (int64_t r = 0; r < n; ++r)
        for (int64_t i = 0; i < half; ++i) {
            const double f = std::pow(10000.0, -2.0 * static_cast<double>(i) / static_cast<double>(C));
            const double a = static_cast<double>(d_lo + r) * f;
            pe[r * C + i] = static_cast<float>(std::sin(a));
            pe[r * C + half + i] = static_cast<float>(std::cos(a));
        }
}

void add_relative_scores(const float* qr, const RelativeRows& r, int64_t d0, int64_t clamp, int64_t n, int64_t D,
                         float* tmp, float* sc) {
    if (n <= 0) return;
    const auto dist = [clamp](int64_t d) { return clamp > 0 ? std::clamp(d, -clamp, clamp) : d; };
    // Distances fall as j rises; clamping folds the ends onto one row each. tmp[i] is distance
    // lo + i: the negative ones' rows first, then the others'.
    const int64_t hi = dist(d0), lo = dist(d0 - (n - 1));
    int64_t k = 0;
    if (lo < 0) {
        k = std::min<int64_t>(hi, -1) - lo + 1;
        core::attention_scores(qr, core::KvView{r.neg + (lo + r.n_neg) * r.stride, core::DType::F32, r.stride}, k, D,
                               1.0f, tmp);
    }
    if (hi >= 0) {
        const int64_t bottom = std::max<int64_t>(lo, 0);
        core::attention_scores(qr, core::KvView{r.pos + bottom * r.stride, core::DType::F32, r.stride},
                               hi - bottom + 1, D, 1.0f, tmp + k);
    }
    for (int64_t j = 0; j < n; ++j) sc[j] += tmp[dist(d0 - j) - lo];
}

namespace {

struct AttentionArgs {
    const float* q;
    int64_t T, P;
    KvHeads k_cache;
    KvHeads v_cache;
    int64_t H, Hkv, D;
    AttentionSpan span;
    float* scores;
    float* out;
};

// One query head against the keys [0, end_key) of one cache (the last `window` of them if set):
// scores into sc, the weighted values into o [D]. One definition, so a batched decode step and
// a single one do the same arithmetic.
void attend_head(const float* qv, const KvHeads& k_cache, const KvHeads& v_cache, int64_t end_key,
                 int64_t kvh, int64_t D, const AttentionSpan& span, float* sc, float* o) {
    const int64_t first = span.window > 0 ? std::max<int64_t>(0, end_key - span.window) : 0;
    const int64_t n_keys = end_key - first;
    core::attention_head(qv, k_cache.head(kvh).at(first, 0), v_cache.head(kvh).at(first, 0), n_keys, D,
                         span.scale, sc, o);
}

// One thread's share of the (token, head) pairs: every nth pair. A causal token attends to as
// many keys as its position, so contiguous shares gave the last thread of a 128-token prompt
// three times the work of the first; interleaved shares take equal parts of every token.
void attention_part(const AttentionArgs& a, int ith, int nth) {
    const int64_t q_dim = a.H * a.D, group = a.H / a.Hkv;
    float* sc = a.scores + static_cast<int64_t>(ith) * (a.P + a.T);
    for (int64_t item = ith; item < a.T * a.H; item += nth) {
        const int64_t t = item / a.H, h = item % a.H;
        // Causal: keys up to and including this position; bidirectional: every key.
        const int64_t end_key = a.span.causal ? a.P + t + 1 : a.P + a.T;
        attend_head(a.q + t * q_dim + h * a.D, a.k_cache, a.v_cache, end_key, h / group, a.D, a.span, sc,
                    a.out + t * q_dim + h * a.D);
    }
}

}  // namespace

void attention(core::ThreadPool& pool, const float* q, int64_t T, int64_t P, const float* k_cache,
               const float* v_cache, int64_t H, int64_t Hkv, int64_t D, float* scores, float* out) {
    const AttentionSpan span{1.0f / std::sqrt(static_cast<float>(D)), 0, true};
    attention(pool, q, T, P, k_cache, v_cache, H, Hkv, D, span, scores, out);
}

void attention(core::ThreadPool& pool, const float* q, int64_t T, int64_t P, const float* k_cache,
               const float* v_cache, int64_t H, int64_t Hkv, int64_t D, AttentionSpan span,
               float* scores, float* out) {
    const int64_t kv_dim = Hkv * D;
    // Flat [rows, Hkv*D]: head h is the D elements at h*D of every row.
    attention(pool, q, T, P, KvHeads{k_cache, core::DType::F32, kv_dim, D},
              KvHeads{v_cache, core::DType::F32, kv_dim, D}, H, Hkv, D, span, scores, out);
}

void attention(core::ThreadPool& pool, const float* q, int64_t T, int64_t P, const KvHeads& k_cache,
               const KvHeads& v_cache, int64_t H, int64_t Hkv, int64_t D, AttentionSpan span,
               float* scores, float* out) {
    const AttentionArgs args{q, T, P, k_cache, v_cache, H, Hkv, D, span, scores, out};
    // Capturing one reference keeps the std::function in its small buffer (no allocation).
    pool.run([&args](int ith, int nth) { attention_part(args, ith, nth); });
}

KvRows::KvRows(Session& s, int64_t T, size_t k_slot, size_t v_slot)
    : first_(&s), T_(T), pos_(detail::positions(s, T)) {
    // The cache is head-major, so a projected [T, kv_dim] row block never lies in place there.
    k_tmp_ = scratch(s, k_slot, T * s.kv_dim());
    v_tmp_ = scratch(s, v_slot, T * s.kv_dim());
}

KvRows::KvRows(std::span<Session* const> sessions, std::span<const int32_t> counts, float* k_tmp,
               float* v_tmp)
    : first_(sessions.front()), batch_(sessions), counts_(counts), k_tmp_(k_tmp), v_tmp_(v_tmp) {
    T_ = 0;
    for (size_t i = 0; i < sessions.size(); ++i) T_ += count(i);
    // Integer scratch: [0, T) the rows' positions, [T, 2T) each row's session.
    auto& ints = first_->scratch_i32();
    ints.resize(std::max(ints.size(), static_cast<size_t>(2 * T_)));
    int32_t* pos = ints.data();
    int32_t* seq = pos + T_;
    int64_t row = 0;
    for (size_t i = 0; i < sessions.size(); ++i) {
        for (int64_t j = 0; j < count(i); ++j, ++row) {
            pos[row] = static_cast<int32_t>(sessions[i]->n_past() + j);
            seq[row] = static_cast<int32_t>(i);
        }
    }
    pos_ = pos;
    row_seq_ = seq;
}

int64_t KvRows::scores_size(const core::ThreadPool& pool) const {
    int64_t longest = first_->n_ctx();
    for (const Session* s : batch_) longest = std::max(longest, s->n_ctx());
    return pool.size() * longest;
}

void KvRows::store(core::ThreadPool& pool, int64_t layer) const {
    for_token_rows(pool, T_, [&](int64_t t0, int64_t t1) { store_rows(layer, t0, t1); });
}

void KvRows::store_rows(int64_t layer, int64_t t0, int64_t t1) const {
    const int64_t kv_dim = first_->kv_dim();
    if (batch_.empty()) {
        first_->store_k(layer, first_->n_past() + t0, k_tmp_ + t0 * kv_dim, t1 - t0, kv_dim);
        first_->store_v(layer, first_->n_past() + t0, v_tmp_ + t0 * kv_dim, t1 - t0, kv_dim);
        return;
    }
    // A batch's rows go to their own session, converted to that session's type, the same
    // element-wise conversion a single forward's store() makes: the cached bytes agree. A
    // session's rows are consecutive, so each run of them is one store.
    for (int64_t t = t0; t < t1;) {
        const int32_t seq = row_seq_[t];
        int64_t end = t + 1;
        while (end < t1 && row_seq_[end] == seq) ++end;
        Session& s = *batch_[static_cast<size_t>(seq)];
        s.store_k(layer, pos_[t], k_tmp_ + t * kv_dim, end - t, kv_dim);
        s.store_v(layer, pos_[t], v_tmp_ + t * kv_dim, end - t, kv_dim);
        t = end;
    }
}

void KvRows::attend(core::ThreadPool& pool, int64_t layer, const float* q, int64_t H, int64_t Hkv,
                    int64_t D, AttentionSpan span, float* scores, float* out) const {
    if (batch_.empty()) {
        attention(pool, q, T_, first_->n_past(), first_->k_view(layer), first_->v_view(layer), H, Hkv, D, span,
                  scores, out);
        return;
    }
    // Row i is one causal query at position pos_[i] of its session, owed the keys up to its
    // own (exactly what a single forward's causal attention gives it): (row, head) pairs over the pool,
    // claimed half a row's heads at a time, each share from a range of its own first
    // (core/share_claims.h). The sessions of a batch differ in length (each joined at its own
    // step), so equal static shares of the pairs were unequal work and one thread waited for the
    // other; claiming from one counter moved its cache line between the cores at every claim. A
    // pair's result does not depend on which thread runs it.
    const int64_t q_dim = H * D, group = H / Hkv, stride = scores_size(pool) / pool.size();
    const int64_t items = T_ * H, chunk = std::max<int64_t>(1, H / 2);
    thread_local core::ShareClaims claims;
    core::ShareClaims* const pairs = &claims;  // the caller's: a thread_local named in the lambda is each worker's own
    pairs->reset(items, pool.size(), chunk);
    pool.run([&](int ith, int /*nth*/) {
        float* sc = scores + static_cast<int64_t>(ith) * stride;
        pairs->run(ith, chunk, [&](int64_t first, int64_t last) {
            for (int64_t item = first; item < last; ++item) {
                const int64_t i = item / H, h = item % H;
                Session& s = *batch_[static_cast<size_t>(row_seq_[i])];
                attend_head(q + i * q_dim + h * D, s.k_view(layer), s.v_view(layer), pos_[i] + 1, h / group,
                            D, span, sc, out + i * q_dim + h * D);
            }
        });
    });
}

void KvRows::advance() const {
    if (batch_.empty()) {
        first_->advance(T_);
        return;
    }
    for (size_t i = 0; i < batch_.size(); ++i) batch_[i]->advance(count(i));
}

OutputRows KvRows::output(float* x, int64_t C, bool all_logits) const {
    if (batch_.empty() || all_logits) return output_rows(x, T_, C, all_logits);
    if (counts_.empty()) return OutputRows{x, T_};  // one row each: every row is a last row
    // Session i's last row is at or after row i, and after every earlier session's, so moving
    // them forward in order never overwrites one still to be moved.
    int64_t last = -1;
    for (size_t i = 0; i < batch_.size(); ++i) {
        last += count(i);
        if (last != static_cast<int64_t>(i)) {
            std::memmove(x + static_cast<int64_t>(i) * C, x + last * C, static_cast<size_t>(C) * sizeof(float));
        }
    }
    return OutputRows{x, static_cast<int64_t>(batch_.size())};
}

void check_forward_batch(const HParams& hp, std::span<Session* const> sessions,
                         std::span<const TokenId> tokens, std::span<const int32_t> counts) {
    if (sessions.empty())
        throw_error(ErrorKind::InvalidArgument, "forward batch: no sessions; expected at least one");
    if (!counts.empty() && counts.size() != sessions.size())
        throw_error(ErrorKind::InvalidArgument,
                    "forward batch: {} sessions and {} token counts; expected one count per session",
                    sessions.size(), counts.size());
    size_t total = 0;
    for (size_t i = 0; i < sessions.size(); ++i) {
        const int64_t n = counts.empty() ? 1 : counts[i];
        if (n < 1)
            throw_error(ErrorKind::InvalidArgument,
                        "forward batch: session {} has {} tokens; expected at least 1", i, n);
        total += static_cast<size_t>(n);
    }
    if (total != tokens.size())
        throw_error(ErrorKind::InvalidArgument,
                    "forward batch: {} tokens for counts that add up to {}; expected them to agree "
                    "(one token per session when counts are empty)",
                    tokens.size(), total);
    size_t first = 0;
    for (size_t i = 0; i < sessions.size(); ++i) {
        const auto n = static_cast<size_t>(counts.empty() ? 1 : counts[i]);
        check_forward(hp, *sessions[i], tokens.subspan(first, n));
        first += n;
        if (sessions[i]->kv_dim() != sessions[0]->kv_dim())
            throw_error(ErrorKind::InvalidArgument, "forward batch: session {} belongs to another model", i);
        for (size_t j = 0; j < i; ++j)
            if (sessions[j] == sessions[i])
                throw_error(ErrorKind::InvalidArgument,
                            "forward batch: session {} is also session {}; expected each once", i, j);
    }
}

void output_head(core::ThreadPool& pool, const float* xn, int64_t n, const core::Tensor& head,
                 std::vector<float>& logits) {
    logits.resize(static_cast<size_t>(n * head.rows()));
    core::matmul(pool, xn, n, head, logits.data());
}

}  // namespace lyra::model::detail
