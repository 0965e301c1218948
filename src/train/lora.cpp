// LoRA adapters (see lora.h). Legend: M rows (B·T), K input width, N output rows of the adapted
// weight, R rank, s = alpha / R.
#include "train/lora.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <unistd.h>

#include "core/error.h"
#include "core/quant.h"
#include "train/kernels.h"

namespace lyra::train {

namespace fs = std::filesystem;

namespace {

core::Tensor f32_tensor(const float* data, std::initializer_list<int64_t> shape) {
    return core::make_tensor(core::DType::F32, shape, data);
}

}  // namespace

LoraAdapter::LoraAdapter(const TrainModel& model, LoraConfig cfg) : cfg_(std::move(cfg)) {
    if (cfg_.rank < 1) throw_error(ErrorKind::InvalidArgument, "lora.rank: impossible value; expected ≥ 1, got {}", cfg_.rank);
    if (cfg_.targets.empty()) {
        cfg_.targets = model.config().arch == model::Arch::Gpt2
                           ? std::vector<std::string>{"attn_qkv", "attn_output"}
                           : std::vector<std::string>{"attn_q", "attn_k", "attn_v", "attn_output"};
    }
    std::set<std::string> available;  // the blk.N.<x>.weight matrices of this model
    for (const auto& p : model.param_info()) {
        if (p.is_matrix && p.name.starts_with("blk.") && p.name.ends_with(".weight")) {
            const size_t dot = p.name.find('.', 4);
            available.insert(p.name.substr(dot + 1, p.name.size() - dot - 1 - 7));
        }
    }
    for (const std::string& t : cfg_.targets) {
        if (available.count(t) == 0) {
            std::string names;
            for (const auto& a : available) names += (names.empty() ? "" : ", ") + a;
            throw_error(ErrorKind::InvalidArgument, "lora.targets: '{}' is not a weight of this {} "
                        "model; expected some of {}", t, model::arch_name(model.config().arch), names);
        }
    }
    const auto R = cfg_.rank;
    size_t total = 0;
    for (const auto& p : model.param_info()) {
        const bool wanted = std::any_of(cfg_.targets.begin(), cfg_.targets.end(), [&](const std::string& t) {
            return p.name.starts_with("blk.") && p.name.ends_with("." + t + ".weight");
        });
        if (!wanted) continue;
        const int64_t N = p.shape[0], K = p.shape[1];
        Target t{model.params().data() + p.offset, N, K, total, total + static_cast<size_t>(R * K), {}, {}, {}};
        info_.push_back({p.name + ".lora_a", {R, K}, t.a, static_cast<size_t>(R * K), true});
        info_.push_back({p.name + ".lora_b", {N, R}, t.b, static_cast<size_t>(N * R), true});
        total = t.b + static_cast<size_t>(N * R);
        targets_.push_back(std::move(t));
    }
    params_.assign(total, 0.0f);
    grads_.assign(total, 0.0f);
}

void LoraAdapter::init_random(uint64_t seed) {
    core::Rng rng(seed);
    std::fill(params_.begin(), params_.end(), 0.0f);  // B = 0
    for (const Target& t : targets_) {
        const float bound = 1.0f / std::sqrt(static_cast<float>(t.K));
        for (size_t i = 0; i < static_cast<size_t>(cfg_.rank * t.K); ++i)
            params_[t.a + i] = (2.0f * rng.uniform() - 1.0f) * bound;
    }
}

void LoraAdapter::zero_grad() { std::fill(grads_.begin(), grads_.end(), 0.0f); }

void LoraAdapter::set_training(bool on, uint64_t seed) {
    training_ = on;
    rng_.reseed(seed);
}

// dropout(x) for this target: x itself when off, else a masked, rescaled copy kept for backward.
const float* LoraAdapter::input(Target& t, const float* x, int64_t M) {
    if (!training_ || cfg_.dropout <= 0.0f) return x;
    const size_t n = static_cast<size_t>(M * t.K);
    const float keep_scale = 1.0f / (1.0f - cfg_.dropout);
    t.xd.resize(n);
    t.keep.resize(n);
    for (size_t i = 0; i < n; ++i) {
        t.keep[i] = rng_.uniform() >= cfg_.dropout ? 1 : 0;
        t.xd[i] = t.keep[i] != 0 ? x[i] * keep_scale : 0.0f;
    }
    return t.xd.data();
}

void LoraAdapter::forward(core::ThreadPool& pool, const float* w, const float* x, float* y,
                          int64_t M, int64_t K, int64_t N) {
    const int64_t R = cfg_.rank;
    const float s = scale();
    for (Target& t : targets_) {
        if (t.w < w || t.w >= w + N * K) continue;  // not inside this matmul's weight
        const int64_t row0 = (t.w - w) / K;          // its first output column in y
        const float* xin = input(t, x, M);
        t.h.resize(static_cast<size_t>(M * R));
        delta_.resize(static_cast<size_t>(M * t.N));
        scratch_.resize(static_cast<size_t>(std::max(K * R, R * t.N)));
        // h[M, R] = xin · Aᵀ;  delta[M, N] = h · Bᵀ;  y[:, row0 + n] += s · delta
        kern::linear_forward(pool, xin, params_.data() + t.a, nullptr, t.h.data(), M, K, R, scratch_.data());
        kern::linear_forward(pool, t.h.data(), params_.data() + t.b, nullptr, delta_.data(), M, R, t.N,
                             scratch_.data());
        for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < t.N; ++n) y[m * N + row0 + n] += s * delta_[static_cast<size_t>(m * t.N + n)];
    }
}

