// Hugging Face -> GGUF. One function per architecture family maps HF tensor names to GGUF
// names (the names other GGUF converters use), checking every shape against config.json.
// Tensors go through f32 on the way (safetensors data may be unaligned and F16/BF16), then to
// the output dtype. Memory: the whole output model is held once by GgufWriter.
#include "model/format/hf_import.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <numbers>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "core/error.h"
#include "core/half.h"
#include "core/mmap.h"
#include "model/encoder.h"
#include "model/format/gguf.h"
#include "model/format/safetensors.h"
#include "model/tokenizer/tokenizer_json.h"
#include "model/tokenizer/vocab.h"

namespace lyra::model {
namespace {

using json = nlohmann::json;
using core::DType;

// Hyperparameters, named as in GGUF (n_embd, n_head, ...), read from config.json.
struct HfConfig {
    std::string arch;     // GGUF architecture: "llama", "qwen2", "gpt2", "gptneo", "transfo-xl", "t5", ...
    std::string name;
    int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0;
    int64_t n_ctx = 0, head_dim = 0;
    double norm_eps = 1e-5, rope_theta = 10000.0;
    bool tied = false;
    json rope_scaling;  // null when absent
    int64_t sliding_window = 0;      // gptneo: the local layers' window
    std::vector<bool> local_layers;  // gptneo: true where layer l is "local"
    // Encoders (bert, roberta, albert; docs/formats/gguf.md "Encoders"):
    std::string hf_class;            // config.json's class ("BertForMaskedLM", "AlbertModel", ...)
    std::string hidden_act;          // "gelu" (erf), "gelu_new" (tanh) or "relu"
    int64_t n_embd_tok = 0;          // width of the token embeddings (ALBERT's embedding_size)
    int64_t n_group = 0;             // distinct layer weight sets (ALBERT's num_hidden_groups)
    int64_t n_token_types = 0;       // rows of token_type_embeddings (type_vocab_size)
    int64_t n_positions = 0;         // rows of the HF position table (max_position_embeddings)
    int64_t pos_offset = 0;          // RoBERTa: positions start at padding_idx + 1
    // transfo-xl (docs/formats/gguf.md, "Transformer-XL")
    int64_t d_embed = 0, div_val = 1, mem_len = 0, clamp_len = 0, tgt_len = 0;
    std::vector<int64_t> cutoffs;
    std::vector<bool> tie_projs;
    bool pre_norm = false, same_length = false, untie_r = true;
    // t5: n_layer is the encoder's block count, n_layer_dec the decoder's.
    int64_t n_layer_dec = 0, rel_buckets = 0, rel_max_distance = 0, decoder_start = 0;
    bool gated_ffn = false;  // feed_forward_proj "gated-gelu" (else "relu")
    // xlnet (docs/formats/gguf.md, "XLNet"): mem_len and clamp_len above, hidden_act the FFN's
    // activation; the factorization order generation uses (an import option).
    std::string factorization = "bidirectional";
};

// The Hugging Face architectures Lyra imports: the class in config.json's "architectures",
// the "model_type" that names the same family, and the GGUF architecture it becomes.
struct SupportedArch {
    const char* hf_class;
    const char* model_type;
    const char* arch;
};
constexpr SupportedArch kSupported[] = {
    {"LlamaForCausalLM", "llama", "llama"},     {"MistralForCausalLM", "mistral", "llama"},
    {"Qwen2ForCausalLM", "qwen2", "qwen2"},     {"GPT2LMHeadModel", "gpt2", "gpt2"},
    {"GPTNeoForCausalLM", "gpt_neo", "gptneo"}, {"TransfoXLLMHeadModel", "transfo-xl", "transfo-xl"},
    // Encoders: the masked-LM class and the bare model (no MLM head; pooler when present).
    {"BertForMaskedLM", "bert", "bert"},        {"BertModel", "bert", "bert"},
    {"RobertaForMaskedLM", "roberta", "roberta"}, {"RobertaModel", "roberta", "roberta"},
    {"AlbertForMaskedLM", "albert", "albert"},  {"AlbertModel", "albert", "albert"},
    {"T5ForConditionalGeneration", "t5", "t5"},
    {"XLNetLMHeadModel", "xlnet", "xlnet"},     {"XLNetModel", "xlnet", "xlnet"},
};

// The class in "architectures" decides; a config without one is identified by "model_type".
std::string gguf_arch_of(const json& j, const std::string& path) {
    std::string hf_class, model_type;
    if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
        j["architectures"][0].is_string())
        hf_class = j["architectures"][0].get<std::string>();
    if (j.contains("model_type") && j["model_type"].is_string())
        model_type = j["model_type"].get<std::string>();
    for (const SupportedArch& s : kSupported)
        if (hf_class.empty() ? model_type == s.model_type : hf_class == s.hf_class) return s.arch;
    std::string supported;
    for (const SupportedArch& s : kSupported)
        supported += fmt::format("{}{} (model_type {})", supported.empty() ? "" : ", ", s.hf_class,
                                 s.model_type);
    const std::string got = !hf_class.empty()      ? "architecture '" + hf_class + "'"
                            : !model_type.empty() ? "model_type '" + model_type + "'"
                                                  : std::string("no architectures or model_type");
    throw_error(ErrorKind::Unsupported, "config '{}': unsupported {}; supported: {}", path, got,
                supported);
}

// GPT-Neo's layer kinds: "attention_types" ([[["global", "local"], 12]] = the pair repeated 12
// times) and its expansion "attention_layers" (HF's config saves both); where both are given
// they must agree, and either must name exactly num_layers layers.
std::vector<bool> gptneo_local_layers(const json& j, int64_t n_layer, const std::string& path) {
    auto kinds_error = [&](const std::string& what) {
        throw_error(ErrorKind::Corrupt, "config '{}': {}; expected {} layers, each \"global\" or "
                    "\"local\"", path, what, n_layer);
    };
    auto read_kind = [&](const json& k, const char* key) {
        const std::string kind = k.is_string() ? k.get<std::string>() : std::string();
        if (kind != "global" && kind != "local")
            kinds_error(fmt::format("{} names the layer kind {}", key, k.dump()));
        return kind == "local";
    };
    std::optional<std::vector<bool>> from_types, from_layers;
    if (j.contains("attention_types")) {
        from_types.emplace();
        const json& t = j["attention_types"];
        if (!t.is_array()) kinds_error("attention_types is not a list");
        for (const json& group : t) {
            if (!group.is_array() || group.size() != 2 || !group[0].is_array() ||
                !group[1].is_number_integer() || group[1].get<int64_t>() < 0 ||
                group[1].get<int64_t>() > n_layer)
                kinds_error("attention_types entry " + group.dump() + " is not [[kinds...], count]");
            for (int64_t r = 0; r < group[1].get<int64_t>(); ++r)
                for (const json& k : group[0]) from_types->push_back(read_kind(k, "attention_types"));
            if (static_cast<int64_t>(from_types->size()) > n_layer) break;
        }
    }
    if (j.contains("attention_layers")) {
        from_layers.emplace();
        const json& t = j["attention_layers"];
        if (!t.is_array()) kinds_error("attention_layers is not a list");
        for (const json& k : t) from_layers->push_back(read_kind(k, "attention_layers"));
    }
    if (!from_types && !from_layers) kinds_error("attention_types is missing");
    if (from_types && from_layers && *from_types != *from_layers)
        kinds_error("attention_types and attention_layers disagree");
    const std::vector<bool>& kinds = from_types ? *from_types : *from_layers;
    if (static_cast<int64_t>(kinds.size()) != n_layer)
        kinds_error(fmt::format("{} names {} layers but num_layers is {}",
                                from_types ? "attention_types" : "attention_layers", kinds.size(),
                                n_layer));
    return kinds;
}

class ConfigReader {
public:
    ConfigReader(json j, std::string path) : j_(std::move(j)), path_(std::move(path)) {}

    bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

    int64_t positive_int(const char* key, std::optional<int64_t> fallback = std::nullopt) const {
        if (!has(key)) {
            if (fallback) return *fallback;
            throw_error(ErrorKind::Corrupt, "config '{}': key '{}' is missing; expected a positive integer",
                        path_, key);
        }
        const json& v = j_[key];
        if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (int64_t{1} << 40))
            throw_error(ErrorKind::Corrupt,
                        "config '{}': key '{}' is not a sensible positive integer; got {}", path_,
                        key, v.dump());
        return v.get<int64_t>();
    }

    double number(const char* key, double fallback) const {
        if (!has(key)) return fallback;
        const json& v = j_[key];
        if (!v.is_number())
            throw_error(ErrorKind::Corrupt, "config '{}': key '{}' is not a number; got {}", path_,
                        key, v.dump());
        return v.get<double>();
    }

    bool boolean(const char* key, bool fallback) const {
        if (!has(key)) return fallback;
        const json& v = j_[key];
        if (!v.is_boolean())
            throw_error(ErrorKind::Corrupt, "config '{}': key '{}' is not a bool; got {}", path_,
                        key, v.dump());
        return v.get<bool>();
    }

    std::string string(const char* key, const std::string& fallback) const {
        if (!has(key)) return fallback;
        const json& v = j_[key];
        if (!v.is_string())
            throw_error(ErrorKind::Corrupt, "config '{}': key '{}' is not a string; got {}", path_,
                        key, v.dump());
        return v.get<std::string>();
    }

    const json& raw() const { return j_; }
    const std::string& path() const { return path_; }

private:
    json j_;
    std::string path_;
};

