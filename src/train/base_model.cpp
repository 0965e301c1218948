// Base models for fine-tuning (see base_model.h).
#include "train/base_model.h"

#include <filesystem>

#include "core/error.h"

namespace lyra::train {

namespace {

[[noreturn]] void cannot_train(const std::string& path, const std::string& what) {
    throw_error(ErrorKind::Unsupported, "base model '{}': {}; the trainer trains llama (RMSNorm, "
                "interleaved RoPE, SwiGLU) and gpt2", path, what);
}

}  // namespace

BaseModel open_base_model(const std::string& path) {
    if (!std::filesystem::is_regular_file(path))
        throw_error(ErrorKind::NotFound, "base model '{}': no such file; expected a GGUF model", path);
    BaseModel b;
    b.path = path;
    b.model = model::Model::load(path);
    const model::HParams& hp = b.model->hparams();
    if (hp.arch != model::Arch::Llama && hp.arch != model::Arch::Gpt2)
        cannot_train(path, fmt::format("architecture '{}' cannot be trained", model::arch_name(hp.arch)));
    if (hp.head_dim * hp.n_head != hp.n_embd)
        cannot_train(path, fmt::format("head dimension {} × {} heads differs from the width {}",
                                       hp.head_dim, hp.n_head, hp.n_embd));
    if (hp.arch == model::Arch::Llama &&
        (hp.rope.n_rot != hp.head_dim || hp.rope.freq_scale != 1.0f))
        cannot_train(path, "partial or scaled RoPE cannot be trained");
    TrainConfig& c = b.config;
    c.arch = hp.arch;
    c.n_vocab = hp.n_vocab;
    c.n_ctx = hp.n_ctx;
    c.n_embd = hp.n_embd;
    c.n_layer = hp.n_layer;
    c.n_head = hp.n_head;
    c.n_head_kv = hp.n_head_kv;
    c.n_ff = hp.n_ff;
    c.norm_eps = hp.norm_eps;
    c.rope_base = hp.arch == model::Arch::Llama ? hp.rope.freq_base : 10000.0f;
    c.tied_output = b.model->gguf().find_tensor("output.weight") == nullptr;
    c.validate();
    b.name = b.model->gguf().get_string("general.name")
                 .value_or(std::filesystem::path(path).stem().string());
    return b;
}

void add_base_metadata(model::GgufWriter& w, const model::GgufFile& base, const std::string& base_name,
                       const std::string& base_sha256) {
    for (const auto& [key, value] : base.metadata()) {
        if (key == "general.file_type" || key == "general.quantization_version" ||
            key == "general.alignment" || key.starts_with("general.base_model."))
            continue;
        w.set(key, value);
    }
    w.set_u32("general.base_model.count", 1);
    w.set_string("general.base_model.0.name", base_name);
    w.set_string("general.base_model.0.sha256", base_sha256);
}

}  // namespace lyra::train
