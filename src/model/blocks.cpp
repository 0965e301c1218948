#include "model/blocks.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

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

namespace {

struct AttentionArgs {
    const float* q;
    int64_t T, P;
    const float* k_cache;
    const float* v_cache;
    int64_t H, Hkv, D;
    AttentionSpan span;
    float* scores;
    float* out;
};

// One thread's share of the (token, head) pairs.
void attention_part(const AttentionArgs& a, int ith, int nth) {
    const int64_t q_dim = a.H * a.D, kv_dim = a.Hkv * a.D, group = a.H / a.Hkv;
    const float scale = a.span.scale;
    float* sc = a.scores + static_cast<int64_t>(ith) * (a.P + a.T);
    int64_t begin = 0, end = 0;
    core::split_range(a.T * a.H, ith, nth, &begin, &end);
    for (int64_t item = begin; item < end; ++item) {
        const int64_t t = item / a.H, h = item % a.H, kvh = h / group;
        const float* qv = a.q + t * q_dim + h * a.D;
        // Causal: keys up to and including this position, the last `window` of them if set;
        // bidirectional: every key.
        const int64_t end_key = a.span.causal ? a.P + t + 1 : a.P + a.T;
        const int64_t first = a.span.window > 0 ? std::max<int64_t>(0, end_key - a.span.window) : 0;
        const int64_t n_keys = end_key - first;
        const float* keys = a.k_cache + first * kv_dim + kvh * a.D;
        const float* values = a.v_cache + first * kv_dim + kvh * a.D;
        for (int64_t j = 0; j < n_keys; ++j)
            sc[j] = core::dot_f32(qv, keys + j * kv_dim, a.D) * scale;
        core::softmax(sc, n_keys);
        float* o = a.out + t * q_dim + h * a.D;
        for (int64_t d = 0; d < a.D; ++d) o[d] = 0.0f;
        for (int64_t j = 0; j < n_keys; ++j) core::axpy_f32(sc[j], values + j * kv_dim, o, a.D);
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
    const AttentionArgs args{q, T, P, k_cache, v_cache, H, Hkv, D, span, scores, out};
    // Capturing one reference keeps the std::function in its small buffer (no allocation).
    pool.run([&args](int ith, int nth) { attention_part(args, ith, nth); });
}

void output_head(core::ThreadPool& pool, const float* xn, int64_t n, const core::Tensor& head,
                 std::vector<float>& logits) {
    logits.resize(static_cast<size_t>(n * head.rows()));
    core::matmul(pool, xn, n, head, logits.data());
}

}  // namespace lyra::model::detail