// BERT, RoBERTa and ALBERT share BertConfig's keys (HF defaults where a key may be left out);
// ALBERT adds embedding_size, num_hidden_groups and inner_group_num, RoBERTa pad_token_id.
void read_encoder_config(const ConfigReader& r, HfConfig& c) {
    const std::string& path = r.path();
    const json& j = r.raw();
    c.hf_class = j.contains("architectures") && j["architectures"].is_array() &&
                         !j["architectures"].empty() && j["architectures"][0].is_string()
                     ? j["architectures"][0].get<std::string>()
                     : std::string();
    c.n_embd = r.positive_int("hidden_size");
    c.n_layer = r.positive_int("num_hidden_layers");
    c.n_head = r.positive_int("num_attention_heads");
    c.n_head_kv = c.n_head;
    c.n_ff = r.positive_int("intermediate_size");
    c.n_positions = r.positive_int("max_position_embeddings", 512);
    c.n_token_types = r.positive_int("type_vocab_size", 2);
    c.norm_eps = r.number("layer_norm_eps", 1e-12);
    c.tied = r.boolean("tie_word_embeddings", true);
    c.n_embd_tok = c.n_embd;
    c.n_group = c.n_layer;
    if (c.arch == "albert") {
        c.n_embd_tok = r.positive_int("embedding_size", 128);
        c.n_group = r.positive_int("num_hidden_groups", 1);
        if (c.n_group > c.n_layer)
            throw_error(ErrorKind::Corrupt,
                        "config '{}': num_hidden_groups {} exceeds num_hidden_layers {}", path,
                        c.n_group, c.n_layer);
        const int64_t inner = r.positive_int("inner_group_num", 1);
        if (inner != 1)
            throw_error(ErrorKind::Unsupported,
                        "config '{}': inner_group_num {} is not supported; expected 1 (every "
                        "published ALBERT checkpoint has one layer per group)",
                        path, inner);
    }
    // RoBERTa numbers positions from padding_idx + 1 (create_position_ids_from_input_ids); the
    // import drops the table rows below that, so position 0 is the first token (as llama.cpp).
    if (c.arch == "roberta") c.pos_offset = r.positive_int("pad_token_id", 1) + 1;
    if (c.pos_offset >= c.n_positions)
        throw_error(ErrorKind::Corrupt,
                    "config '{}': max_position_embeddings {} leaves no positions after the {} "
                    "RoBERTa reserves",
                    path, c.n_positions, c.pos_offset);
    c.n_ctx = c.n_positions - c.pos_offset;
    const std::string pet = r.string("position_embedding_type", "absolute");
    if (pet != "absolute")
        throw_error(ErrorKind::Unsupported,
                    "config '{}': position_embedding_type '{}' is not supported; expected 'absolute'",
                    path, pet);
    c.hidden_act = r.string("hidden_act", c.arch == "albert" ? "gelu_new" : "gelu");
    if (c.hidden_act == "gelu_pytorch_tanh") c.hidden_act = "gelu_new";
    if (c.hidden_act != "gelu" && c.hidden_act != "gelu_new" && c.hidden_act != "relu")
        throw_error(ErrorKind::Unsupported,
                    "config '{}': hidden_act '{}' is not supported; expected gelu, gelu_new or relu",
                    path, c.hidden_act);
}

// Transformer-XL's config: d_model/d_embed/d_head/d_inner, the adaptive embedding and softmax
// (cutoffs, div_val, tie_projs), the memory (mem_len, clamp_len, same_length) and the norm
// placement (pre_lnorm). Options Lyra cannot run are refused here, before any tensor is read.
void read_transfo_xl_config(const ConfigReader& r, HfConfig& c) {
    const json& j = r.raw();
    const std::string& path = r.path();
    auto refuse = [&](const std::string& what) {
        throw_error(ErrorKind::Unsupported, "config '{}': {}", path, what);
    };
    auto non_negative = [&](const char* key, int64_t fallback) {
        if (!r.has(key)) return fallback;
        const json& v = j[key];
        if (!v.is_number_integer())
            throw_error(ErrorKind::Corrupt, "config '{}': key '{}' is not an integer; got {}", path, key, v.dump());
        return std::max<int64_t>(0, v.get<int64_t>());  // HF treats <= 0 as "none"
    };
    c.n_embd = r.positive_int("d_model");
    c.d_embed = r.positive_int("d_embed", c.n_embd);
    c.n_layer = r.positive_int("n_layer");
    c.n_head = r.positive_int("n_head");
    c.n_head_kv = c.n_head;
    c.head_dim = r.positive_int("d_head");
    c.n_ff = r.positive_int("d_inner");
    c.div_val = r.positive_int("div_val", 1);
    c.norm_eps = r.number("layer_norm_epsilon", 1e-5);
    c.mem_len = non_negative("mem_len", 0);
    c.clamp_len = non_negative("clamp_len", 0);
    c.tgt_len = non_negative("tgt_len", 128);
    c.pre_norm = r.boolean("pre_lnorm", false);
    c.same_length = r.boolean("same_length", false);
    c.untie_r = r.boolean("untie_r", true);
    c.tied = r.boolean("tie_word_embeddings", true);
    if (c.same_length && c.mem_len == 0)
        refuse("same_length true with mem_len 0 masks every position (HF attends to nothing); "
               "expected mem_len > 0 or same_length false");
    if (j.contains("attn_type") && !(j["attn_type"].is_number_integer() && j["attn_type"].get<int64_t>() == 0))
        refuse("attn_type " + j["attn_type"].dump() + " is not supported; expected 0 (the relative "
               "attention TransfoXLLMHeadModel runs)");
    if (j.contains("sample_softmax") && !(j["sample_softmax"].is_number() && j["sample_softmax"].get<double>() <= 0))
        refuse("sample_softmax " + j["sample_softmax"].dump() + " is not supported; expected -1");
    if (c.n_embd % 2 != 0)
        throw_error(ErrorKind::Corrupt, "config '{}': d_model {} is odd; the sinusoid position "
                    "encoding needs it even", path, c.n_embd);
    if (j.contains("cutoffs")) {
        const json& cut = j["cutoffs"];
        if (!cut.is_array())
            throw_error(ErrorKind::Corrupt, "config '{}': cutoffs is not a list; got {}", path, cut.dump());
        for (const json& v : cut) {
            const int64_t prev = c.cutoffs.empty() ? 0 : c.cutoffs.back();
            if (!v.is_number_integer() || v.get<int64_t>() <= prev || v.get<int64_t>() >= c.n_vocab)
                throw_error(ErrorKind::Corrupt,
                            "config '{}': cutoffs {} are not ascending token ids inside the "
                            "vocabulary of {}",
                            path, cut.dump(), c.n_vocab);
            c.cutoffs.push_back(v.get<int64_t>());
        }
    }
    int64_t width = c.d_embed;
    for (size_t k = 0; k < c.cutoffs.size(); ++k) width /= c.div_val;
    if (width == 0)
        throw_error(ErrorKind::Corrupt, "config '{}': div_val {} leaves the last of {} clusters no "
                    "embedding width (d_embed {})", path, c.div_val, c.cutoffs.size() + 1, c.d_embed);
    // HF's config derives tie_projs from proj_share_all_but_first (the first cluster's projection
    // is never shared) unless config.json saved the list itself, which save_pretrained does.
    if (!j.contains("tie_projs")) {
        c.tie_projs.assign(c.cutoffs.size() + 1, r.boolean("proj_share_all_but_first", true));
        c.tie_projs[0] = false;
    } else {
        if (!j["tie_projs"].is_array())
            throw_error(ErrorKind::Corrupt, "config '{}': tie_projs is not a list; got {}", path,
                        j["tie_projs"].dump());
        for (const json& v : j["tie_projs"]) {
            if (!v.is_boolean())
                throw_error(ErrorKind::Corrupt, "config '{}': tie_projs {} is not a list of bools",
                            path, j["tie_projs"].dump());
            c.tie_projs.push_back(v.get<bool>());
        }
    }
    // Lyra's cache: the memory plus one training segment. Generation slides it (keeping the last
    // mem_len positions) when it fills, so this bounds memory use, not the length of a story.
    c.n_ctx = c.mem_len + std::max<int64_t>(c.tgt_len, 1);
}

// T5 (HF's T5Config): d_kv need not be d_model / num_heads; num_decoder_layers defaults to
// num_layers; feed_forward_proj "relu" is the original T5's FFN, "gated-gelu" T5 v1.1's and
// flan's (HF runs it with gelu_new, the tanh form Lyra's GELU computes).
void read_t5_config(const ConfigReader& r, HfConfig& c) {
    c.n_embd = r.positive_int("d_model");
    c.n_layer = r.positive_int("num_layers");
    c.n_layer_dec = r.positive_int("num_decoder_layers", c.n_layer);
    c.n_head = r.positive_int("num_heads");
    c.n_head_kv = c.n_head;
    c.head_dim = r.positive_int("d_kv");
    c.n_ff = r.positive_int("d_ff");
    c.n_ctx = r.positive_int("n_positions", 512);
    c.norm_eps = r.number("layer_norm_epsilon", 1e-6);
    c.tied = r.boolean("tie_word_embeddings", true);
    c.rel_buckets = r.positive_int("relative_attention_num_buckets", 32);
    c.rel_max_distance = r.positive_int("relative_attention_max_distance", 128);
    if (c.rel_buckets < 4 || c.rel_max_distance <= c.rel_buckets / 2)
        throw_error(ErrorKind::Corrupt,
                    "config '{}': relative_attention_num_buckets {} with max distance {}; expected "
                    "at least 4 buckets and a max distance above half of them",
                    r.path(), c.rel_buckets, c.rel_max_distance);
    const json& j = r.raw();
    c.decoder_start = j.contains("decoder_start_token_id") && j["decoder_start_token_id"].is_number_integer()
                          ? j["decoder_start_token_id"].get<int64_t>()
                          : 0;
    if (c.decoder_start < 0 || c.decoder_start >= c.n_vocab)
        throw_error(ErrorKind::Corrupt, "config '{}': decoder_start_token_id {} is outside the vocabulary of {}",
                    r.path(), c.decoder_start, c.n_vocab);
    const json ffp = j.contains("feed_forward_proj") ? j["feed_forward_proj"] : json("relu");
    const std::string proj = ffp.is_string() ? ffp.get<std::string>() : ffp.dump();
    if (proj != "relu" && proj != "gated-gelu")
        throw_error(ErrorKind::Unsupported,
                    "config '{}': feed_forward_proj '{}' is not supported; expected \"relu\" "
                    "(original T5) or \"gated-gelu\" (T5 v1.1, flan-t5)",
                    r.path(), proj);
    c.gated_ffn = proj == "gated-gelu";
}

