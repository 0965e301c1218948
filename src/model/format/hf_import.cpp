// Hugging Face -> GGUF. One function per architecture family maps HF tensor names to GGUF
// names (the names other GGUF converters use), checking every shape against config.json.
// Tensors go through f32 on the way (safetensors data may be unaligned and F16/BF16), then to
// the output dtype. Memory: the whole output model is held once by GgufWriter.
#include "model/format/hf_import.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <numbers>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "core/error.h"
#include "core/half.h"
#include "core/mmap.h"
#include "model/format/gguf.h"
#include "model/format/safetensors.h"
#include "model/tokenizer/tokenizer_json.h"

namespace lyra::model {
namespace {

using json = nlohmann::json;
using core::DType;

// Hyperparameters, named as in GGUF (n_embd, n_head, ...), read from config.json.
struct HfConfig {
    std::string hf_arch;  // "LlamaForCausalLM", ...
    std::string arch;     // GGUF architecture: "llama", "qwen2", "gpt2"
    std::string name;
    int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0;
    int64_t n_ctx = 0, head_dim = 0;
    double norm_eps = 1e-5, rope_theta = 10000.0;
    bool tied = false;
    json rope_scaling;  // null when absent
};

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

    const json& raw() const { return j_; }
    const std::string& path() const { return path_; }

private:
    json j_;
    std::string path_;
};

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
    if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
        j["architectures"][0].is_string())
        c.hf_arch = j["architectures"][0].get<std::string>();
    if (c.hf_arch == "LlamaForCausalLM" || c.hf_arch == "MistralForCausalLM") {
        c.arch = "llama";
    } else if (c.hf_arch == "Qwen2ForCausalLM") {
        c.arch = "qwen2";
    } else if (c.hf_arch == "GPT2LMHeadModel") {
        c.arch = "gpt2";
    } else {
        throw_error(ErrorKind::Unsupported,
                    "config '{}': unsupported architecture; expected LlamaForCausalLM, "
                    "MistralForCausalLM, Qwen2ForCausalLM or GPT2LMHeadModel, got '{}'",
                    path, c.hf_arch.empty() ? j.value("model_type", std::string("?")) : c.hf_arch);
    }
    c.name = j.contains("_name_or_path") && j["_name_or_path"].is_string()
                 ? j["_name_or_path"].get<std::string>()
                 : std::string();
    if (c.name.empty()) c.name = std::filesystem::path(dir).lexically_normal().filename().string();
    if (c.name.empty()) c.name = std::filesystem::absolute(dir).parent_path().filename().string();

    c.n_vocab = r.positive_int("vocab_size");
    if (c.arch == "gpt2") {
        c.n_embd = r.positive_int("n_embd");
        c.n_layer = r.positive_int("n_layer");
        c.n_head = r.positive_int("n_head");
        c.n_head_kv = c.n_head;
        c.n_ff = r.positive_int("n_inner", 4 * c.n_embd);
        c.n_ctx = r.positive_int("n_positions", r.positive_int("n_ctx", 1024));
        c.norm_eps = r.number("layer_norm_epsilon", 1e-5);
        c.tied = r.boolean("tie_word_embeddings", true);
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
    if (c.head_dim % 2 != 0 && c.arch != "gpt2")
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
    if (a == "gpt2") {
        w.set_f32(a + ".attention.layer_norm_epsilon", static_cast<float>(c.norm_eps));
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

void import_tokenizer(const std::string& dir, const std::string& arch, GgufWriter& w) {
    namespace fs = std::filesystem;
    const fs::path tj = fs::path(dir) / "tokenizer.json";
    const fs::path tc = fs::path(dir) / "tokenizer_config.json";
    if (!fs::exists(tj))
        throw_error(ErrorKind::NotFound, "model '{}': no tokenizer.json; expected the Hugging Face "
                    "tokenizer next to config.json", dir);
    const std::string tok = core::read_file(tj.string());
    const std::string cfg = fs::exists(tc) ? core::read_file(tc.string()) : std::string();
    import_tokenizer_json(tok, cfg, arch, w);
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

void import_hf_to_writer(const std::string& dir, GgufWriter& out, std::optional<DType> out_type) {
    if (out_type && *out_type != DType::F32 && *out_type != DType::F16 && *out_type != DType::BF16)
        throw_error(ErrorKind::InvalidArgument,
                    "model import: output type {} is not supported; expected f32, f16 or bf16 "
                    "(quantize afterwards with `lyra model quantize`)",
                    core::dtype_name(*out_type));
    const HfConfig c = read_config(dir);
    const SafetensorsModel st = SafetensorsModel::open_dir(dir);
    write_hparams(c, out, out_type);
    import_tokenizer(dir, c.arch, out);
    Converter cv(st, out, out_type, dir);
    if (c.arch == "gpt2") {
        convert_gpt2(c, cv, st);
    } else {
        convert_llama_like(c, cv);
        write_rope_scaling(c, out);
    }
    cv.check_all_used(c.arch);
}

void import_hf(const std::string& dir, const std::string& out_gguf, std::optional<DType> out_type) {
    GgufWriter w;
    import_hf_to_writer(dir, w, out_type);
    w.write(out_gguf);
}

}  // namespace lyra::model
