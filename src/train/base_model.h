// A base GGUF to fine-tune (issue 3): the trainable shape it implies, its weights copied into a
// TrainModel's F32 master weights (quantized and half types dequantized once), and what a
// fine-tuned file keeps of it (tokenizer, metadata, provenance).
// Throws lyra::Error: NotFound for a missing file; Unsupported naming an architecture or feature
// the trainer cannot train (and what it can); Corrupt from the GGUF and model loaders.
#pragma once

#include <memory>
#include <string>

#include "model/format/gguf.h"
#include "model/model.h"
#include "train/train_model.h"

namespace lyra::train {

struct BaseModel {
    std::string path;
    std::unique_ptr<model::Model> model;  // checked by the inference loader; weights stay mapped
    TrainConfig config;                   // the base's shape; n_ctx = its context length
    std::string name;                     // general.name (the file stem when absent)
};

// Opens and checks a base model for training.
BaseModel open_base_model(const std::string& path);

// Adds the base's metadata (tokenizer included) except what describes the tensors' storage
// (general.file_type, general.quantization_version, general.alignment), then records it as the
// base model: general.base_model.count = 1, general.base_model.0.name and .0.sha256.
void add_base_metadata(model::GgufWriter& w, const model::GgufFile& base, const std::string& base_name,
                       const std::string& base_sha256);

}  // namespace lyra::train
