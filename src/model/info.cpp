#include "model/info.h"

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/chat_template.h"

namespace lyra::model {

ModelInfo inspect_model(const std::string& path) {
    const auto model = Model::load(path);
    ModelInfo info;
    info.path = path;
    info.name = model->gguf().get_string("general.name").value_or("");
    info.file_bytes = std::filesystem::file_size(path);
    info.hparams = model->hparams();
    info.n_params = model->n_params();
    for (const auto& t : model->gguf().tensors())
        ++info.tensor_types[std::string(core::dtype_name(t.tensor.dtype))];
    info.tokenizer_kind = model->tokenizer().kind();
    info.tokenizer_vocab = model->tokenizer().n_vocab();
    const auto tmpl = model->chat_template();
    info.has_chat_template = tmpl.has_value() && !tmpl->empty();
    if (info.has_chat_template) {
        const ChatFormat f = detect_chat_format(*tmpl);
        info.chat_family = f.recognised ? chat_family_name(f.family) : "unknown";
    }
    return info;
}

std::string info_text(const ModelInfo& i) {
    const HParams& h = i.hparams;
    std::string types;
    for (const auto& [name, n] : i.tensor_types) types += fmt::format("{}{} x{}", types.empty() ? "" : ", ", name, n);
    std::string s;
    s += fmt::format("file:          {} ({:.2f} MiB)\n", i.path, static_cast<double>(i.file_bytes) / 1048576.0);
    if (!i.name.empty()) s += fmt::format("name:          {}\n", i.name);
    s += fmt::format("architecture:  {}\n", arch_name(h.arch));
    s += fmt::format("shape:         dim {}, layers {}, heads {} (kv {}), head dim {}, ffn {}, ctx {}, vocab {}\n",
                     h.n_embd, h.n_layer, h.n_head, h.n_head_kv, h.head_dim, h.n_ff, h.n_ctx, h.n_vocab);
    if (!has_learned_positions(h.arch))
        s += fmt::format("rope:          {} dims, base {}, scale {}{}\n", h.rope.n_rot,
                         static_cast<double>(h.rope.freq_base), static_cast<double>(h.rope.freq_scale),
                         h.rope.freq_factors ? ", per-frequency factors" : "");
    if (!h.local_layers.empty()) {
        std::string pattern;
        for (bool local : h.local_layers) pattern += local ? " L" : " G";
        s += fmt::format("attention:     layers{} (G global, L local: last {} positions)\n", pattern,
                         h.sliding_window);
    }
    s += fmt::format("parameters:    {} ({:.2f} M)\n", i.n_params, static_cast<double>(i.n_params) / 1e6);
    s += fmt::format("output head:   {}\n", h.tied_output ? "tied to token_embd" : "separate");
    s += fmt::format("weight types:  {}\n", types);
    s += fmt::format("tokenizer:     {}, {} tokens\n", i.tokenizer_kind, i.tokenizer_vocab);
    s += fmt::format("chat template: {}\n", i.has_chat_template ? i.chat_family : "none");
    return s;
}

std::string info_json(const ModelInfo& i) {
    const HParams& h = i.hparams;
    nlohmann::json j;
    j["path"] = i.path;
    j["name"] = i.name;
    j["file_bytes"] = i.file_bytes;
    j["architecture"] = arch_name(h.arch);
    j["n_vocab"] = h.n_vocab;
    j["n_ctx"] = h.n_ctx;
    j["n_embd"] = h.n_embd;
    j["n_layer"] = h.n_layer;
    j["n_head"] = h.n_head;
    j["n_head_kv"] = h.n_head_kv;
    j["head_dim"] = h.head_dim;
    j["n_ff"] = h.n_ff;
    j["norm_eps"] = h.norm_eps;
    if (!h.local_layers.empty()) {
        j["sliding_window"] = h.sliding_window;
        j["local_layers"] = h.local_layers;
    }
    if (!has_learned_positions(h.arch)) {
        j["rope"] = {{"n_rot", h.rope.n_rot}, {"freq_base", h.rope.freq_base},
                     {"freq_scale", h.rope.freq_scale}, {"freq_factors", h.rope.freq_factors != nullptr}};
    }
    j["tied_output"] = h.tied_output;
    j["n_params"] = i.n_params;
    j["tensor_types"] = i.tensor_types;
    j["tokenizer"] = {{"kind", i.tokenizer_kind}, {"n_vocab", i.tokenizer_vocab}};
    j["chat_template"] = i.has_chat_template ? nlohmann::json(i.chat_family) : nlohmann::json(nullptr);
    return j.dump();
}

}  // namespace lyra::model