// XLNet (HF's XLNetConfig): d_head must be d_model / n_head (HF refuses anything else);
// mem_len defaults to 512 and null means none; clamp_len <= 0 means no clamp. Options HF runs
// that Lyra does not are refused here, each by name: attn_type "uni" (the causal mask of
// create_mask; the causal factorization order is the supported way to generate left to right),
// bi_data (pretraining's second, reversed position stream), reuse_len (mems keep only part of
// a segment). same_length only shapes attn_type "uni"'s mask, so it changes nothing for "bi".
void read_xlnet_config(const ConfigReader& r, HfConfig& c) {
    const json& j = r.raw();
    const std::string& path = r.path();
    auto refuse = [&](const std::string& what) {
        throw_error(ErrorKind::Unsupported, "config '{}': {}", path, what);
    };
    auto optional_int = [&](const char* key, int64_t fallback) {
        if (!j.contains(key)) return fallback;
        const json& v = j[key];
        if (v.is_null()) return int64_t{0};
        if (!v.is_number_integer())
            throw_error(ErrorKind::Corrupt, "config '{}': key '{}' is not an integer or null; got {}",
                        path, key, v.dump());
        return std::max<int64_t>(0, v.get<int64_t>());  // HF treats <= 0 as "none"
    };
    c.n_embd = r.positive_int("d_model");
    c.n_layer = r.positive_int("n_layer");
    c.n_head = r.positive_int("n_head");
    c.n_head_kv = c.n_head;
    c.n_ff = r.positive_int("d_inner");
    c.norm_eps = r.number("layer_norm_eps", 1e-12);
    c.tied = r.boolean("tie_word_embeddings", true);
    if (c.n_embd % c.n_head != 0)
        throw_error(ErrorKind::Corrupt, "config '{}': d_model {} is not a multiple of n_head {}",
                    path, c.n_embd, c.n_head);
    c.head_dim = r.positive_int("d_head", c.n_embd / c.n_head);
    if (c.head_dim * c.n_head != c.n_embd)
        throw_error(ErrorKind::Corrupt, "config '{}': d_head {} is not d_model / n_head = {}; "
                    "expected them equal, as HF's XLNetConfig requires", path, c.head_dim,
                    c.n_embd / c.n_head);
    if (c.n_embd % 2 != 0)
        throw_error(ErrorKind::Corrupt, "config '{}': d_model {} is odd; the sinusoid position "
                    "encoding needs it even", path, c.n_embd);
    c.hidden_act = r.string("ff_activation", "gelu");
    if (c.hidden_act == "swish") c.hidden_act = "silu";  // HF's ACT2FN: both are x * sigmoid(x)
    if (c.hidden_act == "gelu_pytorch_tanh") c.hidden_act = "gelu_new";
    if (c.hidden_act != "gelu" && c.hidden_act != "gelu_new" && c.hidden_act != "relu" &&
        c.hidden_act != "silu")
        refuse(fmt::format("ff_activation '{}' is not supported; expected gelu, gelu_new, relu or "
                           "swish", r.string("ff_activation", "")));
    const std::string attn = r.string("attn_type", "bi");
    if (attn != "bi")
        refuse(fmt::format("attn_type '{}' is not supported; expected 'bi' (for left-to-right "
                           "generation import with --factorization causal)", attn));
    if (r.boolean("bi_data", false))
        refuse("bi_data true is not supported (pretraining's extra reversed position stream); "
               "expected false");
    if (const int64_t reuse = optional_int("reuse_len", 0); reuse > 0)
        refuse(fmt::format("reuse_len {} is not supported (mems that keep only the first part of "
                           "a segment); expected null", reuse));
    c.mem_len = optional_int("mem_len", 512);
    c.clamp_len = optional_int("clamp_len", 0);
    c.untie_r = r.boolean("untie_r", true);
    // Lyra's cache: the memory plus one pretraining sequence (512 tokens). The causal order
    // slides it when it fills, keeping the last mem_len positions; the bidirectional order
    // re-reads the whole text for every token, so this is the longest text it generates.
    c.n_ctx = c.mem_len + 512;
}

HfConfig read_config(const std::string& dir) {
    const std::string path = (std::filesystem::path(dir) / "config.json").string();
    json j;
    try {
        j = json::parse(core::read_file(path));
    } catch (const json::exception& e) {
        throw_error(ErrorKind::Corrupt, "config '{}': bad JSON: {}", path, e.what());
    }
    if (!j.is_object())
        throw_error(ErrorKind::Corrupt, "config '{}': expected a JSON object, got {}", path, j.type_name());
    ConfigReader r(j, path);

    HfConfig c;
    c.arch = gguf_arch_of(j, path);
    c.name = j.contains("_name_or_path") && j["_name_or_path"].is_string()
                 ? j["_name_or_path"].get<std::string>()
                 : std::string();
    if (c.name.empty()) c.name = std::filesystem::path(dir).lexically_normal().filename().string();
    if (c.name.empty()) c.name = std::filesystem::absolute(dir).parent_path().filename().string();

    c.n_vocab = r.positive_int("vocab_size");
    if (c.arch == "transfo-xl") {
        read_transfo_xl_config(r, c);
        return c;
    }
    if (c.arch == "t5") {
        read_t5_config(r, c);
        return c;
    }
    if (c.arch == "xlnet") {
        read_xlnet_config(r, c);
        return c;
    }
    if (c.arch == "gpt2") {
        c.n_embd = r.positive_int("n_embd");
        c.n_layer = r.positive_int("n_layer");
        c.n_head = r.positive_int("n_head");
        c.n_head_kv = c.n_head;
        c.n_ff = r.positive_int("n_inner", 4 * c.n_embd);
        c.n_ctx = r.positive_int("n_positions", r.positive_int("n_ctx", 1024));
        c.norm_eps = r.number("layer_norm_epsilon", 1e-5);
        c.tied = r.boolean("tie_word_embeddings", true);
    } else if (c.arch == "gptneo") {
        c.n_embd = r.positive_int("hidden_size");
        c.n_layer = r.positive_int("num_layers");
        c.n_head = r.positive_int("num_heads");
        c.n_head_kv = c.n_head;
        c.n_ff = r.positive_int("intermediate_size", 4 * c.n_embd);
        c.n_ctx = r.positive_int("max_position_embeddings", 2048);
        c.norm_eps = r.number("layer_norm_epsilon", 1e-5);
        c.tied = r.boolean("tie_word_embeddings", true);
        c.sliding_window = r.positive_int("window_size", 256);
        c.local_layers = gptneo_local_layers(j, c.n_layer, path);
        // Lyra's MLP is GELU (tanh), which is HF's "gelu_new" (every GPT-Neo checkpoint's).
        const std::string act = j.value("activation_function", std::string("gelu_new"));
        if (act != "gelu_new" && act != "gelu_pytorch_tanh")
            throw_error(ErrorKind::Unsupported,
                        "config '{}': activation_function '{}' is not supported; expected gelu_new",
                        path, act);
    } else if (is_encoder_arch(c.arch)) {
        read_encoder_config(r, c);
    } else {
        c.n_embd = r.positive_int("hidden_size");
        c.n_layer = r.positive_int("num_hidden_layers");
        c.n_head = r.positive_int("num_attention_heads");
        c.n_head_kv = r.positive_int("num_key_value_heads", c.n_head);
        c.n_ff = r.positive_int("intermediate_size");
        c.n_ctx = r.positive_int("max_position_embeddings", 2048);
        c.norm_eps = r.number("rms_norm_eps", 1e-6);
        c.rope_theta = r.number("rope_theta", 10000.0);
        c.tied = r.boolean("tie_word_embeddings", false);
        if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
            if (!j["rope_scaling"].is_object())
                throw_error(ErrorKind::Corrupt, "config '{}': rope_scaling is not an object; got {}",
                            path, j["rope_scaling"].dump());
            c.rope_scaling = j["rope_scaling"];
        }
    }
    if (c.n_embd % c.n_head != 0 && !r.has("head_dim"))
        throw_error(ErrorKind::Corrupt,
                    "config '{}': hidden size {} is not a multiple of the head count {}", path,
                    c.n_embd, c.n_head);
    c.head_dim = r.positive_int("head_dim", c.n_embd / c.n_head);
    if (c.n_head % c.n_head_kv != 0)
        throw_error(ErrorKind::Corrupt,
                    "config '{}': num_attention_heads {} is not a multiple of num_key_value_heads {}",
                    path, c.n_head, c.n_head_kv);
    if (c.head_dim % 2 != 0 && c.arch != "gpt2" && c.arch != "gptneo" && !is_encoder_arch(c.arch))
        throw_error(ErrorKind::Corrupt, "config '{}': head dim {} is odd; RoPE needs it even", path,
                    c.head_dim);
    return c;
}

