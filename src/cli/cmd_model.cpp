// `lyra model init|import|quantize|info|merge`: flags here, the work in liblyra (model/init.h,
// model/quantize.h, model/info.h, model/format/hf_import.h, train/lora.h).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/mmap.h"
#include "model/format/gguf.h"
#include "model/format/hf_import.h"
#include "model/info.h"
#include "model/init.h"
#include "model/quantize.h"
#include "model/tokenizer/char_vocab.h"
#include "model/tokenizer/vocab.h"
#include "train/lora.h"

namespace lyra::cli {
namespace {

core::DType parse_type(const std::string& s, bool quant_ok) {
    const auto t = core::dtype_from_name(s);
    const bool plain = t && (*t == core::DType::F32 || *t == core::DType::F16 || *t == core::DType::BF16);
    const bool quant = t && (*t == core::DType::Q8_0 || *t == core::DType::Q4_0 || *t == core::DType::Q4_K ||
                             *t == core::DType::Q5_K || *t == core::DType::Q6_K);
    if (!plain && !(quant_ok && quant))
        throw_error(ErrorKind::Usage, "--type '{}' is not a weight type; expected {}", s,
                    quant_ok ? "f32|f16|bf16|q8_0|q4_0|q4_k|q5_k|q6_k" : "f32|f16|bf16");
    return *t;
}

model::Arch parse_arch(const std::string& s) {
    for (model::Arch a : {model::Arch::Llama, model::Arch::Qwen2, model::Arch::Gpt2})
        if (s == model::arch_name(a)) return a;
    throw_error(ErrorKind::Usage, "--arch '{}' is unknown; expected llama, qwen2 or gpt2", s);
}

// --tokenizer: "bytes", "char:TEXTFILE[:N]" or a GGUF file whose vocabulary is copied.
std::unique_ptr<model::Tokenizer> make_tokenizer(const std::string& spec) {
    if (spec == "bytes") return model::build_byte_vocab();
    if (spec.rfind("char:", 0) == 0) {
        std::string file = spec.substr(5);
        size_t max_chars = 0;
        const size_t colon = file.rfind(':');
        if (colon != std::string::npos && colon + 1 < file.size() &&
            file.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
            max_chars = std::stoul(file.substr(colon + 1));
            file.resize(colon);
        }
        if (!std::filesystem::is_regular_file(file))
            throw_error(ErrorKind::NotFound, "--tokenizer: text file '{}' does not exist", file);
        return model::build_char_vocab(core::read_file(file), max_chars);
    }
    if (!std::filesystem::is_regular_file(spec))
        throw_error(ErrorKind::NotFound,
                    "--tokenizer '{}': no such file; expected 'bytes', 'char:TEXTFILE[:N]' or a GGUF file", spec);
    const auto gguf = model::GgufFile::open(spec);
    return model::Tokenizer::from_gguf(*gguf);
}

void add_init(CLI::App& model) {
    struct Flags {
        std::string arch = "llama", type = "f32", tokenizer, out, name = "lyra-random", chat_template;
        model::InitOptions o;
        bool tied = false;
    };
    auto f = std::make_shared<Flags>();
    auto* cmd = model.add_subcommand("init", "Write a randomly initialised model of a given shape");
    cmd->add_option("--arch", f->arch, "llama | qwen2 | gpt2")->capture_default_str();
    cmd->add_option("--dim", f->o.n_embd, "Model width")->required();
    cmd->add_option("--layers", f->o.n_layer, "Number of blocks")->required();
    cmd->add_option("--heads", f->o.n_head, "Attention heads")->required();
    auto* kv_opt = cmd->add_option("--kv-heads", f->o.n_head_kv, "Key/value heads (grouped-query attention; default: heads)");
    auto* ffn_opt = cmd->add_option("--ffn", f->o.n_ff, "Feed-forward width (default: 4*dim for gpt2, ~8/3*dim for llama)");
    cmd->add_option("--ctx", f->o.n_ctx, "Context length")->capture_default_str();
    cmd->add_option("--seed", f->o.seed, "Random seed")->capture_default_str();
    cmd->add_option("--type", f->type, "Weight type: f32|f16|bf16|q8_0|q4_0|q4_k|q5_k|q6_k")->capture_default_str();
    cmd->add_option("--tokenizer", f->tokenizer, "bytes | char:TEXTFILE[:N] | a GGUF file to copy the vocabulary of")->required();
    cmd->add_option("--name", f->name, "general.name")->capture_default_str();
    cmd->add_flag("--tied", f->tied, "Share the output head with token_embd (llama/qwen2)");
    cmd->add_option("--chat-template", f->chat_template,
                    "a text file whose contents become tokenizer.chat_template (a Jinja chat template)");
    cmd->add_option("-o,--output", f->out, "Output .gguf")->required();
    cmd->callback([f, kv_opt, ffn_opt] {
        model::InitOptions o = f->o;
        o.arch = parse_arch(f->arch);
        o.dtype = parse_type(f->type, true);
        o.name = f->name;
        o.tied_output = f->tied;
        if (ffn_opt->count() > 0 && o.n_ff <= 0)
            throw_error(ErrorKind::InvalidArgument, "--ffn is {}; expected a positive width", o.n_ff);
        if (kv_opt->count() > 0 && o.n_head_kv <= 0)
            throw_error(ErrorKind::InvalidArgument, "--kv-heads is {}; expected at least 1", o.n_head_kv);
        o = model::resolve_init_options(o);  // validates before the tokenizer is built
        auto tok = make_tokenizer(f->tokenizer);
        if (!f->chat_template.empty()) {  // the vocabulary carries the template into the file
            if (!std::filesystem::is_regular_file(f->chat_template))
                throw_error(ErrorKind::NotFound, "--chat-template: no file '{}'; expected a text file with a Jinja chat template", f->chat_template);
            model::Vocab v = tok->vocab();
            v.chat_template = core::read_file(f->chat_template);
            tok = model::Tokenizer::from_vocab(std::move(v));
        }
        for (const auto& note : model::init_model(o, *tok, f->out)) std::fprintf(stderr, "lyra: note: %s\n", note.c_str());
        std::printf("wrote %s: %s, dim %lld, %lld layers, %lld heads (kv %lld), ffn %lld, ctx %lld, vocab %d, %s\n",
                    f->out.c_str(), model::arch_name(o.arch), static_cast<long long>(o.n_embd),
                    static_cast<long long>(o.n_layer), static_cast<long long>(o.n_head),
                    static_cast<long long>(o.n_head_kv), static_cast<long long>(o.n_ff),
                    static_cast<long long>(o.n_ctx), tok->n_vocab(), f->type.c_str());
    });
}

void add_quantize(CLI::App& model) {
    struct Flags { std::string in, out, type; };
    auto f = std::make_shared<Flags>();
    auto* cmd = model.add_subcommand("quantize", "Convert a model's weight matrices to another type");
    cmd->add_option("IN", f->in, "Input .gguf")->required();
    cmd->add_option("OUT", f->out, "Output .gguf")->required();
    cmd->add_option("--type", f->type, "q8_0|q4_0|q4_k|q5_k|q6_k|f16|bf16|f32")->required();
    cmd->callback([f] {
        const core::DType t = parse_type(f->type, true);
        const auto r = model::quantize_file(f->in, f->out, t);
        for (const auto& note : r.notes) std::fprintf(stderr, "lyra: note: %s\n", note.c_str());
        std::string types;
        for (const auto& [dt, n] : r.tensors_per_type)
            types += fmt::format("{}{} x{}", types.empty() ? "" : ", ", core::dtype_name(dt), n);
        std::printf("wrote %s: %s (tensor data %.2f MiB -> %.2f MiB)\n", f->out.c_str(), types.c_str(),
                    static_cast<double>(r.bytes_in) / 1048576.0, static_cast<double>(r.bytes_out) / 1048576.0);
    });
}

void add_info(CLI::App& model) {
    struct Flags { std::string file; bool json = false; };
    auto f = std::make_shared<Flags>();
    auto* cmd = model.add_subcommand("info", "Describe a model file");
    cmd->add_option("FILE", f->file, "A .gguf model")->required();
    cmd->add_flag("--json", f->json, "One JSON object on stdout");
    cmd->callback([f] {
        if (model::is_adapter_file(f->file)) {
            const auto info = model::inspect_adapter(f->file);
            if (f->json) std::printf("%s\n", model::adapter_info_json(info).c_str());
            else std::fputs(model::adapter_info_text(info).c_str(), stdout);
            return;
        }
        if (model::is_encoder_file(f->file)) {
            const auto info = model::inspect_encoder(f->file);
            if (f->json) std::printf("%s\n", model::encoder_info_json(info).c_str());
            else std::fputs(model::encoder_info_text(info).c_str(), stdout);
            return;
        }
        const auto info = model::inspect_model(f->file);
        if (f->json) std::printf("%s\n", model::info_json(info).c_str());
        else std::fputs(model::info_text(info).c_str(), stdout);
    });
}

void add_import(CLI::App& model) {
    struct Flags { std::string dir, out, type, factorization; };
    auto f = std::make_shared<Flags>();
    auto* cmd = model.add_subcommand("import", "Convert a Hugging Face model directory to GGUF");
    cmd->add_option("DIR", f->dir, "Directory with config.json, *.safetensors, tokenizer.json")->required();
    cmd->add_option("-o,--output", f->out, "Output .gguf")->required();
    cmd->add_option("--type", f->type, "f32|f16|bf16 for the weight matrices (default: as stored)");
    cmd->add_option("--factorization", f->factorization,
                    "XLNet: the order generation predicts in, bidirectional (default) or causal")
        ->check(CLI::IsMember({"bidirectional", "causal"}));
    cmd->callback([f] {
        std::optional<core::DType> type;
        if (!f->type.empty()) type = parse_type(f->type, false);
        model::import_hf(f->dir, f->out, type, {.factorization = f->factorization});
        std::string arch;
        int64_t n_params = 0;
        try {  // the result must load, or it is not kept
            if (model::is_encoder_file(f->out)) {
                const auto info = model::inspect_encoder(f->out);
                arch = std::string(model::encoder_arch_name(info.hparams.arch)) + " encoder";
                n_params = info.n_params;
            } else {
                const auto info = model::inspect_model(f->out);
                arch = model::arch_name(info.hparams.arch);
                n_params = info.n_params;
            }
        } catch (const Error&) {
            std::filesystem::remove(f->out);
            throw;
        }
        std::printf("wrote %s: %s, %lld parameters\n", f->out.c_str(), arch.c_str(),
                    static_cast<long long>(n_params));
    });
}

void add_merge(CLI::App& model) {
    struct Flags {
        std::string base, adapter, out;
        float scale = 1.0f;
    };
    auto f = std::make_shared<Flags>();
    auto* cmd = model.add_subcommand("merge", "Bake a LoRA adapter into a copy of its base model");
    cmd->add_option("BASE", f->base, "Base model .gguf")->required();
    cmd->add_option("ADAPTER", f->adapter, "LoRA adapter .gguf (from a recipe with [lora])")->required();
    cmd->add_option("-o,--output", f->out, "Output .gguf")->required();
    cmd->add_option("--scale", f->scale, "Strength of the adapter (1 = as trained)")
        ->check(between(0.0, 1000.0))
        ->capture_default_str();
    cmd->callback([f] {
        const int n = train::merge_lora(f->base, f->adapter, f->scale, f->out);
        std::printf("wrote %s: %d weights merged (f32), scale %g\n", f->out.c_str(), n,
                    static_cast<double>(f->scale));
    });
}

}  // namespace

void add_model_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("model", "Create, convert and inspect model files; fill masks and embed text with encoders");
    cmd->require_subcommand(1);
    add_init(*cmd);
    add_import(*cmd);
    add_quantize(*cmd);
    add_info(*cmd);
    add_merge(*cmd);
    add_encoder_commands(*cmd);
}

}  // namespace lyra::cli
