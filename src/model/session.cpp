// Session: one sequence's KV cache (f32, f16 or Q8_0) and the scratch buffers forward() reuses.
#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "core/error.h"
#include "model/model.h"

namespace lyra::model {

core::DType parse_kv_type(std::string_view name) {
    if (name == "f32") return core::DType::F32;
    if (name == "f16") return core::DType::F16;
    if (name == "q8_0") return core::DType::Q8_0;
    throw_error(ErrorKind::InvalidArgument, "kv type '{}': unknown; expected f32, f16 or q8_0", name);
}

const char* kv_type_name(core::DType t) {
    return t == core::DType::F16 ? "f16" : t == core::DType::Q8_0 ? "q8_0" : "f32";
}

Session::Session(const Model& model, int64_t n_ctx, core::DType kv_type) : kv_type_(kv_type) {
    const HParams& hp = model.hparams();
    if (n_ctx < 0)
        throw_error(ErrorKind::InvalidArgument, "session: context {} is negative; expected >= 0",
                    n_ctx);
    if (kv_type != core::DType::F32 && kv_type != core::DType::F16 && kv_type != core::DType::Q8_0)
        throw_error(ErrorKind::InvalidArgument,
                    "session: KV cache type {} is not supported; expected f32, f16 or q8_0",
                    core::dtype_name(kv_type));
    if (kv_type == core::DType::Q8_0 && hp.head_dim % 32 != 0)
        throw_error(ErrorKind::InvalidArgument,
                    "session: a q8_0 KV cache needs a head dimension that is a multiple of 32; this "
                    "model's is {}; use f16",
                    hp.head_dim);
    n_ctx_ = n_ctx == 0 ? hp.n_ctx : n_ctx;
    if (has_learned_positions(hp.arch) && n_ctx_ > hp.n_ctx)
        throw_error(ErrorKind::InvalidArgument,
                    "session: context {} is longer than {}'s learned positions; expected <= {}",
                    n_ctx_, arch_name(hp.arch), hp.n_ctx);
    // t5's relative position buckets are tabled for the positions below t5.context_length.
    if (hp.arch == Arch::T5 && n_ctx_ > hp.n_ctx)
        throw_error(ErrorKind::InvalidArgument,
                    "session: context {} is longer than t5's context length; expected <= {}",
                    n_ctx_, hp.n_ctx);
    kv_dim_ = hp.n_head_kv * hp.head_dim;
    head_dim_ = hp.head_dim;
    n_layer_ = hp.n_layer;
    const auto elems = static_cast<size_t>(n_layer_ * n_ctx_ * kv_dim_);
    k_ = core::ZeroedBuffer(elems * elem_bytes());
    v_ = core::ZeroedBuffer(elems * elem_bytes());
    if (kv_type == core::DType::Q8_0) {
        ks_ = core::ZeroedBuffer(elems / 32 * sizeof(float));
        vs_ = core::ZeroedBuffer(elems / 32 * sizeof(float));
    }
}

size_t Session::kv_bytes_for(const Model& m, int64_t n_ctx, core::DType kv_type) {
    const HParams& hp = m.hparams();
    const auto elems = static_cast<size_t>(hp.n_layer * n_ctx * hp.n_head_kv * hp.head_dim);
    const size_t scales = kv_type == core::DType::Q8_0 ? elems / 32 * sizeof(float) : 0;
    return 2 * (elems * static_cast<size_t>(core::KvView::elem_bytes(kv_type)) + scales);
}

void Session::store(core::ZeroedBuffer& buf, core::ZeroedBuffer& scales, int64_t rows, int64_t layer, int64_t pos,
                    const float* src, int64_t n, int64_t src_stride) {
    LYRA_CHECK(pos >= 0 && n >= 0 && pos + n <= rows, "session: rows {}..{} outside 0..{}", pos,
               pos + n, rows);
    // Head h of source row i goes to position pos + i of head h's run of `rows` positions; the
    // f16 rounding is per element and the Q8_0 scales per 32 elements of a head's row, so
    // converting a head's slice alone gives the same bytes.
    const int64_t n_head = kv_dim_ / head_dim_;
    for (int64_t h = 0; h < n_head; ++h)
        for (int64_t i = 0; i < n; ++i) {
            const int64_t at = ((layer * n_head + h) * rows + pos + i) * head_dim_;
            const float* row = src + i * src_stride + h * head_dim_;
            if (kv_type_ == core::DType::F16)
                core::f32_to_f16(row, reinterpret_cast<uint16_t*>(buf.data()) + at, head_dim_);
            else if (kv_type_ == core::DType::Q8_0)
                core::quantize_kv_q8(row, head_dim_, reinterpret_cast<int8_t*>(buf.data()) + at,
                                     scales.as<float>() + at / 32);
            else
                std::memcpy(reinterpret_cast<float*>(buf.data()) + at, row,
                            static_cast<size_t>(head_dim_) * sizeof(float));
        }
}

void Session::store_k(int64_t layer, int64_t pos, const float* src, int64_t n, int64_t src_stride) {
    store(k_, ks_, n_ctx_, layer, pos, src, n, src_stride);
}

void Session::store_v(int64_t layer, int64_t pos, const float* src, int64_t n, int64_t src_stride) {
    store(v_, vs_, n_ctx_, layer, pos, src, n, src_stride);
}

void Session::set_source_len(int64_t n) {
    LYRA_CHECK(n >= 0, "session: source length {} is negative", n);
    n_source_ = n;
    const auto elems = static_cast<size_t>(n_layer_ * n * kv_dim_);
    // store_cross writes every row of the new source before anything reads them.
    if (cross_k_.size() != elems * elem_bytes()) {
        cross_k_ = core::ZeroedBuffer(elems * elem_bytes());
        cross_v_ = core::ZeroedBuffer(elems * elem_bytes());
    }
    if (kv_type_ == core::DType::Q8_0 && cross_ks_.size() != elems / 32 * sizeof(float)) {
        cross_ks_ = core::ZeroedBuffer(elems / 32 * sizeof(float));
        cross_vs_ = core::ZeroedBuffer(elems / 32 * sizeof(float));
    }
}

void Session::store_cross(int64_t layer, const float* k, const float* v) {
    store(cross_k_, cross_ks_, n_source_, layer, 0, k, n_source_, kv_dim_);
    store(cross_v_, cross_vs_, n_source_, layer, 0, v, n_source_, kv_dim_);
}

void Session::truncate(int64_t n) {
    LYRA_CHECK(n >= 0 && n <= n_past_, "session: truncate to {} outside 0..{}", n, n_past_);
    n_past_ = n;  // rows at n and later are simply overwritten by the next forward()
}

void Session::copy_prefix(const Session& src, int64_t n) {
    LYRA_CHECK(kv_type_ == src.kv_type_ && kv_dim_ == src.kv_dim_ && head_dim_ == src.head_dim_ &&
                   n_layer_ == src.n_layer_,
               "session: copy_prefix between sessions of different shapes or KV types");
    LYRA_CHECK(n >= 0 && n <= src.n_past_ && n <= n_ctx_, "session: copy_prefix of {} positions from {} into {}",
               n, src.n_past_, n_ctx_);
    LYRA_CHECK(n_source_ == 0 && src.n_source_ == 0, "session: copy_prefix of an encoder-decoder session");
    // Head by head: each head's positions are one run of n_ctx rows, and the two contexts differ.
    const auto copy_runs = [&](uint8_t* dst, const uint8_t* from_buf, size_t row) {
        const int64_t runs = n_layer_ * (kv_dim_ / head_dim_);
        for (int64_t r = 0; r < runs; ++r)
            std::memcpy(dst + static_cast<size_t>(r * n_ctx_) * row, from_buf + static_cast<size_t>(r * src.n_ctx_) * row,
                        static_cast<size_t>(n) * row);
    };
    const auto row = static_cast<size_t>(head_dim_) * elem_bytes();
    copy_runs(k_.data(), src.k_.data(), row);
    copy_runs(v_.data(), src.v_.data(), row);
    if (kv_type_ == core::DType::Q8_0) {  // and the scales, a row's head_dim / 32 of them
        const auto scale_row = static_cast<size_t>(head_dim_ / 32) * sizeof(float);
        copy_runs(ks_.data(), src.ks_.data(), scale_row);
        copy_runs(vs_.data(), src.vs_.data(), scale_row);
    }
    if (static_cast<int64_t>(src.history_.size()) >= n)
        history_.assign(src.history_.begin(), src.history_.begin() + n);
    n_past_ = n;
}

void Session::keep_last(int64_t n) {
    LYRA_CHECK(n >= 0 && n <= n_past_, "session: keep_last {} outside 0..{}", n, n_past_);
    // Each head's rows are moved to the front of that head's run, as bytes, so an f16 or Q8_0
    // cache (with its scales) slides exactly like an f32 one.
    const auto slide_runs = [&](uint8_t* buf, size_t row) {
        const auto run = static_cast<size_t>(n_ctx_) * row;  // one head's n_ctx positions
        const int64_t runs = n_layer_ * (kv_dim_ / head_dim_);
        for (int64_t r = 0; r < runs; ++r) {
            uint8_t* head = buf + static_cast<size_t>(r) * run;
            std::memmove(head, head + static_cast<size_t>(n_past_ - n) * row, static_cast<size_t>(n) * row);
        }
    };
    const auto row = static_cast<size_t>(head_dim_) * elem_bytes();
    slide_runs(k_.data(), row);
    slide_runs(v_.data(), row);
    if (kv_type_ == core::DType::Q8_0) {
        const auto scale_row = static_cast<size_t>(head_dim_ / 32) * sizeof(float);
        slide_runs(ks_.data(), scale_row);
        slide_runs(vs_.data(), scale_row);
    }
    if (static_cast<int64_t>(history_.size()) >= n_past_)
        history_.erase(history_.begin(), history_.begin() + (n_past_ - n));
    n_past_ = n;
}

}  // namespace lyra::model