void LoraAdapter::backward(core::ThreadPool& pool, const float* w, const float* x, const float* dy,
                           float* dx, int64_t M, int64_t K, int64_t N) {
    const int64_t R = cfg_.rank;
    const float s = scale();
    const bool dropped = training_ && cfg_.dropout > 0.0f;
    for (Target& t : targets_) {
        if (t.w < w || t.w >= w + N * K) continue;
        const int64_t row0 = (t.w - w) / K;
        // forward: y[:, row0 + n] += s · delta[:, n], so d delta = s · dy[:, row0 + n]
        dy_.resize(static_cast<size_t>(M * t.N));
        for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < t.N; ++n) dy_[static_cast<size_t>(m * t.N + n)] = s * dy[m * N + row0 + n];
        scratch_.resize(static_cast<size_t>(M * std::max({t.N, K, R})));
        // delta = h · Bᵀ:  dB += d deltaᵀ · h,  dh = d delta · B
        dh_.assign(static_cast<size_t>(M * R), 0.0f);
        kern::linear_backward(pool, dy_.data(), t.h.data(), params_.data() + t.b, dh_.data(),
                              grads_.data() + t.b, nullptr, M, R, t.N, scratch_.data());
        // h = xin · Aᵀ:  dA += dhᵀ · xin,  dxin = dh · A;  xin = keep · x / (1 - p)
        const float* xin = dropped ? t.xd.data() : x;
        float* dxin = dx;
        if (dropped) {
            dx_.assign(static_cast<size_t>(M * K), 0.0f);
            dxin = dx_.data();
        }
        kern::linear_backward(pool, dh_.data(), xin, params_.data() + t.a, dxin, grads_.data() + t.a,
                              nullptr, M, K, R, scratch_.data());
        if (dropped) {
            const float keep_scale = 1.0f / (1.0f - cfg_.dropout);
            for (size_t i = 0; i < dx_.size(); ++i)
                if (t.keep[i] != 0) dx[i] += dx_[i] * keep_scale;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Adapter files

void add_lora_adapter(model::GgufWriter& w, const LoraAdapter& a, model::Arch arch,
                      const std::string& name, const std::string& base_name,
                      const std::string& base_sha256) {
    w.set_string("general.architecture", model::arch_name(arch));
    w.set_string("general.type", "adapter");
    w.set_string("general.name", name);
    w.set_string("adapter.type", "lora");
    w.set_f32("adapter.lora.alpha", a.config().alpha);
    w.set_u32("general.base_model.count", 1);
    w.set_string("general.base_model.0.name", base_name);
    w.set_string("general.base_model.0.sha256", base_sha256);
    for (const auto& p : a.param_info())
        w.add_tensor(p.name, f32_tensor(a.params().data() + p.offset, {p.shape[0], p.shape[1]}));
}

LoraFile read_lora_adapter(const std::string& path, const model::GgufFile& base) {
    LoraFile f;
    f.gguf = model::GgufFile::open(path);
    const model::GgufFile& g = *f.gguf;
    auto bad = [&](const std::string& problem) {
        throw_error(ErrorKind::Corrupt, "adapter '{}': {}", path, problem);
    };
    if (g.get_string("general.type") != "adapter" || g.get_string("adapter.type") != "lora")
        bad("not a LoRA adapter; expected general.type = \"adapter\" and adapter.type = \"lora\"");
    const auto arch = g.get_string("general.architecture");
    if (arch != base.get_string("general.architecture"))
        throw_error(ErrorKind::Unsupported, "adapter '{}': made for architecture '{}', but the base model "
                    "'{}' is '{}'", path, arch.value_or("?"), base.path(),
                    base.get_string("general.architecture").value_or("?"));
    f.alpha = static_cast<float>(g.get_float("adapter.lora.alpha").value_or(0.0));
    if (!(f.alpha > 0.0f)) bad("adapter.lora.alpha is missing or not positive");
    std::map<std::string, LoraFile::Pair> pairs;
    for (const auto& t : g.tensors()) {
        const bool is_a = t.name.ends_with(".lora_a"), is_b = t.name.ends_with(".lora_b");
        if (!is_a && !is_b) bad(fmt::format("tensor '{}' is not a .lora_a or .lora_b tensor", t.name));
        const std::string weight = t.name.substr(0, t.name.size() - 7);
        const model::GgufTensorInfo* w = base.find_tensor(weight);
        if (w == nullptr || w->tensor.n_dims != 2)
            bad(fmt::format("tensor '{}' adapts '{}', which is not a weight matrix of the base model '{}'",
                            t.name, weight, base.path()));
        if (t.tensor.dtype != core::DType::F32 || t.tensor.n_dims != 2)
            bad(fmt::format("tensor '{}' is {} {}; expected a 2-D f32 matrix", t.name,
                            core::dtype_name(t.tensor.dtype), core::shape_string(t.tensor)));
        auto& p = pairs[weight];
        p.weight = weight;
        (is_a ? p.a : p.b) = &t.tensor;
    }
    if (pairs.empty()) bad("no .lora_a/.lora_b tensors");
    for (auto& [weight, p] : pairs) {
        if (p.a == nullptr || p.b == nullptr)
            bad(fmt::format("'{}' has only one of .lora_a and .lora_b", weight));
        const core::Tensor& w = base.find_tensor(weight)->tensor;
        const int64_t R = p.a->dim(0);
        if (p.a->dim(1) != w.dim(1) || p.b->dim(0) != w.dim(0) || p.b->dim(1) != R)
            bad(fmt::format("'{}' is {} in the base, but its lora_a is {} and lora_b {}; expected [rank, "
                            "{}] and [{}, rank]", weight, core::shape_string(w), core::shape_string(*p.a),
                            core::shape_string(*p.b), w.dim(1), w.dim(0)));
        f.pairs.push_back(p);
    }
    return f;
}

int merge_lora(const std::string& base_path, const std::string& adapter_path, float scale,
               const std::string& out) {
    const auto base = model::GgufFile::open(base_path);
    const LoraFile lora = read_lora_adapter(adapter_path, *base);
    std::map<std::string, const LoraFile::Pair*> by_weight;
    for (const auto& p : lora.pairs) by_weight[p.weight] = &p;
    model::GgufWriter w;
    for (const auto& [key, value] : base->metadata()) w.set(key, value);
    core::ThreadPool pool(1);
    std::vector<float> merged, scratch;
    for (const auto& t : base->tensors()) {
        const auto it = by_weight.find(t.name);
        if (it == by_weight.end()) {
            w.add_tensor(t.name, t.tensor);
            continue;
        }
        const LoraFile::Pair& p = *it->second;
        const int64_t N = t.tensor.dim(0), K = t.tensor.dim(1), R = p.a->dim(0);
        merged.resize(static_cast<size_t>(N * K));
        for (int64_t r = 0; r < N; ++r) core::dequantize_row(t.tensor.dtype, t.tensor.row(r), merged.data() + r * K, K);
        // W[N, K] += s · B[N, R] · A[R, K]
        const float s = scale * lora.alpha / static_cast<float>(R);
        scratch.resize(static_cast<size_t>(R * K));
        for (size_t i = 0; i < scratch.size(); ++i) scratch[i] = s * p.a->f32()[i];
        kern::gemm(pool, N, K, R, p.b->f32(), scratch.data(), merged.data(), true);
        w.add_tensor(t.name, f32_tensor(merged.data(), {N, K}));
    }
    w.write(out);
    return static_cast<int>(lora.pairs.size());
}

std::unique_ptr<model::Model> load_model_with_lora(const std::string& base_path,
                                                    const std::string& adapter_path, float scale) {
    const std::string tmp = (fs::temp_directory_path() /
                             fmt::format("lyra-lora-{}-{}.gguf", ::getpid(),
                                         fs::path(adapter_path).stem().string())).string();
    // Removed however loading ends; once mapped, the map keeps the data alive.
    struct RemoveOnExit {
        std::string path;
        ~RemoveOnExit() {
            std::error_code ec;
            fs::remove(path, ec);
        }
    } cleanup{tmp};
    merge_lora(base_path, adapter_path, scale, tmp);
    return model::Model::load(tmp);
}

}  // namespace lyra::train
