// LoRA (Hu et al. 2021, arXiv:2106.09685): each adapted base weight W [N, K] stays frozen and gets
// a trainable low-rank update, y = x·Wᵀ + (alpha/rank)·(dropout(x)·Aᵀ)·Bᵀ with A [rank, K] and
// B [N, rank]. B starts at zero, so the adapted model starts as the base; A starts uniform in
// ±1/sqrt(K) (PEFT's default). Adapter files are GGUF with llama.cpp's layout: general.type =
// "adapter", adapter.type = "lora", adapter.lora.alpha, tensors "<base weight>.lora_a" / ".lora_b"
// (docs/training.md "LoRA"). Applying one to a model merges W + scale·(alpha/rank)·B·A in F32.
// Not thread-safe; kernels run on the pool passed in. Bad targets are Error(InvalidArgument); bad
// adapter files are Error(Corrupt/Unsupported/NotFound) naming the file and the defect.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "model/format/gguf.h"
#include "model/model.h"
#include "train/train_model.h"

namespace lyra::train {

struct LoraConfig {
    int64_t rank = 8;
    float alpha = 16.0f;   // the update is scaled by alpha / rank
    float dropout = 0.0f;  // on the update's input, training forwards only
    // Names of block weights (blk.N.<target>.weight); empty = the attention matrices
    // (llama: attn_q, attn_k, attn_v, attn_output; gpt2: attn_qkv, attn_output).
    std::vector<std::string> targets;
};

class LoraAdapter {
public:
    // Adapts every blk.N.<target>.weight of `model` (which must outlive the adapter). Throws
    // Error(InvalidArgument) naming a target no layer has, with the ones it has.
    LoraAdapter(const TrainModel& model, LoraConfig cfg);
    LoraAdapter(const LoraAdapter&) = delete;
    LoraAdapter& operator=(const LoraAdapter&) = delete;

    const LoraConfig& config() const { return cfg_; }
    float scale() const { return cfg_.alpha / static_cast<float>(cfg_.rank); }
    // A and B of every adapted weight, named "<weight>.lora_a" [rank, K], ".lora_b" [N, rank].
    const std::vector<ParamInfo>& param_info() const { return info_; }
    std::span<float> params() { return params_; }
    std::span<const float> params() const { return params_; }
    std::span<float> grads() { return grads_; }
    size_t grad_bytes() const { return grads_.capacity() * sizeof(float); }
    void init_random(uint64_t seed);
    void zero_grad();
    // Dropout masks for the next training forwards come from `seed`; evaluation runs without.
    void set_training(bool on, uint64_t seed);

    // After y[M, N] = x[M, K]·wᵀ: adds the update of every adapted weight whose rows lie inside
    // w (llama's q, k and v run as one matmul) to its columns of y, saving what backward needs.
    void forward(core::ThreadPool& pool, const float* w, const float* x, float* y, int64_t M,
                 int64_t K, int64_t N);
    // The matching backward: dA, dB accumulate; dx[M, K] += the update's part.
    void backward(core::ThreadPool& pool, const float* w, const float* x, const float* dy,
                  float* dx, int64_t M, int64_t K, int64_t N);

private:
    struct Target {
        const float* w;       // the frozen base weight [N, K] inside the model
        int64_t N, K;
        size_t a, b;          // offsets of A and B in params_/grads_
        std::vector<float> h;         // [M, rank] = dropout(x)·Aᵀ of the last forward
        std::vector<float> xd;        // [M, K] dropout(x) (dropout > 0 only)
        std::vector<uint8_t> keep;    // [M, K] dropout mask
    };
    const float* input(Target& t, const float* x, int64_t M);

    LoraConfig cfg_;
    std::vector<ParamInfo> info_;
    std::vector<float> params_, grads_;
    std::vector<Target> targets_;
    bool training_ = false;
    core::Rng rng_{0};
    std::vector<float> delta_, dy_, dh_, dx_, scratch_;
};

// The adapter as a GGUF adapter file: general.architecture of the base, general.type "adapter",
// adapter.type "lora", adapter.lora.alpha, general.name, the base's name/sha256 as
// general.base_model.0.*, and the F32 A/B tensors.
void add_lora_adapter(model::GgufWriter& w, const LoraAdapter& a, model::Arch arch,
                      const std::string& name, const std::string& base_name,
                      const std::string& base_sha256);

// An adapter file checked against a base: every tensor is "<base weight>.lora_a/.lora_b" of a 2-D
// base weight, in pairs of one rank with shapes [rank, K] and [N, rank].
struct LoraFile {
    std::unique_ptr<model::GgufFile> gguf;
    struct Pair {
        std::string weight;  // base tensor name
        const core::Tensor* a;
        const core::Tensor* b;
    };
    std::vector<Pair> pairs;
    float alpha = 0.0f;
};
LoraFile read_lora_adapter(const std::string& path, const model::GgufFile& base);

// Writes base + scale·(alpha/rank)·B·A for every adapted weight (as F32; other tensors and all
// metadata copied unchanged) to `out` atomically. Returns the number of merged weights.
int merge_lora(const std::string& base_path, const std::string& adapter_path, float scale,
               const std::string& out);

// Loads base with the adapter merged in (through a private temporary file, unlinked once mapped).
std::unique_ptr<model::Model> load_model_with_lora(const std::string& base_path,
                                                    const std::string& adapter_path, float scale);

}  // namespace lyra::train
