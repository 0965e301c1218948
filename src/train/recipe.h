// Recipe: everything one training run needs, read from a TOML file (recipes/*.toml; keys are
// documented in docs/training.md). Unknown keys and impossible values throw
// lyra::Error(InvalidArgument) naming the key ("recipe 'x.toml': train.lr: ..."); a missing file
// is Error(NotFound), as is a missing [model] base; malformed TOML is Error(Corrupt) with its
// line; a base the trainer cannot train is Error(Unsupported).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/lora.h"
#include "train/train_model.h"

namespace lyra::train {

struct Recipe {
    std::string path;         // the recipe file ("" when parsed from a string)
    std::string text;         // the recipe's TOML, copied into the model card
    std::string name;         // general.name of the trained model (default: output file stem)
    std::string brief;        // what the model is for, which art form
    uint64_t seed = 1337;     // init, data split and batch sampling
    std::string output;       // the final GGUF path (+ .md card, .loss.csv, .loss.svg beside it)
    std::string work_dir;     // token shards and checkpoints; "" = OUTPUT.work
    std::string checkpoint_path() const { return work_dir + "/checkpoint.gguf"; }

    // [data]
    std::vector<std::string> data_files;  // paths or globs (relative to the working directory)
    double val_fraction = 0.1;            // share of documents held out for validation
    // Each document ends with the vocabulary's EOS (when it has one as a control token), so the
    // model learns where a work ends and generation stops there.
    bool eos_between_documents = true;

    // [tokenizer]: kind "char:N" (N most frequent characters + byte fallback; 0 = all), "bytes",
    // or "bpe:N" (byte-level BPE of N ids trained on the training split); or file = a GGUF
    // whose tokenizer is used as is (from `lyra tokenizer train` or any model).
    std::string tokenizer = "char:0";
    std::vector<std::string> tokenizer_specials;  // bpe: control tokens, the first is EOS
    std::string tokenizer_file;                   // "" = build from `tokenizer` (kind)
    // bpe: a pair of tokens seen fewer times than this in the training split is never merged
    // (tokenizer.min_count, ≥ 1; the BPE trainer's and `lyra tokenizer train --min-count`'s default).
    int64_t tokenizer_min_count = 2;

    // [model]: arch and size keys, or base = a GGUF to fine-tune, whose shape, weights and
    // tokenizer are taken (then no [tokenizer] table and no size keys; context ≤ its n_ctx).
    TrainConfig model;  // n_vocab from the tokenizer; n_ctx from train.context (base: the base's)
    std::string base_model;  // "" = train from scratch

    // [lora] (needs [model] base): train a LoRA adapter on the frozen base; output is the
    // adapter file.
    bool lora = false;
    LoraConfig lora_config;

    // [train]
    int64_t batch = 8;            // sequences per micro-batch
    int64_t grad_accum = 1;       // micro-batches per optimizer step
    int64_t context = 128;        // tokens per sequence (T)
    int64_t steps = 1000;         // optimizer steps
    float lr = 1e-3f;             // peak learning rate
    float min_lr = 1e-4f;         // cosine floor
    int64_t warmup = 100;         // linear warmup steps
    float weight_decay = 0.1f;    // AdamW decoupled decay (2-D weights only unless decay_all)
    bool decay_all = false;
    float beta1 = 0.9f, beta2 = 0.95f;
    float grad_clip = 1.0f;       // global L2 norm; 0 disables
    int64_t eval_interval = 100;  // steps between validation evals (0 = only at the end)
    int64_t eval_iters = 10;      // validation batches per eval
    int64_t checkpoint_interval = 0;  // steps between checkpoints (0 = none)
    int64_t log_interval = 10;    // steps between progress lines
    int threads = 0;              // 0 = all hardware threads (the CLI's --threads overrides)

    // [sample]: text generated for the model card
    std::string sample_prompt = "";
    int64_t sample_tokens = 200;
};

Recipe parse_recipe_file(const std::string& path);
Recipe parse_recipe_string(const std::string& toml_text, const std::string& label = "<string>");

}  // namespace lyra::train
