// Trainer: one training run from a Recipe — data → tokenizer → shards → model → steps with
// evals, checkpoints and a progress line → the final GGUF, loss curve (CSV + SVG) and model
// card. Trainer::step() is the training step, readable top to bottom.
// Checkpoints (WORK_DIR/checkpoint.gguf, the previous good one kept as .prev) hold the model, AdamW
// moments, the step, the batch sampler's draw count and the loss history, so --resume
// continues bit for bit. With [lora], the base stays frozen and only the adapter is trained,
// checkpointed and written (a GGUF adapter file). Files are written atomically. Throws lyra::Error on bad input.
// Not thread-safe; the Trainer owns its ThreadPool.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/format/gguf.h"
#include "train/base_model.h"
#include "train/data.h"
#include "train/lora.h"
#include "train/optimizer.h"
#include "train/profile.h"
#include "train/recipe.h"
#include "train/train_model.h"

namespace lyra::train {

struct TrainOptions {
    int threads = 0;          // 0: the recipe's threads, else all hardware threads
    bool resume = false;      // continue from the last checkpoint (or .prev) when one exists
    int64_t stop_after = 0;   // stop after this many total steps as if interrupted (0 = run all)
    bool profile = false;     // time each step's phases; run() logs the table (train/profile.h)
    std::function<void(const std::string&)> log;  // progress lines; null = stderr
};

struct TrainReport {
    std::vector<float> train_losses;  // one per step, from step 0 (also those before a resume)
    std::vector<int64_t> eval_steps;  // steps after which validation ran
    std::vector<float> eval_losses;
    int64_t steps_done = 0;
    int64_t n_params = 0;
    bool resumed = false;
    bool finished = false;            // all recipe steps done and the final model written
    std::string model_path, card_path, csv_path, svg_path, sample;
};

// Adds a trained model's hyperparameters, tokenizer (unless null: already in w) and F32 tensors
// (standard GGUF names).
void add_model_to_gguf(model::GgufWriter& w, const TrainModel& m, const model::Tokenizer* tok,
                       const std::string& name);

// Samples n tokens after `prompt` with the training model (temperature, seeded).
std::string sample_text(TrainModel& m, const model::Tokenizer& tok, core::ThreadPool& pool,
                        const std::string& prompt, int64_t n, float temperature, uint64_t seed);

class Trainer {
public:
    Trainer(Recipe recipe, TrainOptions opt);
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    // Runs to the recipe's end (or opt.stop_after) and writes the outputs.
    TrainReport run();

    // One optimizer step (grad_accum micro-batches); returns the mean training loss.
    float step();
    // Mean loss over eval_iters fixed validation batches.
    float evaluate();
    void save_checkpoint();
    // Loads the newest usable checkpoint (falling back to the previous); false when none.
    bool load_checkpoint();

    // Bytes of training state beside the weights: parameter gradients (model and adapter) plus
    // optimizer moments. With LoRA only the adapter's: the frozen base has neither.
    size_t state_bytes() const;

    // The phase times of the steps run so far (all zero unless opt.profile).
    const StepProfile& profile() const { return profile_; }

    TrainModel& model() { return *model_; }
    const model::Tokenizer& tokenizer() const { return *tok_; }
    // The tokens and targets of the last batch step() or evaluate() drew ([batch, context]).
    const std::vector<int32_t>& last_tokens() const { return tokens_; }
    const std::vector<int32_t>& last_targets() const { return targets_; }

private:
    void prepare_data();
    void write_outputs(TrainReport& rep);
    void log(const std::string& line) const;
    // The model plus the base's metadata if any; with LoRA, the adapter alone.
    void add_model(model::GgufWriter& w) const;
    // What the optimizer updates: the model's weights, or (LoRA) only the adapter's.
    const std::vector<ParamInfo>& trained_info() const;
    std::span<float> trained_params();
    std::span<float> trained_grads();

    Recipe r_;
    TrainOptions opt_;
    std::unique_ptr<core::ThreadPool> pool_;
    std::unique_ptr<BaseModel> base_;  // [model] base, when fine-tuning
    std::string base_sha256_;
    std::unique_ptr<model::Tokenizer> tok_;
    std::unique_ptr<TrainModel> model_;
    std::unique_ptr<LoraAdapter> lora_;  // [lora]: trained on the frozen model_
    std::unique_ptr<AdamW> adam_;
    LrSchedule sched_;
    std::unique_ptr<TokenShard> train_shard_, val_shard_;
    std::unique_ptr<BatchSampler> sampler_;
    CorpusSplit corpus_info_;  // text fields cleared after encoding
    int64_t n_train_tokens_ = 0, n_val_tokens_ = 0;
    int64_t step_ = 0;
    float last_lr_ = 0.0f;
    std::vector<float> train_losses_;
    std::vector<int64_t> eval_steps_;
    std::vector<float> eval_losses_;
    std::vector<int32_t> tokens_, targets_;
    StepProfile profile_;
};

}  // namespace lyra::train
