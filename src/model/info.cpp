#include "model/info.h"

#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/chat_template.h"
#include "model/format/gguf.h"

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
    const bool xl = h.arch == Arch::TransfoXl;
    if (xl)
        s += fmt::format("memory:        {} positions{}, clamp {}, {}-norm; relative positions\n",
                         h.txl.mem_len, h.txl.same_length ? " (same_length)" : "", h.txl.clamp_len,
                         h.txl.pre_norm ? "pre" : "post");
    if (xl)
        s += fmt::format("adaptive:      cutoffs [{}], div_val {}, embedding {}\n",
                         fmt::join(h.txl.cutoffs, ", "), h.txl.div_val, h.txl.d_embed);
    if (h.arch == Arch::Xlnet)
        s += fmt::format("two-stream:    factorization {}, memory {} positions{}, clamp {}, ffn "
                         "{}; relative positions\n",
                         h.xlnet.causal ? "causal (cached content stream, slides)"
                                        : "bidirectional (recomputed each token)",
                         h.xlnet.mem_len, h.xlnet.causal ? "" : " (unused)", h.xlnet.clamp_len,
                         h.xlnet.ffn_act);
    if (h.arch == Arch::T5)
        s += fmt::format("encoder:       {} layers (the layers above are the decoder's), ffn {}, "
                         "relative buckets {} (max distance {}), decoder start token {}\n",
                         h.n_layer_enc, h.gated_ffn ? "gated-gelu" : "relu", h.rel_buckets,
                         h.rel_max_distance, h.decoder_start_token);
    if (has_rope(h.arch))
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
    s += fmt::format("output head:   {}{}\n", xl ? "adaptive softmax, " : "",
                     h.tied_output ? "tied to token_embd" : "separate");
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
    if (h.arch == Arch::TransfoXl) {
        j["memory_length"] = h.txl.mem_len;
        j["clamp_length"] = h.txl.clamp_len;
        j["same_length"] = h.txl.same_length;
        j["pre_layer_norm"] = h.txl.pre_norm;
        j["adaptive"] = {{"cutoffs", h.txl.cutoffs}, {"div_val", h.txl.div_val}, {"embedding_length", h.txl.d_embed}};
    }
    if (h.arch == Arch::Xlnet) {
        j["factorization"] = h.xlnet.causal ? "causal" : "bidirectional";
        j["memory_length"] = h.xlnet.mem_len;
        j["clamp_length"] = h.xlnet.clamp_len;
        j["hidden_act"] = h.xlnet.ffn_act;
    }
    if (h.arch == Arch::T5) {
        j["encoder"] = {{"n_layer", h.n_layer_enc}, {"ffn", h.gated_ffn ? "gated-gelu" : "relu"},
                        {"relative_buckets", h.rel_buckets},
                        {"relative_max_distance", h.rel_max_distance},
                        {"decoder_start_token", h.decoder_start_token}};
    }
    if (has_rope(h.arch)) {
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

bool is_encoder_file(const std::string& path) {
    return is_encoder_arch(GgufFile::open(path)->get_string("general.architecture").value_or(""));
}

EncoderInfo inspect_encoder(const std::string& path) {
    const auto m = EncoderModel::load(path);
    EncoderInfo info;
    info.path = path;
    info.name = m->gguf().get_string("general.name").value_or("");
    info.file_bytes = std::filesystem::file_size(path);
    info.hparams = m->hparams();
    info.n_params = m->n_params();
    for (const auto& t : m->gguf().tensors()) ++info.tensor_types[std::string(core::dtype_name(t.tensor.dtype))];
    info.tokenizer_kind = m->tokenizer().kind();
    info.tokenizer_vocab = m->tokenizer().n_vocab();
    info.cls = m->tokenizer().token_text(m->cls());
    info.sep = m->tokenizer().token_text(m->sep());
    if (m->mask() >= 0) info.mask = m->tokenizer().token_text(m->mask());
    return info;
}

namespace {
const char* act_name(EncoderAct a) {
    switch (a) {
        case EncoderAct::Gelu: return "gelu";
        case EncoderAct::GeluTanh: return "gelu_new";
        case EncoderAct::Relu: return "relu";
    }
    return "?";
}
}  // namespace

std::string encoder_info_text(const EncoderInfo& i) {
    const EncoderHParams& h = i.hparams;
    std::string types;
    for (const auto& [name, n] : i.tensor_types) types += fmt::format("{}{} x{}", types.empty() ? "" : ", ", name, n);
    std::string heads;
    if (h.has_mlm_head) heads += "masked LM";
    if (h.has_pooler) heads += heads.empty() ? "pooler" : " + pooler";
    std::string s;
    s += fmt::format("file:          {} ({:.2f} MiB)\n", i.path, static_cast<double>(i.file_bytes) / 1048576.0);
    if (!i.name.empty()) s += fmt::format("name:          {}\n", i.name);
    s += fmt::format("architecture:  {} (encoder, bidirectional)\n", encoder_arch_name(h.arch));
    s += fmt::format("shape:         dim {}, layers {}, heads {}, head dim {}, ffn {}, positions {}, vocab {}\n",
                     h.n_embd, h.n_layer, h.n_head, h.head_dim, h.n_ff, h.n_ctx, h.n_vocab);
    if (h.arch == EncoderArch::Albert)
        s += fmt::format("albert:        embeddings {} -> {}, {} layer weight set(s) shared by {} layers\n",
                         h.n_embd_tok, h.n_embd, h.n_group, h.n_layer);
    s += fmt::format("activation:    {}\n", act_name(h.act));
    s += fmt::format("heads:         {}\n", heads.empty() ? "none (hidden states and embeddings only)" : heads);
    s += fmt::format("parameters:    {} ({:.2f} M)\n", i.n_params, static_cast<double>(i.n_params) / 1e6);
    s += fmt::format("weight types:  {}\n", types);
    s += fmt::format("tokenizer:     {}, {} tokens; cls {}, sep {}, mask {}\n", i.tokenizer_kind,
                     i.tokenizer_vocab, i.cls, i.sep, i.mask.empty() ? "none" : i.mask);
    s += "use:           lyra model fill -m FILE TEXT, lyra model embed -m FILE TEXT...\n";
    return s;
}

std::string encoder_info_json(const EncoderInfo& i) {
    const EncoderHParams& h = i.hparams;
    nlohmann::json j;
    j["path"] = i.path;
    j["name"] = i.name;
    j["file_bytes"] = i.file_bytes;
    j["architecture"] = encoder_arch_name(h.arch);
    j["type"] = "encoder";
    j["n_vocab"] = h.n_vocab;
    j["n_ctx"] = h.n_ctx;
    j["n_embd"] = h.n_embd;
    j["n_embd_tok"] = h.n_embd_tok;
    j["n_layer"] = h.n_layer;
    j["n_group"] = h.n_group;
    j["n_head"] = h.n_head;
    j["head_dim"] = h.head_dim;
    j["n_ff"] = h.n_ff;
    j["norm_eps"] = h.norm_eps;
    j["activation"] = act_name(h.act);
    j["mlm_head"] = h.has_mlm_head;
    j["pooler"] = h.has_pooler;
    j["n_params"] = i.n_params;
    j["tensor_types"] = i.tensor_types;
    j["tokenizer"] = {{"kind", i.tokenizer_kind}, {"n_vocab", i.tokenizer_vocab}, {"cls", i.cls},
                      {"sep", i.sep}, {"mask", i.mask.empty() ? nlohmann::json(nullptr) : nlohmann::json(i.mask)}};
    return j.dump();
}

bool is_adapter_file(const std::string& path) {
    return GgufFile::open(path)->get_string("general.type") == "adapter";
}

AdapterInfo inspect_adapter(const std::string& path) {
    const auto g = GgufFile::open(path);
    AdapterInfo a;
    a.path = path;
    a.file_bytes = std::filesystem::file_size(path);
    a.name = g->get_string("general.name").value_or("");
    a.architecture = g->get_string("general.architecture").value_or("");
    a.adapter_type = g->get_string("adapter.type").value_or("");
    a.alpha = g->get_float("adapter.lora.alpha").value_or(0.0);
    a.base_name = g->get_string("general.base_model.0.name").value_or("");
    a.base_sha256 = g->get_string("general.base_model.0.sha256").value_or("");
    if (a.adapter_type.empty()) {
        throw_error(ErrorKind::Corrupt, "adapter '{}': adapter.type is missing", path);
    }
    for (const auto& t : g->tensors()) {
        a.n_params += t.tensor.numel();
        const std::string_view name = t.name;
        const bool is_a = name.ends_with(".weight.lora_a");
        if (!is_a && !name.ends_with(".weight.lora_b")) {
            throw_error(ErrorKind::Corrupt, "adapter '{}': tensor '{}' is not <weight>.lora_a/.lora_b",
                        path, t.name);
        }
        if (!is_a) continue;
        if (a.rank == 0) a.rank = t.tensor.dim(0);
        // "blk.3.attn_q.weight.lora_a" -> "attn_q"
        const std::string_view stem = name.substr(0, name.size() - std::string_view(".weight.lora_a").size());
        ++a.targets[std::string(stem.substr(stem.rfind('.') + 1))];
    }
    return a;
}

std::string adapter_info_text(const AdapterInfo& a) {
    std::string targets;
    for (const auto& [t, n] : a.targets) targets += fmt::format("{}{} x{}", targets.empty() ? "" : ", ", t, n);
    std::string s;
    s += fmt::format("file:          {} ({:.2f} MiB)\n", a.path, static_cast<double>(a.file_bytes) / 1048576.0);
    if (!a.name.empty()) s += fmt::format("name:          {}\n", a.name);
    s += fmt::format("adapter:       {} for {}, rank {}, alpha {} (scale {:.3g})\n", a.adapter_type,
                     a.architecture, a.rank, a.alpha, a.rank > 0 ? a.alpha / static_cast<double>(a.rank) : 0.0);
    s += fmt::format("adapts:        {}\n", targets.empty() ? "nothing" : targets);
    s += fmt::format("parameters:    {}\n", a.n_params);
    if (!a.base_name.empty() || !a.base_sha256.empty())
        s += fmt::format("base model:    {} (sha256 {})\n", a.base_name, a.base_sha256);
    s += "use:           lyra generate -m BASE --lora FILE, or lyra model merge BASE FILE -o OUT\n";
    return s;
}

std::string adapter_info_json(const AdapterInfo& a) {
    nlohmann::json j;
    j["path"] = a.path;
    j["name"] = a.name;
    j["file_bytes"] = a.file_bytes;
    j["type"] = "adapter";
    j["adapter_type"] = a.adapter_type;
    j["architecture"] = a.architecture;
    j["rank"] = a.rank;
    j["alpha"] = a.alpha;
    j["targets"] = a.targets;
    j["n_params"] = a.n_params;
    j["base_model"] = {{"name", a.base_name}, {"sha256", a.base_sha256}};
    return j.dump();
}

}  // namespace lyra::model
