// TrainModel: a trainable llama or gpt2 Transformer with F32 master weights in one flat buffer,
// a matching flat gradient buffer (allocated at first use, and never while an adapter keeps the
// weights frozen), and the activations one forward saves for its backward.
// Parameters carry their GGUF tensor names (token_embd.weight, blk.0.attn_q.weight, …) so the
// trained model is written as a standard GGUF that model::Model::load reads.
// Not thread-safe; kernels run on the ThreadPool passed in. Bad configs are Error(InvalidArgument).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"
#include "train/profile.h"

namespace lyra::train {

struct TrainConfig {
    model::Arch arch = model::Arch::Llama;  // Llama or Gpt2
    int64_t n_vocab = 0;
    int64_t n_ctx = 0;      // longest training window (gpt2: rows of position_embd)
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;  // 0 = n_head (llama only; gpt2 has n_head_kv == n_head)
    int64_t n_ff = 0;       // 0 = 4·n_embd (gpt2) or a SwiGLU-sized default (llama)
    float norm_eps = 1e-5f;
    float rope_base = 10000.0f;
    bool tied_output = false;  // output head shares token_embd.weight

    // Fills the 0 defaults and throws Error(InvalidArgument) naming the impossible field.
    void validate();
};

class LoraAdapter;

struct ParamInfo {
    std::string name;            // GGUF tensor name
    std::vector<int64_t> shape;  // PyTorch order ([out, in] for weights)
    size_t offset = 0;           // into params()/grads(), in floats
    size_t numel = 0;
    bool is_matrix = false;      // 2-D weight other than an embedding: the weight-decay group
};

class TrainModel {
public:
    explicit TrainModel(TrainConfig cfg);
    TrainModel(const TrainModel&) = delete;
    TrainModel& operator=(const TrainModel&) = delete;

    const TrainConfig& config() const { return cfg_; }
    const std::vector<ParamInfo>& param_info() const { return info_; }
    const ParamInfo* find_param(std::string_view name) const;
    std::span<float> params() { return params_; }
    std::span<const float> params() const { return params_; }
    // Gradients in the layout of params(); empty while an adapter is attached (a frozen base has
    // no gradient storage at all).
    std::span<float> grads();
    // Bytes the gradient buffer holds now (0 while frozen).
    size_t grad_bytes() const { return grads_.capacity() * sizeof(float); }

    // GPT-2-style init: N(0, 0.02) weights, residual projections scaled by 1/sqrt(2·n_layer),
    // norm weights 1, biases 0. Same seed ⇒ same weights.
    void init_random(uint64_t seed);

    // Runs tokens[B, T] forward. With targets (B·T ids; < 0 = ignore) returns the mean
    // cross-entropy and keeps what backward() needs; without, returns 0 and leaves logits().
    float forward(core::ThreadPool& pool, const int32_t* tokens, const int32_t* targets,
                  int64_t B, int64_t T);
    // Logits [B·T, V] of the last forward (valid until backward()).
    const float* logits() const { return act_.logits.data(); }
    void zero_grad(core::ThreadPool& pool);
    // Accumulates d(loss · loss_scale)/dθ into grads() for the last forward with targets. With
    // an adapter, every base weight is frozen: only the activation gradients flow back through
    // them (dx = dy·W), no dW is formed, and the adapter's gradients accumulate instead.
    void backward(core::ThreadPool& pool, float loss_scale = 1.0f);

    // Routes every block matmul through `a` (LoRA) from now on and freezes the base, releasing
    // its gradient buffer; null detaches (gradients come back, zeroed, at the next use). Not owned.
    void set_adapter(LoraAdapter* a);

    // Times forward/backward phases into p from now on (null: no timing). Not owned.
    void set_profile(StepProfile* p) { prof_ = p; }

private:
    struct LayerParams {
        // llama: attn_norm, q, k, v, o, ffn_norm, gate, up, down.
        // gpt2: ln1 w/b, qkv w/b, o w/b, ln2 w/b, fc (up) w/b, proj (down) w/b.
        float *attn_norm, *attn_norm_b, *wq, *wk, *wv, *wqkv, *bqkv, *wo, *bo;
        float *ffn_norm, *ffn_norm_b, *w_gate, *w_up, *b_up, *w_down, *b_down;
    };
    struct Activations {
        std::vector<float> resid;      // [L+1, M, C]: input of each layer, then the final output
        std::vector<float> mid;        // [L, M, C]: after attention's residual add
        std::vector<float> norm1, norm2;                  // [L, M, C]
        std::vector<float> mean1, rstd1, mean2, rstd2;    // [L, M]
        std::vector<float> qkv;        // [L, M, QKV]: q | k | v per row (rope applied)
        std::vector<float> att;        // [L, B, H, T, T]
        std::vector<float> attn_out;   // [L, M, H·D]
        std::vector<float> ff_a, ff_b, ff_h;  // [L, M, F]: llama gate, up, h; gpt2 pre-gelu, -, h
        std::vector<float> normf, meanf, rstdf;           // [M, C], [M], [M]
        std::vector<float> logits;     // [M, V]
        std::vector<float> losses;     // [M]
        std::vector<int32_t> tokens, targets;
    };
    void add_param(const std::string& name, std::vector<int64_t> shape, bool is_matrix);
    LayerParams layer(std::vector<float>& buf, int64_t l);
    // The tensor's start in buf; null when buf is empty (a frozen model's grads_) or no such tensor.
    float* tensor(std::vector<float>& buf, const std::string& name);
    void ensure_buffers(int64_t B, int64_t T);
    // kern::linear_forward/backward plus the adapter's update when one is attached.
    void linear(core::ThreadPool& pool, const float* x, const float* w, const float* b, float* y,
                int64_t M, int64_t K, int64_t N);
    void linear_back(core::ThreadPool& pool, const float* dy, const float* x, const float* w,
                     float* dx, float* dw, float* db, int64_t M, int64_t K, int64_t N);

    TrainConfig cfg_;
    std::vector<ParamInfo> info_;
    std::vector<float> params_, grads_;
    Activations act_;
    std::vector<float> scratch_a_, scratch_b_, scratch_c_, scratch_t_;
    std::vector<float> dresid_;  // [M, C]: the residual stream's gradient in backward()
    int64_t B_ = 0, T_ = 0;
    bool have_targets_ = false;
    LoraAdapter* adapter_ = nullptr;
    StepProfile* prof_ = nullptr;
};

// Sets m's weights to the tensors of the same GGUF names in f (a checkpoint or a base model),
// converted to F32 (quantized and half types dequantized). Throws Error(Corrupt) naming a missing
// tensor or a shape that disagrees.
void load_weights(TrainModel& m, const model::GgufFile& f);
// The same for any parameter list (a LoRA adapter's).
void load_params(const std::vector<ParamInfo>& info, std::span<float> params, const model::GgufFile& f);

}  // namespace lyra::train