std::string shape_text(const std::vector<int64_t>& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

// Reads HF tensors, checks their shapes, and emits GGUF tensors in the chosen dtype.
class Converter {
public:
    Converter(const SafetensorsModel& st, GgufWriter& out, std::optional<DType> out_type, std::string dir)
        : st_(st), out_(out), out_type_(out_type), dir_(std::move(dir)) {}

    bool has(const std::string& name) const { return st_.has(name); }

    std::vector<float> load(const std::string& name, const std::vector<int64_t>& shape) {
        const SafetensorsEntry& e = st_.get(name);
        if (e.shape != shape)
            throw_error(ErrorKind::Corrupt,
                        "model '{}': tensor '{}' has shape {}, expected {} from config.json",
                        dir_, name, shape_text(e.shape), shape_text(shape));
        if (!e.dtype)
            throw_error(ErrorKind::Unsupported,
                        "model '{}': tensor '{}' has dtype {}; expected F32, F16 or BF16", dir_, name,
                        e.dtype_name);
        used_.insert(name);
        last_dtype_ = *e.dtype;
        return safetensors_to_f32(e);
    }

    // `shape` is PyTorch order ([out, in] for weights).
    void emit(const std::string& gguf_name, const std::vector<float>& v, const std::vector<int64_t>& shape) {
        const DType t = shape.size() == 1 ? DType::F32 : out_type_.value_or(last_dtype_);
        std::vector<uint8_t> bytes(v.size() * (t == DType::F32 ? 4 : 2));
        if (t == DType::F32) {
            std::memcpy(bytes.data(), v.data(), bytes.size());
        } else {
            for (size_t i = 0; i < v.size(); ++i) {
                const uint16_t h = t == DType::F16 ? core::fp32_to_fp16(v[i]) : core::fp32_to_bf16(v[i]);
                std::memcpy(bytes.data() + 2 * i, &h, 2);
            }
        }
        core::Tensor tensor;
        tensor.dtype = t;
        for (int64_t d : shape) tensor.shape[static_cast<size_t>(tensor.n_dims++)] = d;
        tensor.data = bytes.data();
        out_.add_tensor(gguf_name, tensor);
    }

    // Straight copy: HF and GGUF agree on the [out, in] layout.
    void copy(const std::string& hf, const std::string& gguf, const std::vector<int64_t>& shape) {
        emit(gguf, load(hf, shape), shape);
    }
    void copy_if_present(const std::string& hf, const std::string& gguf, const std::vector<int64_t>& shape) {
        if (has(hf)) copy(hf, gguf, shape);
    }

    // GPT-2 Conv1D stores [in, out]; GGUF wants [out, in].
    void copy_transposed(const std::string& hf, const std::string& gguf, int64_t in, int64_t out) {
        const std::vector<float> w = load(hf, {in, out});
        std::vector<float> t(w.size());
        for (int64_t i = 0; i < in; ++i)
            for (int64_t o = 0; o < out; ++o)
                t[static_cast<size_t>(o * in + i)] = w[static_cast<size_t>(i * out + o)];
        emit(gguf, t, {out, in});
    }

    void mark_ignored(const std::string& name) { used_.insert(name); }

    // Every HF tensor must have been converted or deliberately ignored; anything else means a
    // variant this importer does not understand (it would otherwise be silently dropped).
    void check_all_used(const std::string& arch) const {
        for (const auto& name : st_.names()) {
            if (used_.count(name)) continue;
            throw_error(ErrorKind::Unsupported,
                        "model '{}': tensor '{}' has no place in a {} GGUF; expected only the "
                        "tensors of a standard {} checkpoint",
                        dir_, name, arch, arch);
        }
    }

private:
    const SafetensorsModel& st_;
    GgufWriter& out_;
    std::optional<DType> out_type_;
    std::string dir_;
    DType last_dtype_ = DType::F32;
    std::set<std::string> used_;
};

void convert_llama_like(const HfConfig& c, Converter& cv) {
    const int64_t C = c.n_embd, D = c.head_dim, H = c.n_head, Hkv = c.n_head_kv, F = c.n_ff, V = c.n_vocab;
    // Llama checkpoints are converted for interleaved RoPE (pairs 2j, 2j+1); Qwen2 GGUF files
    // keep HF's half-split order and run NeoX-style RoPE instead.
    const bool permute = c.arch == "llama";
    cv.copy("model.embed_tokens.weight", "token_embd.weight", {V, C});
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        const std::string b = "blk." + std::to_string(i) + ".";
        cv.copy(p + "input_layernorm.weight", b + "attn_norm.weight", {C});
        const struct {
            const char* hf;
            const char* gguf;
            int64_t heads;
            bool rope;
        } qkv[] = {{"q_proj", "attn_q", H, true}, {"k_proj", "attn_k", Hkv, true}, {"v_proj", "attn_v", Hkv, false}};
        for (const auto& m : qkv) {
            const std::string w = p + "self_attn." + m.hf + ".weight";
            const std::string bias = p + "self_attn." + m.hf + ".bias";
            std::vector<float> wv = cv.load(w, {m.heads * D, C});
            if (permute && m.rope) wv = permute_qk_for_interleaved_rope(wv, m.heads * D, C, m.heads);
            cv.emit(b + m.gguf + ".weight", wv, {m.heads * D, C});
            if (cv.has(bias)) {
                std::vector<float> bv = cv.load(bias, {m.heads * D});
                if (permute && m.rope) bv = permute_qk_for_interleaved_rope(bv, m.heads * D, 1, m.heads);
                cv.emit(b + m.gguf + ".bias", bv, {m.heads * D});
            } else if (c.arch == "qwen2") {
                throw_error(ErrorKind::Corrupt, "qwen2 model: tensor '{}' is missing; Qwen2 has q/k/v biases",
                            bias);
            }
        }
        cv.copy(p + "self_attn.o_proj.weight", b + "attn_output.weight", {C, H * D});
        cv.copy_if_present(p + "self_attn.o_proj.bias", b + "attn_output.bias", {C});
        cv.copy(p + "post_attention_layernorm.weight", b + "ffn_norm.weight", {C});
        cv.copy(p + "mlp.gate_proj.weight", b + "ffn_gate.weight", {F, C});
        cv.copy(p + "mlp.up_proj.weight", b + "ffn_up.weight", {F, C});
        cv.copy(p + "mlp.down_proj.weight", b + "ffn_down.weight", {C, F});
        cv.mark_ignored(p + "self_attn.rotary_emb.inv_freq");
    }
    cv.copy("model.norm.weight", "output_norm.weight", {C});
    if (!c.tied && cv.has("lm_head.weight")) cv.copy("lm_head.weight", "output.weight", {V, C});
    cv.mark_ignored("lm_head.weight");
}

void convert_gpt2(const HfConfig& c, Converter& cv, const SafetensorsModel& st) {
    const int64_t C = c.n_embd, F = c.n_ff, V = c.n_vocab;
    // GPT2LMHeadModel saves "transformer.h.0...."; the original OpenAI export has no prefix.
    const std::string t = st.has("transformer.wte.weight") ? "transformer." : "";
    cv.copy(t + "wte.weight", "token_embd.weight", {V, C});
    const auto& wpe = st.get(t + "wpe.weight");
    if (wpe.shape.size() != 2 || wpe.shape[1] != C || wpe.shape[0] < 1)
        throw_error(ErrorKind::Corrupt, "gpt2 model: tensor '{}' has shape {}, expected [n_positions, {}]",
                    wpe.name, shape_text(wpe.shape), C);
    cv.copy(t + "wpe.weight", "position_embd.weight", wpe.shape);
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = t + "h." + std::to_string(i) + ".";
        const std::string b = "blk." + std::to_string(i) + ".";
        cv.copy(p + "ln_1.weight", b + "attn_norm.weight", {C});
        cv.copy(p + "ln_1.bias", b + "attn_norm.bias", {C});
        cv.copy_transposed(p + "attn.c_attn.weight", b + "attn_qkv.weight", C, 3 * C);
        cv.copy(p + "attn.c_attn.bias", b + "attn_qkv.bias", {3 * C});
        cv.copy_transposed(p + "attn.c_proj.weight", b + "attn_output.weight", C, C);
        cv.copy(p + "attn.c_proj.bias", b + "attn_output.bias", {C});
        cv.copy(p + "ln_2.weight", b + "ffn_norm.weight", {C});
        cv.copy(p + "ln_2.bias", b + "ffn_norm.bias", {C});
        cv.copy_transposed(p + "mlp.c_fc.weight", b + "ffn_up.weight", C, F);
        cv.copy(p + "mlp.c_fc.bias", b + "ffn_up.bias", {F});
        cv.copy_transposed(p + "mlp.c_proj.weight", b + "ffn_down.weight", F, C);
        cv.copy(p + "mlp.c_proj.bias", b + "ffn_down.bias", {C});
        // Causal-mask buffers some exports keep; GGUF has no use for them.
        cv.mark_ignored(p + "attn.bias");
        cv.mark_ignored(p + "attn.masked_bias");
    }
    cv.copy(t + "ln_f.weight", "output_norm.weight", {C});
    cv.copy(t + "ln_f.bias", "output_norm.bias", {C});
    if (!c.tied && cv.has("lm_head.weight")) cv.copy("lm_head.weight", "output.weight", {V, C});
    cv.mark_ignored("lm_head.weight");
}

// GPT-Neo: GPT-2's layout with nn.Linear weights (already [out, in]) and separate q/k/v
// projections without biases.
void convert_gptneo(const HfConfig& c, Converter& cv) {
    const int64_t C = c.n_embd, F = c.n_ff, V = c.n_vocab;
    cv.copy("transformer.wte.weight", "token_embd.weight", {V, C});
    cv.copy("transformer.wpe.weight", "position_embd.weight", {c.n_ctx, C});
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "transformer.h." + std::to_string(i) + ".";
        const std::string b = "blk." + std::to_string(i) + ".";
        cv.copy(p + "ln_1.weight", b + "attn_norm.weight", {C});
        cv.copy(p + "ln_1.bias", b + "attn_norm.bias", {C});
        cv.copy(p + "attn.attention.q_proj.weight", b + "attn_q.weight", {C, C});
        cv.copy(p + "attn.attention.k_proj.weight", b + "attn_k.weight", {C, C});
        cv.copy(p + "attn.attention.v_proj.weight", b + "attn_v.weight", {C, C});
        cv.copy(p + "attn.attention.out_proj.weight", b + "attn_output.weight", {C, C});
        cv.copy(p + "attn.attention.out_proj.bias", b + "attn_output.bias", {C});
        cv.copy(p + "ln_2.weight", b + "ffn_norm.weight", {C});
        cv.copy(p + "ln_2.bias", b + "ffn_norm.bias", {C});
        cv.copy(p + "mlp.c_fc.weight", b + "ffn_up.weight", {F, C});
        cv.copy(p + "mlp.c_fc.bias", b + "ffn_up.bias", {F});
        cv.copy(p + "mlp.c_proj.weight", b + "ffn_down.weight", {C, F});
        cv.copy(p + "mlp.c_proj.bias", b + "ffn_down.bias", {C});
        // Mask buffers older exports keep; the masks follow from the layer kinds instead.
        cv.mark_ignored(p + "attn.attention.bias");
        cv.mark_ignored(p + "attn.attention.masked_bias");
    }
    cv.copy("transformer.ln_f.weight", "output_norm.weight", {C});
    cv.copy("transformer.ln_f.bias", "output_norm.bias", {C});
    if (!c.tied && cv.has("lm_head.weight")) cv.copy("lm_head.weight", "output.weight", {V, C});
    cv.mark_ignored("lm_head.weight");
}

