// TrainModel: forward with saved activations and the hand-written backward (llm.c style).
// Legend: B batch, T tokens, M = B·T rows, C n_embd, H heads, G kv heads, D head dim,
// F n_ff, V vocab, L layers, QKV = (H + 2G)·D.
#include "train/train_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/error.h"
#include "core/quant.h"
#include "core/rng.h"
#include "train/kernels.h"
#include "train/lora.h"

namespace lyra::train {

void TrainConfig::validate() {
    auto need = [](bool ok, const char* key, int64_t got, const char* expected) {
        if (!ok) throw_error(ErrorKind::InvalidArgument, "model.{}: impossible value; expected {}, got {}",
                             key, expected, got);
    };
    if (arch != model::Arch::Llama && arch != model::Arch::Gpt2)
        throw_error(ErrorKind::Unsupported, "model.arch: training supports llama and gpt2; got {}",
                    model::arch_name(arch));
    need(n_vocab > 0, "n_vocab", n_vocab, "> 0");
    need(n_ctx > 0, "context", n_ctx, "> 0");
    need(n_embd > 0, "n_embd", n_embd, "> 0");
    need(n_layer > 0, "n_layer", n_layer, "> 0");
    need(n_head > 0 && n_embd % n_head == 0, "n_head", n_head, "a divisor of n_embd");
    need((n_embd / n_head) % 2 == 0, "n_head", n_head, "an even head dimension n_embd / n_head");
    if (n_head_kv == 0) n_head_kv = n_head;
    need(n_head_kv > 0 && n_head % n_head_kv == 0, "n_head_kv", n_head_kv, "a divisor of n_head");
    if (arch == model::Arch::Gpt2)
        need(n_head_kv == n_head, "n_head_kv", n_head_kv, "n_head for gpt2");
    if (n_ff == 0) {
        n_ff = arch == model::Arch::Gpt2 ? 4 * n_embd : ((8 * n_embd / 3 + 31) / 32) * 32;
    }
    need(n_ff > 0, "n_ff", n_ff, "> 0");
    if (!(norm_eps > 0.0f && norm_eps < 1.0f))
        throw_error(ErrorKind::InvalidArgument, "model.norm_eps: impossible value; expected in (0, 1), got {}",
                    norm_eps);
    if (!(rope_base > 1.0f))
        throw_error(ErrorKind::InvalidArgument, "model.rope_base: impossible value; expected > 1, got {}",
                    rope_base);
}

TrainModel::TrainModel(TrainConfig cfg) : cfg_(cfg) {
    cfg_.validate();
    const int64_t C = cfg_.n_embd, V = cfg_.n_vocab, F = cfg_.n_ff;
    const int64_t D = C / cfg_.n_head, HD = cfg_.n_head * D, GD = cfg_.n_head_kv * D;
    const bool gpt2 = cfg_.arch == model::Arch::Gpt2;
    add_param("token_embd.weight", {V, C}, false);
    if (gpt2) add_param("position_embd.weight", {cfg_.n_ctx, C}, false);
    for (int64_t l = 0; l < cfg_.n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        add_param(p + "attn_norm.weight", {C}, false);
        if (gpt2) {
            add_param(p + "attn_norm.bias", {C}, false);
            add_param(p + "attn_qkv.weight", {3 * C, C}, true);
            add_param(p + "attn_qkv.bias", {3 * C}, false);
            add_param(p + "attn_output.weight", {C, C}, true);
            add_param(p + "attn_output.bias", {C}, false);
            add_param(p + "ffn_norm.weight", {C}, false);
            add_param(p + "ffn_norm.bias", {C}, false);
            add_param(p + "ffn_up.weight", {F, C}, true);
            add_param(p + "ffn_up.bias", {F}, false);
            add_param(p + "ffn_down.weight", {C, F}, true);
            add_param(p + "ffn_down.bias", {C}, false);
        } else {
            // q, k, v are adjacent so they run as one [QKV, C] matmul.
            add_param(p + "attn_q.weight", {HD, C}, true);
            add_param(p + "attn_k.weight", {GD, C}, true);
            add_param(p + "attn_v.weight", {GD, C}, true);
            add_param(p + "attn_output.weight", {C, HD}, true);
            add_param(p + "ffn_norm.weight", {C}, false);
            add_param(p + "ffn_gate.weight", {F, C}, true);
            add_param(p + "ffn_up.weight", {F, C}, true);
            add_param(p + "ffn_down.weight", {C, F}, true);
        }
    }
    add_param("output_norm.weight", {C}, false);
    if (gpt2) add_param("output_norm.bias", {C}, false);
    if (!cfg_.tied_output) add_param("output.weight", {V, C}, true);
    size_t total = 0;
    for (auto& p : info_) {
        p.offset = total;
        total += p.numel;
    }
    params_.assign(total, 0.0f);
    // grads_ waits for the first zero_grad/backward/grads(): a LoRA run never allocates it.
}

std::span<float> TrainModel::grads() {
    if (adapter_ != nullptr) return {};
    if (grads_.empty()) grads_.assign(params_.size(), 0.0f);
    return grads_;
}

void TrainModel::set_adapter(LoraAdapter* a) {
    adapter_ = a;
    if (a != nullptr) std::vector<float>().swap(grads_);  // give the memory back, not just clear
}

void TrainModel::add_param(const std::string& name, std::vector<int64_t> shape, bool is_matrix) {
    ParamInfo p;
    p.name = name;
    p.numel = 1;
    for (int64_t d : shape) p.numel *= static_cast<size_t>(d);
    p.shape = std::move(shape);
    p.is_matrix = is_matrix;
    info_.push_back(std::move(p));
}

const ParamInfo* TrainModel::find_param(std::string_view name) const {
    for (const auto& p : info_)
        if (p.name == name) return &p;
    return nullptr;
}

float* TrainModel::tensor(std::vector<float>& buf, const std::string& name) {
    const ParamInfo* p = find_param(name);
    return p == nullptr || buf.empty() ? nullptr : buf.data() + p->offset;
}

TrainModel::LayerParams TrainModel::layer(std::vector<float>& buf, int64_t l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LayerParams lp{};
    lp.attn_norm = tensor(buf, p + "attn_norm.weight");
    lp.attn_norm_b = tensor(buf, p + "attn_norm.bias");
    lp.wqkv = cfg_.arch == model::Arch::Gpt2 ? tensor(buf, p + "attn_qkv.weight")
                                             : tensor(buf, p + "attn_q.weight");
    lp.bqkv = tensor(buf, p + "attn_qkv.bias");
    lp.wo = tensor(buf, p + "attn_output.weight");
    lp.bo = tensor(buf, p + "attn_output.bias");
    lp.ffn_norm = tensor(buf, p + "ffn_norm.weight");
    lp.ffn_norm_b = tensor(buf, p + "ffn_norm.bias");
    lp.w_gate = tensor(buf, p + "ffn_gate.weight");
    lp.w_up = tensor(buf, p + "ffn_up.weight");
    lp.b_up = tensor(buf, p + "ffn_up.bias");
    lp.w_down = tensor(buf, p + "ffn_down.weight");
    lp.b_down = tensor(buf, p + "ffn_down.bias");
    return lp;
}

void TrainModel::init_random(uint64_t seed) {
    core::Rng rng(seed);
    const float resid_std = 0.02f / std::sqrt(2.0f * static_cast<float>(cfg_.n_layer));
    for (const auto& p : info_) {
        float* w = params_.data() + p.offset;
        const bool is_norm = p.name.find("norm.weight") != std::string::npos;
        const bool is_bias = p.name.size() > 5 && p.name.ends_with(".bias");
        if (is_norm) {
            std::fill(w, w + p.numel, 1.0f);
        } else if (is_bias) {
            std::fill(w, w + p.numel, 0.0f);
        } else {
            const bool resid = p.name.ends_with("attn_output.weight") ||
                               p.name.ends_with("ffn_down.weight");
            const float sd = resid ? resid_std : 0.02f;
            for (size_t i = 0; i < p.numel; ++i) w[i] = rng.normal() * sd;
        }
    }
}

void TrainModel::zero_grad(core::ThreadPool& pool) {
    const std::span<float> g = grads();  // empty while frozen
    kern::zero(pool, g.data(), static_cast<int64_t>(g.size()));
}

void TrainModel::ensure_buffers(int64_t B, int64_t T) {
    if (B == B_ && T == T_) return;
    B_ = B;
    T_ = T;
    const auto L = static_cast<size_t>(cfg_.n_layer);
    const auto M = static_cast<size_t>(B * T), C = static_cast<size_t>(cfg_.n_embd);
    const auto V = static_cast<size_t>(cfg_.n_vocab), F = static_cast<size_t>(cfg_.n_ff);
    const auto H = static_cast<size_t>(cfg_.n_head), D = C / H;
    const auto QKV = (H + 2 * static_cast<size_t>(cfg_.n_head_kv)) * D;
    const auto Tz = static_cast<size_t>(T), Bz = static_cast<size_t>(B);
    act_.resid.assign((L + 1) * M * C, 0.0f);
    act_.mid.assign(L * M * C, 0.0f);
    act_.norm1.assign(L * M * C, 0.0f);
    act_.norm2.assign(L * M * C, 0.0f);
    for (auto* v : {&act_.mean1, &act_.rstd1, &act_.mean2, &act_.rstd2}) v->assign(L * M, 0.0f);
    act_.qkv.assign(L * M * QKV, 0.0f);
    act_.att.assign(L * Bz * H * Tz * Tz, 0.0f);
    act_.attn_out.assign(L * M * H * D, 0.0f);
    act_.ff_a.assign(L * M * F, 0.0f);
    act_.ff_b.assign(cfg_.arch == model::Arch::Llama ? L * M * F : 0, 0.0f);
    act_.ff_h.assign(L * M * F, 0.0f);
    act_.normf.assign(M * C, 0.0f);
    act_.meanf.assign(M, 0.0f);
    act_.rstdf.assign(M, 0.0f);
    act_.logits.assign(M * V, 0.0f);
    act_.losses.assign(M, 0.0f);
    act_.tokens.assign(M, 0);
    act_.targets.assign(M, -1);
    const size_t widest = std::max({V, F, QKV, C});
    scratch_a_.assign(std::max(widest * C, M * widest), 0.0f);  // w^T or dy^T
    scratch_b_.assign(M * std::max({C, QKV, F}), 0.0f);         // y of a linear, dqkv, dgate
    scratch_c_.assign(M * std::max(C, F), 0.0f);                // dnorm, dup, dh
    scratch_t_.assign(M * std::max(C, F), 0.0f);                // dh (ffn), dattn_out
    dresid_.assign(M * C, 0.0f);
}

void TrainModel::linear(core::ThreadPool& pool, const float* x, const float* w, const float* b,
                        float* y, int64_t M, int64_t K, int64_t N) {
    PhaseTimer timer(prof_, Phase::FwdMatmul);
    kern::linear_forward(pool, x, w, b, y, M, K, N, scratch_a_.data());
    if (adapter_ != nullptr) adapter_->forward(pool, w, x, y, M, K, N);
}

void TrainModel::linear_back(core::ThreadPool& pool, const float* dy, const float* x, const float* w,
                             float* dx, float* dw, float* db, int64_t M, int64_t K, int64_t N) {
    // A frozen base (LoRA) needs only dx; the adapter adds its own part of dx.
    const bool frozen = adapter_ != nullptr;
    PhaseTimer timer(prof_, Phase::BwdMatmul);
    kern::linear_backward(pool, dy, x, w, dx, frozen ? nullptr : dw, frozen ? nullptr : db, M, K, N,
                          scratch_a_.data());
    if (frozen) adapter_->backward(pool, w, x, dy, dx, M, K, N);
}

float TrainModel::forward(core::ThreadPool& pool, const int32_t* tokens, const int32_t* targets,
                          int64_t B, int64_t T) {
    LYRA_CHECK(T > 0 && T <= cfg_.n_ctx && B > 0, "forward: B={} T={} n_ctx={}", B, T, cfg_.n_ctx);
    ensure_buffers(B, T);
    const int64_t M = B * T, C = cfg_.n_embd, V = cfg_.n_vocab, F = cfg_.n_ff, L = cfg_.n_layer;
    const int64_t H = cfg_.n_head, G = cfg_.n_head_kv, D = C / H, HD = H * D;
    const int64_t QKV = (H + 2 * G) * D;
    const bool gpt2 = cfg_.arch == model::Arch::Gpt2;
    for (int64_t m = 0; m < M; ++m) {
        LYRA_CHECK(tokens[m] >= 0 && tokens[m] < V, "forward: token {} out of range", tokens[m]);
    }
    std::copy(tokens, tokens + M, act_.tokens.begin());
    if (targets != nullptr) std::copy(targets, targets + M, act_.targets.begin());
    have_targets_ = targets != nullptr;

    float* tmp = scratch_b_.data();
    {
        PhaseTimer timer(prof_, Phase::Embed);
        kern::embed_forward(pool, tokens, tensor(params_, "token_embd.weight"),
                            gpt2 ? tensor(params_, "position_embd.weight") : nullptr,
                            act_.resid.data(), M, T, C);
    }
    // Phase timers for the profile (no-ops without one); matmuls time themselves in linear().
    const auto pointwise = [&] { return PhaseTimer(prof_, Phase::FwdPointwise); };
    const kern::AttnShape as{B, T, H, G, D, QKV, QKV, QKV};
    for (int64_t l = 0; l < L; ++l) {
        const LayerParams p = layer(params_, l);
        float* x = act_.resid.data() + l * M * C;
        float* mid = act_.mid.data() + l * M * C;
        float* n1 = act_.norm1.data() + l * M * C;
        float* n2 = act_.norm2.data() + l * M * C;
        float* qkv = act_.qkv.data() + l * M * QKV;
        float* att = act_.att.data() + l * B * H * T * T;
        float* ao = act_.attn_out.data() + l * M * HD;
        float* fa = act_.ff_a.data() + l * M * F;
        float* fh = act_.ff_h.data() + l * M * F;
        float* out = x + M * C;  // resid[l + 1]
        // attention block: x → norm → qkv → (rope) → attention → o → + x
        if (auto timer = pointwise(); gpt2) {
            kern::layernorm_forward(pool, x, p.attn_norm, p.attn_norm_b, n1,
                                    act_.mean1.data() + l * M, act_.rstd1.data() + l * M, M, C,
                                    cfg_.norm_eps);
        } else {
            kern::rmsnorm_forward(pool, x, p.attn_norm, n1, act_.rstd1.data() + l * M, M, C,
                                  cfg_.norm_eps);
        }
        linear(pool, n1, p.wqkv, p.bqkv, qkv, M, C, QKV);
        {
            PhaseTimer timer(prof_, Phase::FwdAttention);
            if (!gpt2) {
                kern::rope_apply(pool, qkv, QKV, M, T, H, D, cfg_.rope_base, false);
                kern::rope_apply(pool, qkv + HD, QKV, M, T, G, D, cfg_.rope_base, false);
            }
            kern::attention_forward(pool, as, qkv, qkv + HD, qkv + HD + G * D, att, ao);
        }
        linear(pool, ao, p.wo, p.bo, tmp, M, HD, C);
        {
            auto timer = pointwise();
            kern::add(pool, x, tmp, mid, M * C);
        }
        // feed-forward block: mid → norm → (gate, up | up) → (swiglu | gelu) → down → + mid
        if (auto timer = pointwise(); gpt2) {
            kern::layernorm_forward(pool, mid, p.ffn_norm, p.ffn_norm_b, n2,
                                    act_.mean2.data() + l * M, act_.rstd2.data() + l * M, M, C,
                                    cfg_.norm_eps);
        } else {
            kern::rmsnorm_forward(pool, mid, p.ffn_norm, n2, act_.rstd2.data() + l * M, M, C,
                                  cfg_.norm_eps);
        }
        if (gpt2) {
            linear(pool, n2, p.w_up, p.b_up, fa, M, C, F);
            auto timer = pointwise();
            kern::gelu_forward(pool, fa, fh, M * F);
        } else {
            float* fb = act_.ff_b.data() + l * M * F;
            linear(pool, n2, p.w_gate, nullptr, fa, M, C, F);
            linear(pool, n2, p.w_up, nullptr, fb, M, C, F);
            auto timer = pointwise();
            kern::swiglu_forward(pool, fa, fb, fh, M * F);
        }
        linear(pool, fh, p.w_down, p.b_down, tmp, M, F, C);
        auto timer = pointwise();
        kern::add(pool, mid, tmp, out, M * C);
    }
    const float* xl = act_.resid.data() + L * M * C;
    if (auto timer = pointwise(); gpt2) {
        kern::layernorm_forward(pool, xl, tensor(params_, "output_norm.weight"),
                                tensor(params_, "output_norm.bias"), act_.normf.data(),
                                act_.meanf.data(), act_.rstdf.data(), M, C, cfg_.norm_eps);
    } else {
        kern::rmsnorm_forward(pool, xl, tensor(params_, "output_norm.weight"), act_.normf.data(),
                              act_.rstdf.data(), M, C, cfg_.norm_eps);
    }
    const float* w_out = tensor(params_, cfg_.tied_output ? "token_embd.weight" : "output.weight");
    linear(pool, act_.normf.data(), w_out, nullptr, act_.logits.data(), M, C, V);
    if (targets == nullptr) return 0.0f;
    PhaseTimer timer(prof_, Phase::CrossEntropy);
    return kern::cross_entropy_forward(pool, act_.logits.data(), targets, act_.losses.data(), M, V);
}

void TrainModel::backward(core::ThreadPool& pool, float loss_scale) {
    LYRA_CHECK(have_targets_, "backward() needs a forward() with targets");
    have_targets_ = false;
    // Frozen (adapter attached): grads_ is empty, so every tensor(grads_, …) below is null and the
    // kernels skip dW/db, the norms' dw/db and the embedding gradients.
    if (adapter_ == nullptr) grads();
    const int64_t B = B_, T = T_, M = B * T, C = cfg_.n_embd, V = cfg_.n_vocab, F = cfg_.n_ff;
    const int64_t L = cfg_.n_layer, H = cfg_.n_head, G = cfg_.n_head_kv, D = C / H, HD = H * D;
    const int64_t QKV = (H + 2 * G) * D;
    const bool gpt2 = cfg_.arch == model::Arch::Gpt2;
    auto zeroed = [&](std::vector<float>& v, int64_t n) {
        PhaseTimer timer(prof_, Phase::BwdScratch);
        kern::zero(pool, v.data(), n);
        return v.data();
    };
    const auto pointwise = [&] { return PhaseTimer(prof_, Phase::BwdPointwise); };
    float* dresid = zeroed(dresid_, M * C);

    // loss → logits → output head → final norm
    float* dlogits = act_.logits.data();
    {
        PhaseTimer timer(prof_, Phase::CrossEntropy);
        kern::cross_entropy_backward(pool, dlogits, act_.targets.data(), M, V, loss_scale);
    }
    const std::string out_name = cfg_.tied_output ? "token_embd.weight" : "output.weight";
    float* dnormf = zeroed(scratch_c_, M * C);
    linear_back(pool, dlogits, act_.normf.data(), tensor(params_, out_name), dnormf,
                tensor(grads_, out_name), nullptr, M, C, V);
    const float* xl = act_.resid.data() + L * M * C;
    if (auto timer = pointwise(); gpt2) {
        kern::layernorm_backward(pool, dnormf, xl, tensor(params_, "output_norm.weight"),
                                 act_.meanf.data(), act_.rstdf.data(), dresid,
                                 tensor(grads_, "output_norm.weight"),
                                 tensor(grads_, "output_norm.bias"), M, C);
    } else {
        kern::rmsnorm_backward(pool, dnormf, xl, tensor(params_, "output_norm.weight"),
                               act_.rstdf.data(), dresid, tensor(grads_, "output_norm.weight"), M,
                               C);
    }

    const kern::AttnShape as{B, T, H, G, D, QKV, QKV, QKV};
    for (int64_t l = L - 1; l >= 0; --l) {
        const LayerParams p = layer(params_, l);
        const LayerParams g = layer(grads_, l);
        const float* x = act_.resid.data() + l * M * C;
        const float* mid = act_.mid.data() + l * M * C;
        const float* n1 = act_.norm1.data() + l * M * C;
        const float* n2 = act_.norm2.data() + l * M * C;
        float* qkv = act_.qkv.data() + l * M * QKV;
        const float* att = act_.att.data() + l * B * H * T * T;
        const float* ao = act_.attn_out.data() + l * M * HD;
        const float* fa = act_.ff_a.data() + l * M * F;
        const float* fh = act_.ff_h.data() + l * M * F;

        // out = mid + down(h): the skip passes dresid through; dh from the down projection.
        float* dh = zeroed(scratch_t_, M * F);
        linear_back(pool, dresid, fh, p.w_down, dh, g.w_down, g.b_down, M, F, C);
        float* dn2 = zeroed(scratch_c_, M * C);
        if (gpt2) {
            float* dfa = scratch_b_.data();
            {
                auto timer = pointwise();
                kern::gelu_backward(pool, dh, fa, dfa, M * F);
            }
            linear_back(pool, dfa, n2, p.w_up, dn2, g.w_up, g.b_up, M, C, F);
            auto timer = pointwise();
            kern::layernorm_backward(pool, dn2, mid, p.ffn_norm, act_.mean2.data() + l * M,
                                     act_.rstd2.data() + l * M, dresid, g.ffn_norm, g.ffn_norm_b,
                                     M, C);
        } else {
            const float* fb = act_.ff_b.data() + l * M * F;
            float* dgate = scratch_b_.data();
            // dh is dead after swiglu_backward, so du reuses its buffer.
            float* du = dh;
            {
                auto timer = pointwise();
                kern::swiglu_backward(pool, dh, fa, fb, dgate, du, M * F);
            }
            linear_back(pool, dgate, n2, p.w_gate, dn2, g.w_gate, nullptr, M, C, F);
            linear_back(pool, du, n2, p.w_up, dn2, g.w_up, nullptr, M, C, F);
            auto timer = pointwise();
            kern::rmsnorm_backward(pool, dn2, mid, p.ffn_norm, act_.rstd2.data() + l * M, dresid,
                                   g.ffn_norm, M, C);
        }

        // mid = x + o(attn): dresid now holds d mid; the skip passes it on to dx.
        float* dao = zeroed(scratch_t_, M * HD);
        linear_back(pool, dresid, ao, p.wo, dao, g.wo, g.bo, M, HD, C);
        float* dqkv = zeroed(scratch_b_, M * QKV);
        {
            PhaseTimer timer(prof_, Phase::BwdAttention);
            std::vector<float> datt(static_cast<size_t>(pool.size() * T), 0.0f);
            kern::attention_backward(pool, as, dao, qkv, qkv + HD, qkv + HD + G * D, att, dqkv,
                                     dqkv + HD, dqkv + HD + G * D, datt.data());
            if (!gpt2) {
                kern::rope_apply(pool, dqkv, QKV, M, T, H, D, cfg_.rope_base, true);
                kern::rope_apply(pool, dqkv + HD, QKV, M, T, G, D, cfg_.rope_base, true);
            }
        }
        float* dn1 = zeroed(scratch_c_, M * C);
        linear_back(pool, dqkv, n1, p.wqkv, dn1, g.wqkv, g.bqkv, M, C, QKV);
        if (auto timer = pointwise(); gpt2) {
            kern::layernorm_backward(pool, dn1, x, p.attn_norm, act_.mean1.data() + l * M,
                                     act_.rstd1.data() + l * M, dresid, g.attn_norm,
                                     g.attn_norm_b, M, C);
        } else {
            kern::rmsnorm_backward(pool, dn1, x, p.attn_norm, act_.rstd1.data() + l * M, dresid,
                                   g.attn_norm, M, C);
        }
    }
    PhaseTimer timer(prof_, Phase::EmbedBackward);
    kern::embed_backward(pool, dresid, act_.tokens.data(), tensor(grads_, "token_embd.weight"),
                         gpt2 ? tensor(grads_, "position_embd.weight") : nullptr, M, T, C);
}

void load_weights(TrainModel& m, const model::GgufFile& f) { load_params(m.param_info(), m.params(), f); }

void load_params(const std::vector<ParamInfo>& info, std::span<float> params, const model::GgufFile& f) {
    for (const auto& p : info) {
        const model::GgufTensorInfo* t = f.find_tensor(p.name);
        if (t == nullptr)
            throw_error(ErrorKind::Corrupt, "model '{}': tensor '{}' is missing", f.path(), p.name);
        bool same = t->tensor.n_dims == static_cast<int>(p.shape.size());
        for (size_t i = 0; same && i < p.shape.size(); ++i) same = t->tensor.shape[i] == p.shape[i];
        if (!same)
            throw_error(ErrorKind::Corrupt, "model '{}': tensor '{}' has shape {}, expected {} elements",
                        f.path(), p.name, core::shape_string(t->tensor), p.numel);
        const core::DType dt = t->tensor.dtype;
        if (dt == core::DType::I8 || dt == core::DType::I16 || dt == core::DType::I32)
            throw_error(ErrorKind::Corrupt, "model '{}': tensor '{}' has integer type {}; expected "
                        "a float or quantized weight", f.path(), p.name, core::dtype_name(dt));
        // Quantized and half rows become F32 master weights here, once.
        float* dst = params.data() + p.offset;
        const int64_t cols = t->tensor.cols();
        for (int64_t r = 0; r < t->tensor.rows(); ++r)
            core::dequantize_row(t->tensor.dtype, t->tensor.row(r), dst + r * cols, cols);
    }
}

}  // namespace lyra::train
