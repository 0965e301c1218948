// Model inspection for `lyra model info`: loads a GGUF model (so every check of Model::load
// applies) and summarises it — architecture, shape, parameter count, weight types, file size,
// tokenizer and chat template. Throws whatever Model::load throws.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "model/encoder.h"
#include "model/model.h"

namespace lyra::model {

struct ModelInfo {
    std::string path;
    std::string name;                      // general.name, or empty
    uint64_t file_bytes = 0;
    HParams hparams;
    int64_t n_params = 0;
    std::map<std::string, int> tensor_types;  // dtype name -> number of tensors
    std::string tokenizer_kind;            // "llama" or "gpt2"
    int64_t tokenizer_vocab = 0;
    bool has_chat_template = false;
    std::string chat_family;               // "chatml", "llama3", "llama2", "mistral", "gemma",
                                           // "unknown"; empty when there is no template
};

ModelInfo inspect_model(const std::string& path);

// A LoRA adapter file (general.type "adapter", train/lora.h): what it adapts and from which base.
struct AdapterInfo {
    std::string path;
    std::string name;           // general.name
    std::string architecture;   // of the base
    std::string adapter_type;   // adapter.type ("lora")
    double alpha = 0;           // adapter.lora.alpha
    int64_t rank = 0;           // rows of the first .lora_a
    int64_t n_params = 0;
    std::map<std::string, int> targets;  // "attn_q", "ffn_up", ... -> layers adapted
    std::string base_name, base_sha256;  // general.base_model.0.*
    uint64_t file_bytes = 0;
};

// True when `path` is a GGUF whose general.type is "adapter" (Model::load refuses those).
bool is_adapter_file(const std::string& path);
// Throws Error(Corrupt) for an adapter without its keys or with tensors not named *.lora_a/b.
AdapterInfo inspect_adapter(const std::string& path);
std::string adapter_info_text(const AdapterInfo& info);
std::string adapter_info_json(const AdapterInfo& info);

// Human-readable lines, and one JSON object (no trailing newline).
std::string info_text(const ModelInfo& info);
std::string info_json(const ModelInfo& info);

// An encoder file (bert, roberta, albert; model/encoder.h), loaded with every check of
// EncoderModel::load.
struct EncoderInfo {
    std::string path;
    std::string name;                       // general.name, or empty
    uint64_t file_bytes = 0;
    EncoderHParams hparams;
    int64_t n_params = 0;
    std::map<std::string, int> tensor_types;
    std::string tokenizer_kind;             // tokenizer.ggml.model
    int64_t tokenizer_vocab = 0;
    std::string cls, sep, mask;             // the special tokens' text; mask empty when none
};

// True when `path` is a GGUF whose general.architecture is an encoder's.
bool is_encoder_file(const std::string& path);
EncoderInfo inspect_encoder(const std::string& path);
std::string encoder_info_text(const EncoderInfo& info);
std::string encoder_info_json(const EncoderInfo& info);

}  // namespace lyra::model