// BERT, RoBERTa, ALBERT (docs/formats/gguf.md, "Encoders"): post-LN blocks with biased q/k/v,
// token-type embeddings, an optional pooler and an optional masked-LM head. A bare XxxModel
// saves its tensors without the "bert."/"roberta."/"albert." prefix its heads put before them.
void convert_encoder(const HfConfig& c, Converter& cv) {
    const int64_t C = c.n_embd, E = c.n_embd_tok, F = c.n_ff, V = c.n_vocab;
    const bool albert = c.arch == "albert";
    const std::string p = cv.has(c.arch + ".embeddings.word_embeddings.weight") ? c.arch + "." : "";
    const std::string e = p + "embeddings.";
    cv.copy(e + "word_embeddings.weight", "token_embd.weight", {V, E});
    {
        const std::vector<float> pos = cv.load(e + "position_embeddings.weight", {c.n_positions, E});
        const auto skip = static_cast<size_t>(c.pos_offset * E);
        cv.emit("position_embd.weight", std::vector<float>(pos.begin() + static_cast<std::ptrdiff_t>(skip), pos.end()),
                {c.n_ctx, E});
    }
    cv.copy(e + "token_type_embeddings.weight", "token_types.weight", {c.n_token_types, E});
    cv.copy(e + "LayerNorm.weight", "token_embd_norm.weight", {E});
    cv.copy(e + "LayerNorm.bias", "token_embd_norm.bias", {E});
    cv.mark_ignored(e + "position_ids");  // buffers some exports keep
    cv.mark_ignored(e + "token_type_ids");
    if (albert) {
        cv.copy(p + "encoder.embedding_hidden_mapping_in.weight", "token_embd_proj.weight", {C, E});
        cv.copy(p + "encoder.embedding_hidden_mapping_in.bias", "token_embd_proj.bias", {C});
    }
    // One weight set per layer (bert, roberta) or per group of layers (albert).
    for (int64_t i = 0; i < c.n_group; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        const std::string l = albert ? fmt::format("{}encoder.albert_layer_groups.{}.albert_layers.0.", p, i)
                                     : fmt::format("{}encoder.layer.{}.", p, i);
        const std::string att = albert ? l + "attention." : l + "attention.self.";
        const std::string out = albert ? l + "attention.dense" : l + "attention.output.dense";
        const std::string ln1 = albert ? l + "attention.LayerNorm" : l + "attention.output.LayerNorm";
        const std::string up = albert ? l + "ffn" : l + "intermediate.dense";
        const std::string down = albert ? l + "ffn_output" : l + "output.dense";
        const std::string ln2 = albert ? l + "full_layer_layer_norm" : l + "output.LayerNorm";
        const struct { std::string hf, gguf; int64_t rows, cols; } linear[] = {
            {att + "query", "attn_q", C, C},  {att + "key", "attn_k", C, C},
            {att + "value", "attn_v", C, C},  {out, "attn_output", C, C},
            {up, "ffn_up", F, C},             {down, "ffn_down", C, F}};
        for (const auto& m : linear) {
            cv.copy(m.hf + ".weight", b + m.gguf + ".weight", {m.rows, m.cols});
            cv.copy(m.hf + ".bias", b + m.gguf + ".bias", {m.rows});
        }
        for (const auto& [hf, gguf] : {std::pair{ln1, "attn_output_norm"}, std::pair{ln2, "layer_output_norm"}}) {
            cv.copy(hf + ".weight", b + gguf + ".weight", {C});
            cv.copy(hf + ".bias", b + gguf + ".bias", {C});
        }
    }
    // The pooler (dense + tanh on [CLS]) is llama.cpp's "cls"; MLM checkpoints often lack it.
    const std::string pool = albert ? p + "pooler" : p + "pooler.dense";
    cv.copy_if_present(pool + ".weight", "cls.weight", {C, C});
    cv.copy_if_present(pool + ".bias", "cls.bias", {C});
    // The masked-LM head: dense (hidden -> token embedding width) + act + LayerNorm, then the
    // decoder, tied to the word embeddings, plus a bias of its own.
    const std::string h = c.arch == "bert" ? "cls.predictions." : albert ? "predictions." : "lm_head.";
    const std::string dense = c.arch == "bert" ? h + "transform.dense" : h + "dense";
    const std::string norm = c.arch == "bert" ? h + "transform.LayerNorm" : albert ? h + "LayerNorm" : h + "layer_norm";
    const bool mlm = c.hf_class.ends_with("ForMaskedLM");
    if (mlm || cv.has(dense + ".weight")) {
        cv.copy(dense + ".weight", "mlm_dense.weight", {E, C});
        cv.copy(dense + ".bias", "mlm_dense.bias", {E});
        cv.copy(norm + ".weight", "mlm_norm.weight", {E});
        cv.copy(norm + ".bias", "mlm_norm.bias", {E});
        // HF ties decoder.bias to the head's bias; safetensors keeps one or both.
        cv.copy(cv.has(h + "bias") ? h + "bias" : h + "decoder.bias", "output.bias", {V});
        cv.mark_ignored(h + "decoder.bias");
        if (!c.tied) cv.copy(h + "decoder.weight", "output.weight", {V, E});
        cv.mark_ignored(h + "decoder.weight");
    }
    // Pre-training heads Lyra has no use for: BERT's next-sentence and ALBERT's sentence-order
    // classifiers (bert-base-uncased and albert-base-v2 ship them).
    for (const char* n : {"cls.seq_relationship.weight", "cls.seq_relationship.bias",
                          "sop_classifier.classifier.weight", "sop_classifier.classifier.bias"})
        cv.mark_ignored(n);
}

// Transformer-XL: the adaptive embedding and softmax become per-cluster tensors (div_val 1
// stores one table for the whole vocabulary; it is split at the cutoffs), output projections are
// transposed to [e_k, C] matmul weights, r_w_bias/r_r_bias are written per layer (copied when
// untie_r is false), and the output tables are left out when tied (the runtime reads
// token_embd.k). Tied projections (tie_projs) are written out, transposed from the embedding's.
void convert_transfo_xl(const HfConfig& c, Converter& cv) {
    const int64_t C = c.n_embd, F = c.n_ff, V = c.n_vocab, HD = c.n_head * c.head_dim;
    const auto n_clusters = static_cast<int64_t>(c.cutoffs.size()) + 1;
    const std::string e = "transformer.word_emb.", t = "transformer.";
    auto bound = [&](int64_t k) { return k == 0 ? 0 : k == n_clusters ? V : c.cutoffs[static_cast<size_t>(k - 1)]; };
    auto width = [&](int64_t k) {
        int64_t w = c.d_embed;
        for (int64_t i = 0; i < k && c.div_val > 1; ++i) w /= c.div_val;
        return w;
    };
    auto rows = [](const std::vector<float>& m, int64_t cols, int64_t b, int64_t end) {
        return std::vector<float>(m.begin() + b * cols, m.begin() + end * cols);
    };
    auto transpose = [](const std::vector<float>& m, int64_t r, int64_t cols) {
        std::vector<float> out(m.size());
        for (int64_t i = 0; i < r; ++i)
            for (int64_t j = 0; j < cols; ++j) out[static_cast<size_t>(j * r + i)] = m[static_cast<size_t>(i * cols + j)];
        return out;
    };
    // The tables HF holds: one per cluster, or one for all when div_val is 1.
    const int64_t n_tables = c.div_val == 1 ? 1 : n_clusters;
    std::vector<std::vector<float>> emb(static_cast<size_t>(n_tables)), emb_proj(static_cast<size_t>(n_tables));
    std::vector<std::vector<float>> out_w(static_cast<size_t>(n_tables)), out_b(static_cast<size_t>(n_tables));
    for (int64_t k = 0; k < n_tables; ++k) {
        const auto i = static_cast<size_t>(k);
        const int64_t n = c.div_val == 1 ? V : bound(k + 1) - bound(k), w = width(k);
        const std::string ks = std::to_string(k);
        const std::string emb_name = e + "emb_layers." + ks + ".weight", out_name = "crit.out_layers." + ks + ".weight";
        // A tied pair may be saved under either name (safetensors keeps one copy).
        emb[i] = cv.load(cv.has(emb_name) || !c.tied ? emb_name : out_name, {n, w});
        if (c.tied) {
            cv.mark_ignored(out_name);
        } else {
            out_w[i] = cv.load(out_name, {n, w});
        }
        out_b[i] = cv.load("crit.out_layers." + ks + ".bias", {n});
        if (c.div_val > 1 || C != c.d_embed) emb_proj[i] = cv.load(e + "emb_projs." + ks, {C, w});
    }
    for (int64_t k = 0; k < n_clusters; ++k) {
        const auto i = static_cast<size_t>(c.div_val == 1 ? 0 : k);
        const int64_t w = width(k), n = bound(k + 1) - bound(k);
        const int64_t b = c.div_val == 1 ? bound(k) : 0;
        const std::string ks = std::to_string(k);
        cv.emit("token_embd." + ks + ".weight", rows(emb[i], w, b, b + n), {n, w});
        if (!emb_proj[i].empty()) cv.emit("token_embd_proj." + ks + ".weight", emb_proj[i], {C, w});
        if (!c.tied) cv.emit("output." + ks + ".weight", rows(out_w[i], w, b, b + n), {n, w});
        cv.emit("output." + ks + ".bias", rows(out_b[i], 1, b, b + n), {n});
        // HF's output projection [C, e_k] is applied as h·P; GGUF stores P^T as a [e_k, C] weight.
        const std::string own = "crit.out_projs." + ks;
        const bool tie = k < static_cast<int64_t>(c.tie_projs.size()) && c.tie_projs[static_cast<size_t>(k)] &&
                         !emb_proj[i].empty();
        std::vector<float> proj;
        if (tie) {
            proj = emb_proj[i];
            cv.mark_ignored(own);
        } else if (c.div_val > 1 || C != c.d_embed) {
            proj = cv.load(own, {C, w});
        }
        if (!proj.empty()) cv.emit("output_proj." + ks + ".weight", transpose(proj, C, w), {w, C});
    }
    if (n_clusters > 1) {
        cv.copy("crit.cluster_weight", "output_cluster.weight", {n_clusters - 1, c.d_embed});
        cv.copy("crit.cluster_bias", "output_cluster.bias", {n_clusters - 1});
    }
    cv.mark_ignored(t + "pos_emb.inv_freq");  // the sinusoid's frequencies follow from d_model
    std::vector<float> r_w, r_r;
    if (!c.untie_r) {
        r_w = cv.load(t + "r_w_bias", {c.n_head, c.head_dim});
        r_r = cv.load(t + "r_r_bias", {c.n_head, c.head_dim});
    }
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const std::string p = t + "layers." + std::to_string(l) + ".";
        const std::string b = "blk." + std::to_string(l) + ".";
        cv.copy(p + "dec_attn.qkv_net.weight", b + "attn_qkv.weight", {3 * HD, C});
        cv.copy(p + "dec_attn.r_net.weight", b + "attn_pos.weight", {HD, C});
        cv.copy(p + "dec_attn.o_net.weight", b + "attn_output.weight", {C, HD});
        if (c.untie_r) {
            cv.emit(b + "attn_r_w_bias", cv.load(p + "dec_attn.r_w_bias", {c.n_head, c.head_dim}), {HD});
            cv.emit(b + "attn_r_r_bias", cv.load(p + "dec_attn.r_r_bias", {c.n_head, c.head_dim}), {HD});
        } else {
            cv.emit(b + "attn_r_w_bias", r_w, {HD});
            cv.emit(b + "attn_r_r_bias", r_r, {HD});
        }
        cv.copy(p + "dec_attn.layer_norm.weight", b + "attn_norm.weight", {C});
        cv.copy(p + "dec_attn.layer_norm.bias", b + "attn_norm.bias", {C});
        cv.copy(p + "pos_ff.CoreNet.0.weight", b + "ffn_up.weight", {F, C});
        cv.copy(p + "pos_ff.CoreNet.0.bias", b + "ffn_up.bias", {F});
        cv.copy(p + "pos_ff.CoreNet.3.weight", b + "ffn_down.weight", {C, F});
        cv.copy(p + "pos_ff.CoreNet.3.bias", b + "ffn_down.bias", {C});
        cv.copy(p + "pos_ff.layer_norm.weight", b + "ffn_norm.weight", {C});
        cv.copy(p + "pos_ff.layer_norm.bias", b + "ffn_norm.bias", {C});
    }
}

