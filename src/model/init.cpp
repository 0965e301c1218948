#include "model/init.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/rng.h"
#include "model/format/gguf.h"
#include "model/quantize.h"

namespace lyra::model {

InitOptions resolve_init_options(const InitOptions& in) {
    InitOptions o = in;
    const auto bad = [](const char* what, int64_t v, const char* want) {
        throw_error(ErrorKind::InvalidArgument, "model init: {} is {}; expected {}", what, v, want);
    };
    if (o.n_embd <= 0) bad("dim", o.n_embd, "a positive width");
    if (o.n_layer <= 0) bad("layers", o.n_layer, "at least 1");
    if (o.n_head <= 0) bad("heads", o.n_head, "at least 1");
    if (o.n_ctx <= 0) bad("ctx", o.n_ctx, "a positive context length");
    if (o.n_head_kv == 0) o.n_head_kv = o.n_head;
    if (o.n_head_kv < 0) bad("kv-heads", o.n_head_kv, "at least 1");
    if (o.n_embd % o.n_head != 0)
        throw_error(ErrorKind::InvalidArgument,
                    "model init: dim {} is not divisible by heads {}; expected a multiple", o.n_embd, o.n_head);
    if ((o.n_embd / o.n_head) % 2 != 0 && o.arch != Arch::Gpt2)
        throw_error(ErrorKind::InvalidArgument,
                    "model init: head dim {} (dim / heads) is odd; expected an even value for RoPE",
                    o.n_embd / o.n_head);
    if (o.n_head % o.n_head_kv != 0)
        throw_error(ErrorKind::InvalidArgument,
                    "model init: heads {} is not divisible by kv-heads {}; expected a multiple",
                    o.n_head, o.n_head_kv);
    if (o.arch == Arch::Gpt2 && o.n_head_kv != o.n_head)
        throw_error(ErrorKind::InvalidArgument,
                    "model init: gpt2 has no grouped-query attention; expected kv-heads = heads ({}), got {}",
                    o.n_head, o.n_head_kv);
    if (o.n_ff == 0) {
        o.n_ff = o.arch == Arch::Gpt2 ? 4 * o.n_embd : (8 * o.n_embd / 3 + 31) / 32 * 32;
    }
    if (o.n_ff <= 0) bad("ffn", o.n_ff, "a positive width");
    if (!(o.init_std > 0.0f) || !(o.bias_std >= 0.0f))
        throw_error(ErrorKind::InvalidArgument, "model init: init std must be > 0 and bias std >= 0");
    return o;
}

namespace {

// Adds the hyperparameter keys every reader of this architecture expects.
void write_hparams(GgufWriter& w, const InitOptions& o) {
    const std::string a = arch_name(o.arch);
    w.set_string("general.architecture", a);
    w.set_string("general.name", o.name);
    w.set_u32("general.file_type", gguf_file_type(o.dtype));
    if (core::dtype_traits(o.dtype).is_quantized) w.set_u32("general.quantization_version", 2);
    const auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
    w.set_u32(a + ".context_length", u32(o.n_ctx));
    w.set_u32(a + ".embedding_length", u32(o.n_embd));
    w.set_u32(a + ".block_count", u32(o.n_layer));
    w.set_u32(a + ".feed_forward_length", u32(o.n_ff));
    w.set_u32(a + ".attention.head_count", u32(o.n_head));
    if (o.arch == Arch::Gpt2) {
        w.set_f32(a + ".attention.layer_norm_epsilon", o.norm_eps);
    } else {
        w.set_u32(a + ".attention.head_count_kv", u32(o.n_head_kv));
        w.set_f32(a + ".attention.layer_norm_rms_epsilon", o.norm_eps);
        w.set_f32(a + ".rope.freq_base", o.rope_freq_base);
        w.set_u32(a + ".rope.dimension_count", u32(o.n_embd / o.n_head));
    }
}

// Builds each tensor in f32 and adds it in its final type.
class TensorMaker {
public:
    TensorMaker(GgufWriter& w, const InitOptions& o) : w_(w), o_(o), rng_(o.seed) {}

