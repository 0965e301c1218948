// Model::load: the GGUF file -> hyperparameters -> tokenizer -> the architecture's weights.
// Hyperparameter keys follow the GGUF spec's "<arch>.*" LLM keys (docs/formats/gguf.md).
#include "model/model.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/packed_weights.h"
#include "core/quant.h"
#include "model/arch/arch.h"
#include "model/blocks.h"
#include "model/encoder.h"

namespace lyra::model {

const char* arch_name(Arch a) {
    switch (a) {
        case Arch::Llama: return "llama";
        case Arch::Qwen2: return "qwen2";
        case Arch::Gpt2: return "gpt2";
        case Arch::GptNeo: return "gptneo";
        case Arch::TransfoXl: return "transfo-xl";
        case Arch::T5: return "t5";
        case Arch::Xlnet: return "xlnet";
    }
    return "?";
}

int64_t Model::n_params() const {
    int64_t n = 0;
    for (const auto& t : gguf_->tensors()) n += t.tensor.numel();
    return n;
}

void Model::decode_batch(std::span<Session* const> sessions, std::span<const TokenId> tokens,
                         core::ThreadPool& pool, std::vector<float>& logits) const {
    forward_batch(sessions, tokens, {}, pool, logits);
}

void Model::forward_batch(std::span<Session* const> sessions, std::span<const TokenId> tokens,
                          std::span<const int32_t> counts, core::ThreadPool& pool,
                          std::vector<float>& logits) const {
    detail::check_forward_batch(hparams_, sessions, tokens, counts);
    const auto V = static_cast<size_t>(hparams_.n_vocab);
    std::vector<float> row;
    logits.resize(sessions.size() * V);
    size_t first = 0;
    for (size_t i = 0; i < sessions.size(); ++i) {
        const size_t n = counts.empty() ? 1 : static_cast<size_t>(counts[i]);
        forward(*sessions[i], tokens.subspan(first, n), pool, row);
        first += n;
        std::copy(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(V), logits.begin() + static_cast<std::ptrdiff_t>(i * V));
    }
}

namespace {

std::optional<Arch> arch_from_name(std::string_view name) {
    for (Arch a : {Arch::Llama, Arch::Qwen2, Arch::Gpt2, Arch::GptNeo, Arch::TransfoXl, Arch::T5,
                   Arch::Xlnet})
        if (name == arch_name(a)) return a;
    return std::nullopt;
}

// Reads "<arch>.<key>" as a positive integer; missing or non-positive -> Error(Corrupt).
int64_t required_int(const GgufFile& g, const std::string& arch, const char* key) {
    const std::string full = arch + "." + key;
    const auto v = g.get_int(full);
    if (!v) throw_error(ErrorKind::Corrupt, "missing metadata key '{}'", full);
    if (*v <= 0) throw_error(ErrorKind::Corrupt, "metadata '{}' is {}; expected a positive value", full, *v);
    return *v;
}

void read_rope(const GgufFile& g, const std::string& arch, HParams& hp) {
    hp.rope.n_rot = g.get_int(arch + ".rope.dimension_count").value_or(hp.head_dim);
    if (hp.rope.n_rot <= 0 || hp.rope.n_rot > hp.head_dim || hp.rope.n_rot % 2 != 0)
        throw_error(ErrorKind::Corrupt,
                    "metadata '{}.rope.dimension_count' is {}; expected an even value in 2..{}", arch,
                    hp.rope.n_rot, hp.head_dim);
    hp.rope.freq_base = static_cast<float>(g.get_float(arch + ".rope.freq_base").value_or(10000.0));
    const std::string type = g.get_string(arch + ".rope.scaling.type").value_or("none");
    const double factor = g.get_float(arch + ".rope.scaling.factor").value_or(0.0);
    if (type == "linear") {
        if (factor <= 0.0)
            throw_error(ErrorKind::Corrupt, "metadata '{}.rope.scaling.factor' is {}; expected > 0", arch, factor);
        hp.rope.freq_scale = static_cast<float>(1.0 / factor);
    } else if (type != "none") {
        throw_error(ErrorKind::Unsupported,
                    "rope scaling type '{}' is not supported; expected 'none' or 'linear'", type);
    }
    hp.rope.style = hp.arch == Arch::Qwen2 ? core::RopeStyle::Neox : core::RopeStyle::Interleaved;
}

// gptneo: <arch>.attention.sliding_window (the local layers' window, as llama.cpp's converter
// writes it) and <arch>.attention.sliding_window_pattern, one bool per layer, true for a local
// layer (the form llama.cpp uses for gemma3n). Without the pattern the layers alternate global,
// local, ... as in every published GPT-Neo config (docs/formats/gguf.md).
void read_sliding_window(const GgufFile& g, const std::string& arch, HParams& hp) {
    hp.sliding_window = required_int(g, arch, "attention.sliding_window");
    const std::string key = arch + ".attention.sliding_window_pattern";
    const GgufValue* v = g.find(key);
    hp.local_layers.assign(static_cast<size_t>(hp.n_layer), false);
    if (!v) {
        for (size_t l = 1; l < hp.local_layers.size(); l += 2) hp.local_layers[l] = true;
        return;
    }
    const auto* a = std::get_if<GgufArray>(&v->v);
    if (!a || a->elem_type != GgufType::Bool || a->items.size() != hp.local_layers.size())
        throw_error(ErrorKind::Corrupt,
                    "metadata '{}' is not an array of {} bools (one per layer, true = local)", key,
                    hp.n_layer);
    for (size_t l = 0; l < a->items.size(); ++l) hp.local_layers[l] = std::get<bool>(a->items[l].v);
}

// transfo-xl: the memory, the relative-distance clamp, the norm placement and the adaptive
// embedding/softmax layout (docs/formats/gguf.md, "Transformer-XL").
void read_transfo_xl(const GgufFile& g, const std::string& a, HParams& hp) {
    HParams::TransfoXl& t = hp.txl;
    auto non_negative = [&](const char* key) {
        const int64_t v = g.get_int(a + "." + key).value_or(0);
        if (v < 0) throw_error(ErrorKind::Corrupt, "metadata '{}.{}' is {}; expected >= 0", a, key, v);
        return v;
    };
    t.mem_len = non_negative("memory_length");
    t.clamp_len = non_negative("clamp_length");
    t.pre_norm = g.get_bool(a + ".pre_layer_norm").value_or(false);
    t.same_length = g.get_bool(a + ".attention.same_length").value_or(false);
    if (t.same_length && t.mem_len == 0)
        throw_error(ErrorKind::Corrupt, "metadata '{}.attention.same_length' is true but '{}.memory_length' "
                    "is 0; same_length needs a memory length (the per-query window)", a, a);
    t.d_embed = required_int(g, a, "adaptive.embedding_length");
    t.div_val = required_int(g, a, "adaptive.div_val");
    const std::string key = a + ".adaptive.cutoffs";
    if (auto cut = g.get_int_array(key)) t.cutoffs = std::move(*cut);
    int64_t width = t.d_embed;
    for (size_t k = 0; k < t.cutoffs.size(); ++k) {
        if (t.cutoffs[k] <= (k ? t.cutoffs[k - 1] : 0))
            throw_error(ErrorKind::Corrupt, "metadata '{}' is not ascending from above 0", key);
        width /= t.div_val;
    }
    if (width <= 0)
        throw_error(ErrorKind::Corrupt,
                    "metadata '{}.adaptive.div_val' {} leaves the last of {} clusters no width "
                    "(embedding length {})",
                    a, t.div_val, t.cutoffs.size() + 1, t.d_embed);
}

// t5: block_count is the encoder's, decoder_block_count (absent: the same) the decoder's, which
// is what n_layer (the KV cache) counts; relative_max_distance is Lyra's key (absent: HF's 128).
void read_t5(const GgufFile& g, const std::string& arch, HParams& hp) {
    hp.n_layer_enc = hp.n_layer;
    if (g.get_int(arch + ".decoder_block_count")) hp.n_layer = required_int(g, arch, "decoder_block_count");
    hp.rel_buckets = required_int(g, arch, "attention.relative_buckets_count");
    hp.rel_max_distance = g.get_int(arch + ".attention.relative_max_distance").value_or(128);
    if (hp.rel_buckets < 4 || hp.rel_max_distance <= hp.rel_buckets / 2)
        throw_error(ErrorKind::Corrupt,
                    "t5 relative attention: {} buckets, max distance {}; expected at least 4 "
                    "buckets and a max distance above half of them",
                    hp.rel_buckets, hp.rel_max_distance);
    const int64_t start = g.get_int(arch + ".decoder_start_token_id").value_or(0);
    if (start < 0) throw_error(ErrorKind::Corrupt, "metadata '{}.decoder_start_token_id' is {}; expected >= 0", arch, start);
    hp.decoder_start_token = static_cast<int32_t>(start);
}

// xlnet: the factorization order generation uses, the memory and clamp of the relative
// positions, the FFN activation (docs/formats/gguf.md, "XLNet").
void read_xlnet(const GgufFile& g, const std::string& a, HParams& hp) {
    HParams::Xlnet& x = hp.xlnet;
    if (hp.n_head_kv != hp.n_head)
        throw_error(ErrorKind::Corrupt, "xlnet has {} kv heads for {} heads; expected equal",
                    hp.n_head_kv, hp.n_head);
    if (hp.n_embd % 2 != 0)
        throw_error(ErrorKind::Corrupt, "xlnet: embedding length {} is odd; the sinusoid position "
                    "encoding needs it even", hp.n_embd);
    for (auto [key, slot] : {std::pair{".memory_length", &x.mem_len}, std::pair{".clamp_length", &x.clamp_len}}) {
        *slot = g.get_int(a + key).value_or(0);
        if (*slot < 0) throw_error(ErrorKind::Corrupt, "metadata '{}{}' is {}; expected >= 0", a, key, *slot);
    }
    x.ffn_act = g.get_string(a + ".hidden_act").value_or("gelu");
    if (x.ffn_act != "gelu" && x.ffn_act != "gelu_new" && x.ffn_act != "relu" && x.ffn_act != "silu")
        throw_error(ErrorKind::Unsupported, "metadata '{}.hidden_act' is '{}'; expected gelu, "
                    "gelu_new, relu or silu", a, x.ffn_act);
    const std::string order = g.get_string(a + ".factorization").value_or("bidirectional");
    if (order != "bidirectional" && order != "causal")
        throw_error(ErrorKind::Unsupported, "metadata '{}.factorization' is '{}'; expected "
                    "'bidirectional' or 'causal'", a, order);
    x.causal = order == "causal";
}

HParams read_hparams(const GgufFile& g) {
    const auto arch_str = g.get_string("general.architecture");
    if (!arch_str) throw_error(ErrorKind::Corrupt, "missing metadata key 'general.architecture'");
    const auto arch = arch_from_name(*arch_str);
    if (!arch)
        throw_error(ErrorKind::Unsupported,
                    "unknown architecture '{}'; expected one of llama, qwen2, gpt2, gptneo, "
                    "transfo-xl, t5, xlnet",
                    *arch_str);
    const std::string& a = *arch_str;
    HParams hp;
    hp.arch = *arch;
    hp.n_ctx = required_int(g, a, "context_length");
    hp.n_embd = required_int(g, a, "embedding_length");
    hp.n_layer = required_int(g, a, "block_count");
    if (hp.arch == Arch::T5) read_t5(g, a, hp);
    hp.n_ff = required_int(g, a, "feed_forward_length");
    hp.n_head = required_int(g, a, "attention.head_count");
    hp.n_head_kv = g.get_int(a + ".attention.head_count_kv").value_or(hp.n_head);
    if (hp.n_head_kv <= 0 || hp.n_head % hp.n_head_kv != 0)
        throw_error(ErrorKind::Corrupt,
                    "attention head counts are inconsistent: {} heads, {} key/value heads; expected "
                    "the head count to be a positive multiple of the key/value head count",
                    hp.n_head, hp.n_head_kv);
    if (const auto kl = g.get_int(a + ".attention.key_length")) {
        hp.head_dim = *kl;
    } else {
        if (hp.n_embd % hp.n_head != 0)
            throw_error(ErrorKind::Corrupt,
                        "embedding length {} is not divisible by the head count {}", hp.n_embd, hp.n_head);
        hp.head_dim = hp.n_embd / hp.n_head;
    }
    if (hp.head_dim <= 0)
        throw_error(ErrorKind::Corrupt, "head dimension is {}; expected > 0", hp.head_dim);
    const bool layer_norm =
        has_learned_positions(hp.arch) || hp.arch == Arch::TransfoXl || hp.arch == Arch::Xlnet;
    if (has_learned_positions(hp.arch) && (hp.head_dim * hp.n_head != hp.n_embd || hp.n_head_kv != hp.n_head))
        throw_error(ErrorKind::Corrupt,
                    "{} needs heads x head dim == embedding length and kv heads == heads; got {} x "
                    "{} vs {}, {} kv heads",
                    a, hp.n_head, hp.head_dim, hp.n_embd, hp.n_head_kv);
    const char* eps_key = layer_norm ? ".attention.layer_norm_epsilon"
                                     : ".attention.layer_norm_rms_epsilon";
    hp.norm_eps = static_cast<float>(g.get_float(a + eps_key).value_or(1e-5));
    if (!(hp.norm_eps > 0.0f) || !std::isfinite(hp.norm_eps))
        throw_error(ErrorKind::Corrupt, "metadata '{}{}' is {}; expected a small positive value", a,
                    eps_key, static_cast<double>(hp.norm_eps));
    if (has_rope(hp.arch)) read_rope(g, a, hp);
    if (hp.arch == Arch::GptNeo) read_sliding_window(g, a, hp);
    if (hp.arch == Arch::TransfoXl) {
        if (hp.n_head_kv != hp.n_head)
            throw_error(ErrorKind::Corrupt, "transfo-xl has {} kv heads for {} heads; expected equal",
                        hp.n_head_kv, hp.n_head);
        read_transfo_xl(g, a, hp);
    }
    if (hp.arch == Arch::Xlnet) read_xlnet(g, a, hp);
    return hp;
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path) {
    try {
        auto gguf = GgufFile::open(path);
        if (const auto a = gguf->get_string("general.architecture"); a && is_encoder_arch(*a))
            throw_error(ErrorKind::Unsupported,
                        "'{}' is an encoder (masked-LM predictions and sentence embeddings), not a "
                        "text generator; use it with `lyra model fill`, `lyra model embed` or as a "
                        "critic (EncoderModel, model/encoder.h)",
                        *a);
        HParams hp = read_hparams(*gguf);
        auto tok = Tokenizer::from_gguf(*gguf);
        hp.n_vocab = tok->n_vocab();
        if (hp.arch == Arch::Gpt2) return detail::make_gpt2(hp, std::move(gguf), std::move(tok));
        if (hp.arch == Arch::GptNeo) return detail::make_gptneo(hp, std::move(gguf), std::move(tok));
        if (hp.arch == Arch::TransfoXl)
            return detail::make_transfo_xl(hp, std::move(gguf), std::move(tok));
        if (hp.arch == Arch::Xlnet) return detail::make_xlnet(hp, std::move(gguf), std::move(tok));
        if (hp.arch == Arch::T5) {
            if (hp.n_head_kv != hp.n_head)
                throw_error(ErrorKind::Corrupt, "t5 needs as many key/value heads as heads; got {} and {}",
                            hp.n_head_kv, hp.n_head);
            if (hp.decoder_start_token >= hp.n_vocab)
                throw_error(ErrorKind::Corrupt, "decoder start token {} is outside the vocabulary of {}",
                            hp.decoder_start_token, hp.n_vocab);
            return detail::make_t5(hp, std::move(gguf), std::move(tok));
        }
        return detail::make_llama(hp, std::move(gguf), std::move(tok));
    } catch (const Error& e) {
        // GgufFile and the binder already name the file; add it only where it is missing.
        if (std::string_view(e.what()).find(path) != std::string_view::npos) throw;
        rethrow_with_context(e, fmt::format("model '{}'", path));
    }
}

// ---------------------------------------------------------------------------------------------
// WeightBinder

namespace detail {

const GgufTensorInfo* WeightBinder::lookup(const std::string& name, bool required) {
    const GgufTensorInfo* info = gguf_.find_tensor(name);
    if (!info && required) problems_.push_back(fmt::format("tensor '{}' is missing", name));
    return info;
}

bool WeightBinder::check_shape(const GgufTensorInfo& info, std::initializer_list<int64_t> shape) {
    const core::Tensor& t = info.tensor;
    bool ok = t.n_dims == static_cast<int>(shape.size());
    int i = 0;
    for (int64_t d : shape) ok = ok && t.dim(i++) == d;
    if (!ok) {
        std::string want = "[";
        i = 0;
        for (int64_t d : shape) want += fmt::format("{}{}", i++ ? ", " : "", d);
        want += "]";
        problems_.push_back(fmt::format("tensor '{}' has shape {}, expected {}", info.name,
                                        core::shape_string(t), want));
    }
    return ok;
}

namespace {
bool is_weight_type(core::DType t) {
    using core::DType;
    switch (t) {
        case DType::F32: case DType::F16: case DType::BF16: case DType::Q4_0: case DType::Q8_0:
        case DType::Q4_K: case DType::Q5_K: case DType::Q6_K: return true;
        default: return false;
    }
}
}  // namespace

core::Tensor WeightBinder::matrix(const std::string& name, int64_t rows, int64_t cols) {
    const GgufTensorInfo* info = lookup(name, true);
    if (!info || !check_shape(*info, {rows, cols})) return {};
    if (!is_weight_type(info->tensor.dtype)) {
        problems_.push_back(fmt::format("tensor '{}' has type {}, which is not a weight type", name,
                                        core::dtype_name(info->tensor.dtype)));
        return {};
    }
    return info->tensor;
}

core::Tensor WeightBinder::for_matmul(const core::Tensor& w) {
    if (!core::can_pack_rows16(w) || !core::packing_pays()) return w;
    // Held as floats, in the deque of the converted vectors the model keeps.
    return core::pack_rows16_into(w, owned_.emplace_back());
}

core::Tensor WeightBinder::linear(const std::string& name, int64_t rows, int64_t cols) {
    const core::Tensor w = matrix(name, rows, cols);
    if (w.data != nullptr && !core::dtype_traits(w.dtype).is_quantized) float_linears_ = true;
    const core::Tensor bound = for_matmul(w);
    if (bound.data != w.data) gguf_.release_pages(w);
    return bound;
}

core::Tensor WeightBinder::optional_matrix(const std::string& name, int64_t rows, int64_t cols) {
    if (!gguf_.find_tensor(name)) return {};
    return matrix(name, rows, cols);
}

const float* WeightBinder::vector(const std::string& name, int64_t n) {
    const GgufTensorInfo* info = lookup(name, true);
    if (!info || !check_shape(*info, {n})) return nullptr;
    const core::Tensor& t = info->tensor;
    if (t.dtype == core::DType::F32) return t.f32();
    if (t.dtype != core::DType::F16 && t.dtype != core::DType::BF16) {
        problems_.push_back(fmt::format("tensor '{}' has type {}; expected f32, f16 or bf16", name,
                                        core::dtype_name(t.dtype)));
        return nullptr;
    }
    auto& v = owned_.emplace_back(static_cast<size_t>(n));
    core::dequantize_row(t.dtype, t.data, v.data(), n);
    return v.data();
}

const float* WeightBinder::optional_vector(const std::string& name, int64_t n) {
    if (!gguf_.find_tensor(name)) return nullptr;
    return vector(name, n);
}

void WeightBinder::finish() const {
    if (problems_.empty()) return;
    std::string msg = fmt::format("model '{}': ", gguf_.path());
    for (size_t i = 0; i < problems_.size(); ++i) msg += (i ? "; " : "") + problems_[i];
    msg += "; was it converted for another architecture or shape?";
    throw Error(ErrorKind::Corrupt, msg);
}

}  // namespace detail
}  // namespace lyra::model