// T5: HF's encoder.block.N.layer.M / decoder.block.N.layer.M modules become llama.cpp's
// enc.blk.N.* / dec.blk.N.* tensors (docs/formats/gguf.md, "T5"). nn.Linear weights are already
// [out, in] and T5 has no biases. The relative attention bias lives in block 0 of each stack.
void convert_t5(const HfConfig& c, Converter& cv) {
    const int64_t C = c.n_embd, F = c.n_ff, V = c.n_vocab, H = c.n_head, HD = c.n_head * c.head_dim;
    cv.copy("shared.weight", "token_embd.weight", {V, C});
    cv.mark_ignored("encoder.embed_tokens.weight");  // both stacks' copies of shared.weight
    cv.mark_ignored("decoder.embed_tokens.weight");
    auto attention = [&](const std::string& p, const std::string& b, const std::string& g) {
        cv.copy(p + "q.weight", b + g + "_q.weight", {HD, C});
        cv.copy(p + "k.weight", b + g + "_k.weight", {HD, C});
        cv.copy(p + "v.weight", b + g + "_v.weight", {HD, C});
        cv.copy(p + "o.weight", b + g + "_o.weight", {C, HD});
    };
    auto ffn = [&](const std::string& p, const std::string& b) {
        const std::string d = p + "DenseReluDense.";
        if (c.gated_ffn) {
            cv.copy(d + "wi_0.weight", b + "ffn_gate.weight", {F, C});
            cv.copy(d + "wi_1.weight", b + "ffn_up.weight", {F, C});
        } else {
            cv.copy(d + "wi.weight", b + "ffn_up.weight", {F, C});
        }
        cv.copy(d + "wo.weight", b + "ffn_down.weight", {C, F});
        cv.copy(p + "layer_norm.weight", b + "ffn_norm.weight", {C});
    };
    for (const char* stack : {"encoder", "decoder"}) {
        const bool dec = stack[0] == 'd';
        const std::string s = std::string(stack) + ".", g = dec ? "dec." : "enc.";
        for (int64_t i = 0; i < (dec ? c.n_layer_dec : c.n_layer); ++i) {
            const std::string p = s + "block." + std::to_string(i) + ".layer.";
            const std::string b = g + "blk." + std::to_string(i) + ".";
            attention(p + "0.SelfAttention.", b, "attn");
            cv.copy(p + "0.layer_norm.weight", b + "attn_norm.weight", {C});
            if (i == 0)
                cv.copy(p + "0.SelfAttention.relative_attention_bias.weight", b + "attn_rel_b.weight",
                        {c.rel_buckets, H});
            if (dec) {
                attention(p + "1.EncDecAttention.", b, "cross_attn");
                cv.copy(p + "1.layer_norm.weight", b + "cross_attn_norm.weight", {C});
            }
            ffn(p + (dec ? "2." : "1."), b);
        }
        cv.copy(s + "final_layer_norm.weight", g + "output_norm.weight", {C});
    }
    if (!c.tied) cv.copy("lm_head.weight", "output.weight", {V, C});
    cv.mark_ignored("lm_head.weight");  // tied: a copy of shared.weight
}

// XLNet: HF's attention parameters are [C, H, D] einsum weights. q, k, v and r are applied as
// h·W, so GGUF stores their transpose as [H*D, C] matmul weights; o is applied as W·vec and is
// already [C, H*D]. seg_embed [2, H, D] becomes a flat [2*H*D] vector, mask_emb [1, 1, C] a [C]
// one. With untie_r false the original (TensorFlow) layout has one transformer.r_w_bias (and
// r_r_bias, r_s_bias, seg_embed) for all layers; HF's PyTorch classes keep them per layer
// whatever untie_r says, so both layouts are read. The LM head is tied to the embedding unless
// tie_word_embeddings is false; a bare XLNetModel has no lm_loss and gets no output bias.
void convert_xlnet(const HfConfig& c, Converter& cv) {
    const int64_t C = c.n_embd, F = c.n_ff, V = c.n_vocab, H = c.n_head, D = c.head_dim, HD = H * D;
    const std::string t = cv.has("transformer.word_embedding.weight") ? "transformer." : "";
    auto transposed = [&](const std::string& hf, const std::string& gguf) {
        const std::vector<float> w = cv.load(hf, {C, H, D});
        std::vector<float> out(w.size());
        for (int64_t i = 0; i < C; ++i)
            for (int64_t o = 0; o < HD; ++o) out[static_cast<size_t>(o * C + i)] = w[static_cast<size_t>(i * HD + o)];
        cv.emit(gguf, out, {HD, C});
    };
    cv.copy(t + "word_embedding.weight", "token_embd.weight", {V, C});
    cv.emit("mask_embd", cv.load(t + "mask_emb", {1, 1, C}), {C});
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const std::string p = t + "layer." + std::to_string(l) + ".", a = p + "rel_attn.";
        const std::string b = "blk." + std::to_string(l) + ".";
        transposed(a + "q", b + "attn_q.weight");
        transposed(a + "k", b + "attn_k.weight");
        transposed(a + "v", b + "attn_v.weight");
        transposed(a + "r", b + "attn_pos.weight");
        cv.emit(b + "attn_output.weight", cv.load(a + "o", {C, H, D}), {C, HD});
        for (const auto& [hf, gguf] : {std::pair{"r_w_bias", "attn_r_w_bias"},
                                       std::pair{"r_r_bias", "attn_r_r_bias"},
                                       std::pair{"r_s_bias", "attn_r_s_bias"}}) {
            const std::string own = a + hf;
            cv.emit(b + gguf, cv.load(cv.has(own) || c.untie_r ? own : t + hf, {H, D}), {HD});
        }
        const std::string seg = cv.has(a + "seg_embed") || c.untie_r ? a + "seg_embed" : t + "seg_embed";
        cv.emit(b + "attn_seg_embd", cv.load(seg, {2, H, D}), {2 * HD});
        cv.copy(a + "layer_norm.weight", b + "attn_norm.weight", {C});
        cv.copy(a + "layer_norm.bias", b + "attn_norm.bias", {C});
        cv.copy(p + "ff.layer_1.weight", b + "ffn_up.weight", {F, C});
        cv.copy(p + "ff.layer_1.bias", b + "ffn_up.bias", {F});
        cv.copy(p + "ff.layer_2.weight", b + "ffn_down.weight", {C, F});
        cv.copy(p + "ff.layer_2.bias", b + "ffn_down.bias", {C});
        cv.copy(p + "ff.layer_norm.weight", b + "ffn_norm.weight", {C});
        cv.copy(p + "ff.layer_norm.bias", b + "ffn_norm.bias", {C});
    }
    if (cv.has("lm_loss.bias")) {
        cv.copy("lm_loss.bias", "output.bias", {V});
        if (!c.tied) cv.copy("lm_loss.weight", "output.weight", {V, C});
    }
    cv.mark_ignored("lm_loss.weight");  // tied: a copy of the embedding
}