    void normal(const std::string& name, int64_t rows, int64_t cols, float std) {
        buf_.resize(static_cast<size_t>(rows * cols));
        for (float& v : buf_) v = rng_.normal() * std;
        add(name, rows, cols);
    }
    // A 1-D tensor: `value` everywhere, plus N(0, bias_std) noise when bias_std > 0.
    void constant(const std::string& name, int64_t n, float value) {
        buf_.assign(static_cast<size_t>(n), value);
        if (o_.bias_std > 0.0f)
            for (float& v : buf_) v += rng_.normal() * o_.bias_std;
        add(name, 0, n);
    }
    std::vector<std::string> notes;

private:
    void add(const std::string& name, int64_t rows, int64_t cols) {
        const core::Tensor t = rows == 0 ? core::make_tensor(core::DType::F32, {cols}, buf_.data())
                                         : core::make_tensor(core::DType::F32, {rows, cols}, buf_.data());
        std::string note;
        const core::DType type = weight_type_for(name, t, o_.dtype, &note);
        if (!note.empty()) notes.push_back(note);
        add_converted_tensor(w_, name, t, type);
    }

    GgufWriter& w_;
    const InitOptions& o_;
    core::Rng rng_;
    std::vector<float> buf_;
};

}  // namespace

std::vector<std::string> init_model(const InitOptions& opt, const Tokenizer& tok,
                                    const std::string& path) {
    const InitOptions o = resolve_init_options(opt);
    GgufWriter w;
    write_hparams(w, o);
    tok.write_gguf(w);

    const int64_t C = o.n_embd, F = o.n_ff, V = tok.n_vocab(), D = C / o.n_head;
    const int64_t kv = o.n_head_kv * D;
    const float s = o.init_std;
    const float s_out = s / std::sqrt(2.0f * static_cast<float>(o.n_layer));  // GPT-2 scaled init
    TensorMaker m(w, o);
    m.normal("token_embd.weight", V, C, s);
    if (o.arch == Arch::Gpt2) m.normal("position_embd.weight", o.n_ctx, C, s);
    for (int64_t l = 0; l < o.n_layer; ++l) {
        const auto n = [l](const char* what) { return fmt::format("blk.{}.{}", l, what); };
        if (o.arch == Arch::Gpt2) {
            m.constant(n("attn_norm.weight"), C, 1.0f);
            m.constant(n("attn_norm.bias"), C, 0.0f);
            m.normal(n("attn_qkv.weight"), 3 * C, C, s);
            m.constant(n("attn_qkv.bias"), 3 * C, 0.0f);
            m.normal(n("attn_output.weight"), C, C, s_out);
            m.constant(n("attn_output.bias"), C, 0.0f);
            m.constant(n("ffn_norm.weight"), C, 1.0f);
            m.constant(n("ffn_norm.bias"), C, 0.0f);
            m.normal(n("ffn_up.weight"), F, C, s);
            m.constant(n("ffn_up.bias"), F, 0.0f);
            m.normal(n("ffn_down.weight"), C, F, s_out);
            m.constant(n("ffn_down.bias"), C, 0.0f);
            continue;
        }
        m.constant(n("attn_norm.weight"), C, 1.0f);
        m.normal(n("attn_q.weight"), C, C, s);
        m.normal(n("attn_k.weight"), kv, C, s);
        m.normal(n("attn_v.weight"), kv, C, s);
        if (o.arch == Arch::Qwen2) {
            m.constant(n("attn_q.bias"), C, 0.0f);
            m.constant(n("attn_k.bias"), kv, 0.0f);
            m.constant(n("attn_v.bias"), kv, 0.0f);
        }
        m.normal(n("attn_output.weight"), C, C, s_out);
        m.constant(n("ffn_norm.weight"), C, 1.0f);
        m.normal(n("ffn_gate.weight"), F, C, s);
        m.normal(n("ffn_up.weight"), F, C, s);
        m.normal(n("ffn_down.weight"), C, F, s_out);
    }
    if (o.arch == Arch::Gpt2) {
        m.constant("output_norm.weight", C, 1.0f);
        m.constant("output_norm.bias", C, 0.0f);
    } else {
        m.constant("output_norm.weight", C, 1.0f);
        if (!o.tied_output) m.normal("output.weight", V, C, s);
    }
    w.write(path);
    std::vector<std::string> notes;
    for (const auto& n : m.notes)
        if (std::find(notes.begin(), notes.end(), n) == notes.end()) notes.push_back(n);
    return notes;
}

}  // namespace lyra::model
