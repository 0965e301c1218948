// What a training run leaves for people: the loss curve as CSV and as an SVG plot, and the
// model card (markdown). Pure functions from numbers to text; never throw.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/data.h"
#include "train/recipe.h"

namespace lyra::train {

// "step,train_loss,lr,val_loss" rows; val_loss empty where no eval ran. Steps count from 1.
std::string loss_csv(const std::vector<float>& train, const std::vector<float>& lr,
                     const std::vector<int64_t>& eval_steps, const std::vector<float>& eval_losses);

// An 800×400 SVG: training loss (blue line) and validation loss (orange points) against step.
std::string loss_svg(const std::vector<float>& train, const std::vector<int64_t>& eval_steps,
                     const std::vector<float>& eval_losses, const std::string& title);

struct CardInfo {
    const Recipe* recipe = nullptr;
    const CorpusSplit* corpus = nullptr;
    int64_t n_train_tokens = 0, n_val_tokens = 0, n_vocab = 0, n_params = 0;
    const TrainConfig* config = nullptr;
    const std::vector<float>* train_losses = nullptr;
    const std::vector<int64_t>* eval_steps = nullptr;
    const std::vector<float>* eval_losses = nullptr;
    std::string sample, csv_name, svg_name;
    std::string base_name, base_sha256;  // fine-tuning: the base model ("" = from scratch)
    const LoraConfig* lora = nullptr;     // LoRA: the adapter's settings (null = full training)
};
std::string model_card(const CardInfo& c);

// Mean of the last n values (all when fewer).
float tail_mean(const std::vector<float>& v, size_t n);

}  // namespace lyra::train