void write_hparams(const HfConfig& c, GgufWriter& w, std::optional<DType> out_type) {
    const std::string& a = c.arch;
    auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
    w.set_string("general.architecture", a);
    w.set_string("general.name", c.name);
    if (out_type) {
        // llama.cpp's file_type numbers: 0 all F32, 1 mostly F16, 32 mostly BF16.
        const uint32_t ft = *out_type == DType::F32 ? 0 : *out_type == DType::F16 ? 1 : 32;
        w.set_u32("general.file_type", ft);
    }
    w.set_u32(a + ".vocab_size", u32(c.n_vocab));
    w.set_u32(a + ".context_length", u32(c.n_ctx));
    w.set_u32(a + ".embedding_length", u32(c.n_embd));
    w.set_u32(a + ".block_count", u32(c.n_layer));
    w.set_u32(a + ".feed_forward_length", u32(c.n_ff));
    w.set_u32(a + ".attention.head_count", u32(c.n_head));
    w.set_u32(a + ".attention.head_count_kv", u32(c.n_head_kv));
    if (is_encoder_arch(a)) {  // docs/formats/gguf.md, "Encoders"
        w.set_f32(a + ".attention.layer_norm_epsilon", static_cast<float>(c.norm_eps));
        w.set_bool(a + ".attention.causal", false);
        w.set_string(a + ".hidden_act", c.hidden_act);
        w.set_u32("tokenizer.ggml.token_type_count", u32(c.n_token_types));
        if (a == "albert") {
            w.set_u32(a + ".token_embedding_length", u32(c.n_embd_tok));
            w.set_u32(a + ".layer_group_count", u32(c.n_group));
        }
        return;
    }
    if (a == "transfo-xl") {  // docs/formats/gguf.md, "Transformer-XL"
        w.set_u32(a + ".attention.key_length", u32(c.head_dim));
        w.set_u32(a + ".attention.value_length", u32(c.head_dim));
        w.set_f32(a + ".attention.layer_norm_epsilon", static_cast<float>(c.norm_eps));
        w.set_bool(a + ".attention.same_length", c.same_length);
        w.set_u32(a + ".memory_length", u32(c.mem_len));
        w.set_u32(a + ".clamp_length", u32(c.clamp_len));
        w.set_bool(a + ".pre_layer_norm", c.pre_norm);
        w.set_u32(a + ".adaptive.embedding_length", u32(c.d_embed));
        w.set_u32(a + ".adaptive.div_val", u32(c.div_val));
        GgufArray cut{GgufType::Uint32, {}};
        for (int64_t v : c.cutoffs) cut.items.push_back({GgufType::Uint32, static_cast<uint64_t>(v)});
        w.set(a + ".adaptive.cutoffs", {GgufType::Array, std::move(cut)});
        return;
    }
    if (a == "xlnet") {  // docs/formats/gguf.md, "XLNet"
        w.set_u32(a + ".attention.key_length", u32(c.head_dim));
        w.set_u32(a + ".attention.value_length", u32(c.head_dim));
        w.set_f32(a + ".attention.layer_norm_epsilon", static_cast<float>(c.norm_eps));
        w.set_u32(a + ".memory_length", u32(c.mem_len));
        w.set_u32(a + ".clamp_length", u32(c.clamp_len));
        w.set_string(a + ".hidden_act", c.hidden_act);
        w.set_string(a + ".factorization", c.factorization);
        return;
    }
    if (a == "t5") {  // docs/formats/gguf.md, "T5"
        w.set_u32(a + ".decoder_block_count", u32(c.n_layer_dec));
        w.set_u32(a + ".attention.key_length", u32(c.head_dim));
        w.set_u32(a + ".attention.value_length", u32(c.head_dim));
        w.set_f32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.norm_eps));
        w.set_u32(a + ".attention.relative_buckets_count", u32(c.rel_buckets));
        w.set_u32(a + ".attention.relative_max_distance", u32(c.rel_max_distance));
        w.set_u32(a + ".decoder_start_token_id", u32(c.decoder_start));
        return;
    }
    if (a == "gpt2" || a == "gptneo") {
        w.set_f32(a + ".attention.layer_norm_epsilon", static_cast<float>(c.norm_eps));
        if (a == "gptneo") {  // docs/formats/gguf.md, "GPT-Neo"
            w.set_u32(a + ".attention.sliding_window", u32(c.sliding_window));
            GgufArray pattern{GgufType::Bool, {}};
            for (bool local : c.local_layers) pattern.items.push_back({GgufType::Bool, local});
            w.set(a + ".attention.sliding_window_pattern", {GgufType::Array, std::move(pattern)});
        }
        return;
    }
    w.set_f32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.norm_eps));
    w.set_f32(a + ".rope.freq_base", static_cast<float>(c.rope_theta));
    w.set_u32(a + ".rope.dimension_count", u32(c.head_dim));
    if (c.head_dim * c.n_head != c.n_embd) {
        w.set_u32(a + ".attention.key_length", u32(c.head_dim));
        w.set_u32(a + ".attention.value_length", u32(c.head_dim));
    }
}

// rope_scaling: "linear"/"yarn"/"dynamic" become rope.scaling.* keys; "llama3" becomes the
// rope_freqs.weight tensor (its frequency-dependent factors do not fit one scalar).
void write_rope_scaling(const HfConfig& c, GgufWriter& w) {
    if (c.rope_scaling.is_null()) return;
    const json& rs = c.rope_scaling;
    std::string type;
    if (rs.contains("rope_type") && rs["rope_type"].is_string()) type = rs["rope_type"].get<std::string>();
    else if (rs.contains("type") && rs["type"].is_string()) type = rs["type"].get<std::string>();
    auto num = [&](const char* key, double fallback) {
        if (!rs.contains(key) || rs[key].is_null()) return fallback;
        if (!rs[key].is_number())
            throw_error(ErrorKind::Corrupt, "config: rope_scaling.{} is not a number; got {}", key, rs[key].dump());
        return rs[key].get<double>();
    };
    const std::string& a = c.arch;
    if (type == "default" || type.empty()) return;
    if (type == "llama3") {
        const std::vector<float> factors = llama3_rope_freq_factors(
            c.rope_theta, c.head_dim, num("factor", 8.0), num("low_freq_factor", 1.0),
            num("high_freq_factor", 4.0), num("original_max_position_embeddings", 8192.0));
        core::Tensor t = core::make_tensor(DType::F32, {static_cast<int64_t>(factors.size())}, factors.data());
        w.add_tensor("rope_freqs.weight", t);
        return;
    }
    if (type != "linear" && type != "yarn" && type != "dynamic")
        throw_error(ErrorKind::Unsupported,
                    "config: rope_scaling type is not supported; expected linear, yarn, dynamic or "
                    "llama3, got '{}'",
                    type);
    w.set_string(a + ".rope.scaling.type", type);
    w.set_f32(a + ".rope.scaling.factor", static_cast<float>(num("factor", 1.0)));
    if (rs.contains("original_max_position_embeddings"))
        w.set_u32(a + ".rope.scaling.original_context_length",
                  static_cast<uint32_t>(num("original_max_position_embeddings", 0.0)));
}

json read_json_file(const std::filesystem::path& path) {
    try {
        return json::parse(core::read_file(path.string()));
    } catch (const json::exception& e) {
        throw_error(ErrorKind::Corrupt, "'{}': bad JSON: {}", path.string(), e.what());
    }
}

