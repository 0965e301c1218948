// Recipe parsing (see recipe.h). Each table is read through a Section that records which keys
// were used, so anything left over is reported as an unknown key by name.
#include "train/recipe.h"

#include <filesystem>
#include <set>

#include <toml++/toml.h>

#include "core/error.h"
#include "core/mmap.h"
#include "train/base_model.h"

namespace lyra::train {

namespace {

class Section {
public:
    Section(const toml::table* t, std::string prefix, const std::string& label)
        : t_(t), prefix_(std::move(prefix)), label_(label) {}

    [[noreturn]] void bad(const std::string& key, const std::string& problem) const {
        throw_error(ErrorKind::InvalidArgument, "recipe '{}': {}{}: {}", label_, prefix_, key, problem);
    }

    const std::string& label() const { return label_; }
    const toml::node* node(const std::string& key) {
        used_.insert(key);
        return t_ == nullptr ? nullptr : t_->get(key);
    }

    void str(const std::string& key, std::string& out) {
        if (const auto* n = node(key)) {
            if (!n->is_string()) bad(key, "expected a string");
            out = **n->as_string();
        }
    }
    void integer(const std::string& key, int64_t& out, int64_t lo, int64_t hi) {
        if (const auto* n = node(key)) {
            if (!n->is_integer()) bad(key, "expected an integer");
            const int64_t v = **n->as_integer();
            if (v < lo || v > hi) bad(key, fmt::format("impossible value; expected {}..{}, got {}", lo, hi, v));
            out = v;
        }
    }
    template <typename F>
    void real(const std::string& key, F& out, double lo, double hi) {
        if (const auto* n = node(key)) {
            double v = 0.0;
            if (n->is_integer()) v = static_cast<double>(**n->as_integer());
            else if (n->is_floating_point()) v = **n->as_floating_point();
            else bad(key, "expected a number");
            if (!(v >= lo && v <= hi)) bad(key, fmt::format("impossible value; expected {}..{}, got {}", lo, hi, v));
            out = static_cast<F>(v);
        }
    }
    void boolean(const std::string& key, bool& out) {
        if (const auto* n = node(key)) {
            if (!n->is_boolean()) bad(key, "expected true or false");
            out = **n->as_boolean();
        }
    }
    void strings(const std::string& key, std::vector<std::string>& out) {
        if (const auto* n = node(key)) {
            out.clear();
            if (n->is_string()) {
                out.push_back(**n->as_string());
                return;
            }
            if (!n->is_array()) bad(key, "expected a string or an array of strings");
            for (const auto& e : *n->as_array()) {
                if (!e.is_string()) bad(key, "expected an array of strings");
                out.push_back(**e.as_string());
            }
        }
    }
    // Throws for any key of the table that no getter asked for.
    void finish(const std::set<std::string>& sub_tables = {}) const {
        if (t_ == nullptr) return;
        for (const auto& [k, v] : *t_) {
            const std::string key(k.str());
            if (used_.count(key) == 0 && sub_tables.count(key) == 0) bad(key, "unknown key");
        }
    }

private:
    const toml::table* t_;
    std::string prefix_;
    const std::string& label_;
    std::set<std::string> used_;
};

constexpr int64_t kBig = int64_t{1} << 40;

// The number after "char:" or "bpe:", or -1 when the rest is not a plain number.
int64_t kind_size(const std::string& kind, size_t prefix) {
    if (kind.size() <= prefix || kind.size() > prefix + 9 ||
        kind.find_first_not_of("0123456789", prefix) != std::string::npos)
        return -1;
    return std::stoll(kind.substr(prefix));
}

// [tokenizer]: kind "bytes", "char:N" or "bpe:N" (+ special, min_count), or file.
void check_tokenizer(Section& tok, const std::string& kind, bool min_count_given, Recipe& r) {
    if (!r.tokenizer_file.empty()) {
        if (!kind.empty()) tok.bad("file", "give either kind or file, not both");
        if (!r.tokenizer_specials.empty())
            tok.bad("special", "only for kind = \"bpe:N\"; a tokenizer file has its own");
        if (min_count_given) tok.bad("min_count", "only for kind = \"bpe:N\"; a tokenizer file is used as is");
        if (!std::filesystem::is_regular_file(r.tokenizer_file))
            tok.bad("file", fmt::format("no such file '{}'; expected a GGUF from `lyra tokenizer "
                                        "train` or a model", r.tokenizer_file));
        return;
    }
    if (!kind.empty()) r.tokenizer = kind;
    const auto n_special = static_cast<int64_t>(r.tokenizer_specials.size());
    if (r.tokenizer.rfind("bpe:", 0) == 0) {
        const int64_t n = kind_size(r.tokenizer, 4);
        if (n < 0)
            tok.bad("kind", fmt::format("expected \"bpe:N\" with N a number, got \"{}\"", r.tokenizer));
        if (n < 256 + n_special || n > (1 << 24))
            tok.bad("kind", fmt::format("impossible vocabulary size; expected {}..{} (256 bytes + "
                                        "{} special tokens at least), got {}",
                                        256 + n_special, 1 << 24, n_special, n));
        std::set<std::string> seen;
        for (const std::string& s : r.tokenizer_specials) {
            if (s.empty()) tok.bad("special", "empty token; expected text such as <|endoftext|>");
            if (!seen.insert(s).second) tok.bad("special", fmt::format("'{}' given twice", s));
        }
        return;
    }
    if (n_special > 0) tok.bad("special", "only for kind = \"bpe:N\"");
    if (min_count_given) tok.bad("min_count", "only for kind = \"bpe:N\"");
    if (r.tokenizer != "bytes" && (r.tokenizer.rfind("char:", 0) != 0 || kind_size(r.tokenizer, 5) < 0))
        tok.bad("kind", fmt::format("expected \"char:N\", \"bpe:N\" or \"bytes\", got \"{}\"",
                                    r.tokenizer));
}

// [model] without base: the architecture and size keys.
void read_model_shape(Section& m, TrainConfig& c) {
    std::string arch = "llama";
    m.str("arch", arch);
    if (arch == "llama") c.arch = model::Arch::Llama;
    else if (arch == "gpt2") c.arch = model::Arch::Gpt2;
    else m.bad("arch", fmt::format("expected \"llama\" or \"gpt2\", got \"{}\"", arch));
    m.integer("n_embd", c.n_embd, 1, 1 << 16);
    m.integer("n_layer", c.n_layer, 1, 256);
    m.integer("n_head", c.n_head, 1, 1024);
    m.integer("n_head_kv", c.n_head_kv, 0, 1024);
    m.integer("n_ff", c.n_ff, 0, 1 << 20);
    m.boolean("tied_output", c.tied_output);
    m.real("norm_eps", c.norm_eps, 1e-12, 0.1);
    m.real("rope_base", c.rope_base, 2.0, 1e9);
    if (c.n_embd == 0) m.bad("n_embd", "missing; expected the model width");
    if (c.n_layer == 0) m.bad("n_layer", "missing; expected the number of layers");
    if (c.n_head == 0) m.bad("n_head", "missing; expected the number of heads");
}

// [model] base: the shape comes from the base, so size keys and a [tokenizer] table are errors.
void read_base_model(Section& m, const toml::table& root, Recipe& r) {
    for (const char* key : {"arch", "n_embd", "n_layer", "n_head", "n_head_kv", "n_ff", "tied_output",
                            "norm_eps", "rope_base"}) {
        if (m.node(key) != nullptr)
            m.bad("base", fmt::format("give either base or the arch/size keys (arch, n_embd, n_layer, "
                                      "n_head, n_head_kv, n_ff, tied_output, norm_eps, rope_base), "
                                      "not both; got {}", key));
    }
    if (root.get("tokenizer") != nullptr)
        m.bad("base", "a base model brings its own tokenizer; remove the [tokenizer] table");
    if (!std::filesystem::is_regular_file(r.base_model))
        throw_error(ErrorKind::NotFound, "recipe '{}': model.base: no such file '{}'; expected a "
                    "GGUF model to fine-tune", m.label(), r.base_model);
    r.model = open_base_model(r.base_model).config;
}

Recipe parse(const toml::table& root, const std::string& label) {
    Recipe r;
    Section top(&root, "", label);
    top.str("name", r.name);
    top.str("brief", r.brief);
    int64_t seed = static_cast<int64_t>(r.seed);
    top.integer("seed", seed, 0, INT64_MAX);
    r.seed = static_cast<uint64_t>(seed);
    top.str("output", r.output);
    top.str("work_dir", r.work_dir);
    if (r.output.empty()) top.bad("output", "missing; expected the path of the model to write");
    for (const char* t : {"data", "tokenizer", "model", "lora", "train", "sample"}) {
        if (const auto* n = root.get(t); n != nullptr && !n->is_table())
            top.bad(t, "expected a table");
    }
    top.finish({"data", "tokenizer", "model", "lora", "train", "sample", "prep"});  // [prep]: lyra data prep

    Section data(root["data"].as_table(), "data.", label);
    data.strings("files", r.data_files);
    data.real("val_fraction", r.val_fraction, 0.0, 0.9);
    data.boolean("eos_between_documents", r.eos_between_documents);
    data.finish();
    if (r.data_files.empty()) data.bad("files", "missing; expected at least one text file or glob");

    Section m(root["model"].as_table(), "model.", label);
    m.str("base", r.base_model);
    if (r.base_model.empty()) {
        read_model_shape(m, r.model);
    } else {
        read_base_model(m, root, r);
    }
    m.finish();

    Section tok(root["tokenizer"].as_table(), "tokenizer.", label);
    std::string kind;
    tok.str("kind", kind);
    tok.strings("special", r.tokenizer_specials);
    tok.str("file", r.tokenizer_file);
    int64_t min_count = 0;  // 0: not given (the key itself must be ≥ 1)
    tok.integer("min_count", min_count, 1, kBig);
    tok.finish();
    if (min_count > 0) r.tokenizer_min_count = min_count;
    if (r.base_model.empty()) check_tokenizer(tok, kind, min_count > 0, r);

    if (const auto* lt = root["lora"].as_table()) {
        Section lora(lt, "lora.", label);
        r.lora = true;
        LoraConfig& lc = r.lora_config;
        lora.integer("rank", lc.rank, 1, 1 << 14);
        lora.real("alpha", lc.alpha, 1e-6, 1e6);
        lora.real("dropout", lc.dropout, 0.0, 0.9);
        lora.strings("targets", lc.targets);
        lora.finish();
        if (r.base_model.empty())
            throw_error(ErrorKind::InvalidArgument, "recipe '{}': [lora] needs a base model to adapt; "
                        "add [model] base = \"x.gguf\"", label);
        if (lt->get("targets") != nullptr && lc.targets.empty())
            lora.bad("targets", "empty; expected block weight names such as \"attn_q\"");
    }

    Section t(root["train"].as_table(), "train.", label);
    t.integer("batch", r.batch, 1, 1 << 16);
    t.integer("grad_accum", r.grad_accum, 1, 1 << 16);
    t.integer("context", r.context, 2, 1 << 16);
    t.integer("steps", r.steps, 1, kBig);
    t.real("lr", r.lr, 1e-9, 10.0);
    t.real("min_lr", r.min_lr, 0.0, 10.0);
    t.integer("warmup", r.warmup, 0, kBig);
    t.real("weight_decay", r.weight_decay, 0.0, 10.0);
    t.boolean("decay_all", r.decay_all);
    t.real("beta1", r.beta1, 0.0, 0.999999);
    t.real("beta2", r.beta2, 0.0, 0.999999);
    t.real("grad_clip", r.grad_clip, 0.0, 1e6);
    t.integer("eval_interval", r.eval_interval, 0, kBig);
    t.integer("eval_iters", r.eval_iters, 1, 1 << 20);
    t.integer("checkpoint_interval", r.checkpoint_interval, 0, kBig);
    t.integer("log_interval", r.log_interval, 1, kBig);
    int64_t threads = r.threads;
    t.integer("threads", threads, 0, 1024);
    r.threads = static_cast<int>(threads);
    t.finish();
    if (r.min_lr > r.lr) t.bad("min_lr", fmt::format("impossible value; expected ≤ lr ({}), got {}", r.lr, r.min_lr));
    if (r.base_model.empty()) {
        r.model.n_ctx = r.context;
    } else if (r.context > r.model.n_ctx) {
        t.bad("context", fmt::format("impossible value; expected ≤ the base model's context length {}, "
                                     "got {}", r.model.n_ctx, r.context));
    }

    Section s(root["sample"].as_table(), "sample.", label);
    s.str("prompt", r.sample_prompt);
    s.integer("tokens", r.sample_tokens, 0, 1 << 20);
    s.finish();

    if (r.work_dir.empty()) r.work_dir = r.output + ".work";
    if (r.name.empty()) r.name = std::filesystem::path(r.output).stem().string();
    return r;
}

}  // namespace

Recipe parse_recipe_string(const std::string& toml_text, const std::string& label) {
    toml::table root;
    try {
        root = toml::parse(toml_text, label);
    } catch (const toml::parse_error& e) {
        throw_error(ErrorKind::Corrupt, "recipe '{}': line {}: {}", label, e.source().begin.line,
                    std::string(e.description()));
    }
    Recipe r = parse(root, label);
    r.text = toml_text;
    return r;
}

Recipe parse_recipe_file(const std::string& path) {
    if (!std::filesystem::exists(path))
        throw_error(ErrorKind::NotFound, "recipe '{}': no such file", path);
    Recipe r = parse_recipe_string(core::read_file(path), path);
    r.path = path;
    return r;
}

}  // namespace lyra::train