// The slow-tokenizer files GPT-2-style checkpoints ship instead of tokenizer.json (GPT-Neo's
// do): vocab.json {piece: id} and merges.txt ("#version" line, then "left right" per rank),
// written as the byte-level BPE tokenizer.json that describes the same tokenizer. The special
// tokens named in special_tokens_map.json / tokenizer_config.json become added tokens.
std::string byte_level_tokenizer_json(const std::filesystem::path& dir) {
    const json vocab = read_json_file(dir / "vocab.json");
    if (!vocab.is_object())
        throw_error(ErrorKind::Corrupt, "'{}': expected a JSON object of piece -> id",
                    (dir / "vocab.json").string());
    json merges = json::array();
    const std::string text = core::read_file((dir / "merges.txt").string());
    for (size_t at = 0; at < text.size();) {
        size_t end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(at, end - at);
        at = end + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line.rfind("#version", 0) == 0) continue;
        merges.push_back(line);
    }
    json added = json::array();
    std::set<std::string> seen;
    for (const char* file : {"special_tokens_map.json", "tokenizer_config.json"}) {
        if (!std::filesystem::exists(dir / file)) continue;
        const json cfg = read_json_file(dir / file);
        for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token", "cls_token",
                                "sep_token", "mask_token"}) {
            if (!cfg.is_object() || !cfg.contains(key)) continue;
            const json& t = cfg[key];
            const json* content = t.is_object() && t.contains("content") ? &t["content"] : &t;
            if (!content->is_string()) continue;
            const std::string piece = content->get<std::string>();
            if (!vocab.contains(piece) || !seen.insert(piece).second) continue;
            added.push_back({{"id", vocab[piece]}, {"content", piece}, {"single_word", false},
                             {"lstrip", false}, {"rstrip", false}, {"normalized", false},
                             {"special", true}});
        }
    }
    const json tj = {
        {"version", "1.0"},
        {"added_tokens", added},
        {"normalizer", nullptr},
        {"pre_tokenizer",
         {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
        {"post_processor", nullptr},
        {"decoder", {{"type", "ByteLevel"}}},
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
    };
    return tj.dump();
}

// tokenizer_config.json with bos/eos filled in from special_tokens_map.json where only that
// file names them (older GPT-2-style checkpoints).
std::string tokenizer_config_text(const std::filesystem::path& dir) {
    const auto tc = dir / "tokenizer_config.json", sm = dir / "special_tokens_map.json";
    if (!std::filesystem::exists(sm)) return std::filesystem::exists(tc) ? core::read_file(tc.string()) : "";
    json cfg = std::filesystem::exists(tc) ? read_json_file(tc) : json::object();
    const json map = read_json_file(sm);
    if (!cfg.is_object() || !map.is_object()) return std::filesystem::exists(tc) ? core::read_file(tc.string()) : "";
    for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token"})
        if ((!cfg.contains(key) || cfg[key].is_null()) && map.contains(key)) cfg[key] = map[key];
    return cfg.dump();
}

// An encoder wraps its input as [CLS] ... [SEP] and predicts at [MASK]: their ids go into the
// keys llama.cpp uses (tokenizer.ggml.cls_token_id, .seperator_token_id [sic], .mask_token_id).
// [CLS] and [SEP] are the tokens the tokenizer.json post-processor wraps a text in (the
// tokenizer's BOS/EOS with add_bos/add_eos), else those tokenizer_config.json /
// special_tokens_map.json name (cls_token, sep_token), else the conventional [CLS] / <s> and
// [SEP] / </s>; the mask is the tokenizer's own (mask_token or the conventional [MASK] /
// <mask>). [CLS] and [SEP] are required; a file without a mask token cannot fill masks.
void write_encoder_specials(const std::filesystem::path& dir, const Tokenizer& tok, GgufWriter& w) {
    json cfg = json::object();
    for (const char* file : {"special_tokens_map.json", "tokenizer_config.json"})
        if (std::filesystem::exists(dir / file))
            if (const json j = read_json_file(dir / file); j.is_object()) cfg.update(j);
    const struct { const char* cfg_key; const char* gguf_key; const char* texts[2]; bool required; } specials[] = {
        {"cls_token", "tokenizer.ggml.cls_token_id", {"[CLS]", "<s>"}, true},
        {"sep_token", "tokenizer.ggml.seperator_token_id", {"[SEP]", "</s>"}, true},
        {"mask_token", "tokenizer.ggml.mask_token_id", {"[MASK]", "<mask>"}, false},
    };
    const Vocab& tv = tok.vocab();
    const TokenId wrapped[] = {tv.add_bos ? tv.bos : -1, tv.add_eos ? tv.eos : -1, tv.mask};
    for (size_t i = 0; i < std::size(specials); ++i) {
        const auto& sp = specials[i];
        TokenId id = wrapped[i];
        std::string named;
        if (cfg.contains(sp.cfg_key)) {
            const json& t = cfg[sp.cfg_key];
            const json* content = t.is_object() && t.contains("content") ? &t["content"] : &t;
            if (content->is_string()) named = content->get<std::string>();
        }
        if (id < 0 && !named.empty()) {
            id = tok.find_token(named);
            if (id < 0)
                throw_error(ErrorKind::Corrupt, "model '{}': {} '{}' is not in the vocabulary",
                            dir.string(), sp.cfg_key, named);
        }
        for (const char* text : sp.texts)
            if (id < 0) id = tok.find_token(text);
        if (id >= 0) w.set_u32(sp.gguf_key, static_cast<uint32_t>(id));
        else if (sp.required)
            throw_error(ErrorKind::Corrupt,
                        "model '{}': the tokenizer has no {} (no {} in tokenizer_config.json, no "
                        "'{}' or '{}' in the vocabulary); an encoder needs it to wrap its input",
                        dir.string(), sp.cfg_key, sp.cfg_key, sp.texts[0], sp.texts[1]);
    }
}

void import_tokenizer(const std::string& dir, const std::string& arch, GgufWriter& w) {
    namespace fs = std::filesystem;
    const fs::path d(dir), tj = d / "tokenizer.json";
    const bool byte_level = arch == "gpt2" || arch == "gptneo" || arch == "roberta";
    std::string tok;
    if (fs::exists(tj)) {
        tok = core::read_file(tj.string());
    } else if (byte_level && fs::exists(d / "vocab.json") && fs::exists(d / "merges.txt")) {
        tok = byte_level_tokenizer_json(d);
    } else if (arch == "transfo-xl" && (fs::exists(d / "vocab.pkl") || fs::exists(d / "vocab.bin"))) {
        throw_error(ErrorKind::Unsupported, "model '{}': no tokenizer.json, only {}: Transformer-XL's "
                    "own word-level tokenizer (TransfoXLTokenizer) is not supported; expected a "
                    "tokenizer.json (BPE, WordPiece or Unigram) next to config.json", dir,
                    fs::exists(d / "vocab.pkl") ? "vocab.pkl" : "vocab.bin");
    } else {
        throw_error(ErrorKind::NotFound, "model '{}': no tokenizer.json{}; expected the Hugging Face "
                    "tokenizer files next to config.json", dir,
                    byte_level ? " and no vocab.json + merges.txt" : "");
    }
    std::string cfg = tokenizer_config_text(d);
    if (arch == "t5") {
        // T5's tokenizer appends </s> to every input (HF's T5Tokenizer; tokenizer.json's
        // post-processor "$A </s>") and has no BOS: the encoder was trained on sources ending
        // in </s>, so encode(add_bos) must append it. A config that says otherwise wins.
        json tc = cfg.empty() ? json::object() : json::parse(cfg, nullptr, false);
        if (tc.is_object()) {
            if (!tc.contains("add_eos_token")) tc["add_eos_token"] = true;
            if (!tc.contains("add_bos_token")) tc["add_bos_token"] = false;
            cfg = tc.dump();
        }
    }
    if (arch == "xlnet") {
        // XLNet's post-processor ends a text with "<sep> <cls>" for classification; a prompt to
        // continue must not end that way (HF's generation examples encode it with
        // add_special_tokens=False), so neither is added, and the end of text is </s>.
        json tc = cfg.empty() ? json::object() : json::parse(cfg, nullptr, false);
        if (tc.is_object()) {
            tc["add_bos_token"] = false;
            tc["add_eos_token"] = false;
            if (!tc.contains("eos_token")) tc["eos_token"] = "</s>";
            cfg = tc.dump();
        }
    }
    const auto tokenizer = tokenizer_from_json(tok, cfg, arch);
    tokenizer->write_gguf(w);
    if (is_encoder_arch(arch)) write_encoder_specials(d, *tokenizer, w);
}

}  // namespace

std::vector<float> permute_qk_for_interleaved_rope(const std::vector<float>& w, int64_t n_rows,
                                                   int64_t n_cols, int64_t n_head) {
    LYRA_CHECK(n_head > 0 && n_rows % (2 * n_head) == 0, "{} rows do not split into {} heads of even size",
               n_rows, n_head);
    LYRA_CHECK(static_cast<int64_t>(w.size()) == n_rows * n_cols, "size mismatch");
    const int64_t D = n_rows / n_head, half = D / 2;
    std::vector<float> out(w.size());
    for (int64_t h = 0; h < n_head; ++h)
        for (int64_t s = 0; s < 2; ++s)
            for (int64_t j = 0; j < half; ++j) {
                const int64_t src = h * D + s * half + j, dst = h * D + 2 * j + s;
                std::memcpy(&out[static_cast<size_t>(dst * n_cols)], &w[static_cast<size_t>(src * n_cols)],
                            static_cast<size_t>(n_cols) * sizeof(float));
            }
    return out;
}

std::vector<float> llama3_rope_freq_factors(double rope_theta, int64_t head_dim, double factor,
                                            double low_freq_factor, double high_freq_factor,
                                            double original_context) {
    // From Meta's Llama 3.1 reference (apply_scaling): wavelengths shorter than
    // original_context / high_freq_factor keep their frequency, longer than
    // original_context / low_freq_factor are divided by `factor`, and the band between is
    // interpolated smoothly. GGUF stores the divisor per frequency.
    const double low_wavelen = original_context / low_freq_factor;
    const double high_wavelen = original_context / high_freq_factor;
    std::vector<float> out;
    for (int64_t i = 0; i < head_dim; i += 2) {
        const double freq = 1.0 / std::pow(rope_theta, static_cast<double>(i) / static_cast<double>(head_dim));
        const double wavelen = 2.0 * std::numbers::pi / freq;
        double divisor = 1.0;
        if (wavelen < high_wavelen) {
            divisor = 1.0;
        } else if (wavelen > low_wavelen) {
            divisor = factor;
        } else {
            const double smooth = (original_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
            divisor = 1.0 / ((1.0 - smooth) / factor + smooth);
        }
        out.push_back(static_cast<float>(divisor));
    }
    return out;
}

void import_hf_to_writer(const std::string& dir, GgufWriter& out, std::optional<DType> out_type,
                         const HfImportOptions& opt) {
    if (out_type && *out_type != DType::F32 && *out_type != DType::F16 && *out_type != DType::BF16)
        throw_error(ErrorKind::InvalidArgument,
                    "model import: output type {} is not supported; expected f32, f16 or bf16 "
                    "(quantize afterwards with `lyra model quantize`)",
                    core::dtype_name(*out_type));
    HfConfig c = read_config(dir);
    if (!opt.factorization.empty()) {
        if (c.arch != "xlnet")
            throw_error(ErrorKind::InvalidArgument, "model import: a factorization order applies "
                        "to XLNet only; '{}' is {}", dir, c.arch);
        if (opt.factorization != "bidirectional" && opt.factorization != "causal")
            throw_error(ErrorKind::InvalidArgument, "model import: factorization '{}' is not "
                        "known; expected 'bidirectional' or 'causal'", opt.factorization);
        c.factorization = opt.factorization;
    }
    const SafetensorsModel st = SafetensorsModel::open_dir(dir);
    write_hparams(c, out, out_type);
    import_tokenizer(dir, c.arch, out);
    Converter cv(st, out, out_type, dir);
    if (c.arch == "t5") {
        convert_t5(c, cv);
    } else if (c.arch == "gpt2") {
        convert_gpt2(c, cv, st);
    } else if (c.arch == "gptneo") {
        convert_gptneo(c, cv);
    } else if (is_encoder_arch(c.arch)) {
        convert_encoder(c, cv);
    } else if (c.arch == "transfo-xl") {
        convert_transfo_xl(c, cv);
    } else if (c.arch == "xlnet") {
        convert_xlnet(c, cv);
    } else {
        convert_llama_like(c, cv);
        write_rope_scaling(c, out);
    }
    cv.check_all_used(c.arch);
}

void import_hf(const std::string& dir, const std::string& out_gguf, std::optional<DType> out_type,
               const HfImportOptions& opt) {
    GgufWriter w;
    import_hf_to_writer(dir, w, out_type, opt);
    w.write(out_gguf);
}

}  // namespace lyra::model
