// EncoderModel (encoder.h): BERT, RoBERTa and ALBERT as HF's BertModel / RobertaModel /
// AlbertModel compute them, on GGUF tensors named as in docs/formats/gguf.md ("Encoders"):
//   x = LN_emb(tok[id] + pos[t] + type[0])               [T, E]
//   x = W_proj·x + b_proj                                 ALBERT only: E -> C
//   per layer l (ALBERT: weight set floor(l * G / L), as AlbertTransformer picks its group):
//     x = LN_1(x + W_o·attn(W_q·x + b_q, W_k·x + b_k, W_v·x + b_v) + b_o)   post-LN
//     x = LN_2(x + W_down·act(W_up·x + b_up) + b_down)
//   MLM:    logits = W_dec·LN_m(act_m(W_m·x + b_m)) + b_dec, W_dec = tok unless output.weight
//   pooler: tanh(W_cls·x[0] + b_cls)
// act is hidden_act; act_m is the same except for RoBERTa, whose RobertaLMHead always applies
// the erf GELU. A batch is packed: sequence b's T_b rows follow sequence b-1's, positions restart
// at 0 for each, and attention runs per sequence over its own rows only, which is exactly a
// right-padded batch under HF's attention_mask minus the padding rows (everything else is per row).
// Legend: B sequences, T_b tokens of sequence b, N = sum T_b rows, C hidden, E token embedding
// width, H heads, D head dim, F feed-forward width, V vocabulary.
#include "model/encoder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>

#include "core/error.h"
#include "model/arch/arch.h"
#include "model/blocks.h"
#include "model/tokenizer/vocab.h"

namespace lyra::model {

const char* encoder_arch_name(EncoderArch a) {
    switch (a) {
        case EncoderArch::Bert:
            return "bert";
        case EncoderArch::Roberta:
            return "roberta";
        case EncoderArch::Albert:
            return "albert";
    }
    return "?";
}

bool is_encoder_arch(std::string_view name) {
    return name == "bert" || name == "roberta" || name == "albert";
}

namespace {

struct EncoderLayer {
    core::Tensor wq, wk, wv, wo, w_up, w_down;  // [C, C] x4, [F, C], [C, F]
    const float *bq, *bk, *bv, *bo, *b_up, *b_down;
    const float *ln1_w, *ln1_b, *ln2_w, *ln2_b;  // attn_output_norm, layer_output_norm [C]
};

int64_t required_int(const GgufFile& g, const std::string& key) {
    const auto v = g.get_int(key);
    if (!v) throw_error(ErrorKind::Corrupt, "missing metadata key '{}'", key);
    if (*v <= 0)
        throw_error(ErrorKind::Corrupt, "metadata '{}' is {}; expected a positive value", key, *v);
    return *v;
}

EncoderAct parse_act(const std::string& s) {
    if (s == "gelu") return EncoderAct::Gelu;
    if (s == "gelu_new") return EncoderAct::GeluTanh;
    if (s == "relu") return EncoderAct::Relu;
    throw_error(ErrorKind::Unsupported,
                "hidden activation '{}' is not supported; expected gelu, gelu_new or relu", s);
}

void apply_act(EncoderAct a, float* x, int64_t n) {
    switch (a) {
        case EncoderAct::Gelu:
            core::gelu_erf(x, n);
            return;
        case EncoderAct::GeluTanh:
            core::gelu(x, n);
            return;
        case EncoderAct::Relu:
            core::relu(x, n);
            return;
    }
}

EncoderHParams read_encoder_hparams(const GgufFile& g, const std::string& a) {
    EncoderHParams hp;
    hp.arch = a == "bert"      ? EncoderArch::Bert
              : a == "roberta" ? EncoderArch::Roberta
                               : EncoderArch::Albert;
    hp.n_ctx = required_int(g, a + ".context_length");
    hp.n_embd = required_int(g, a + ".embedding_length");
    hp.n_layer = required_int(g, a + ".block_count");
    hp.n_ff = required_int(g, a + ".feed_forward_length");
    hp.n_head = required_int(g, a + ".attention.head_count");
    if (hp.n_embd % hp.n_head != 0)
        throw_error(ErrorKind::Corrupt, "embedding length {} is not divisible by the head count {}",
                    hp.n_embd, hp.n_head);
    hp.head_dim = hp.n_embd / hp.n_head;
    hp.n_embd_tok = hp.n_embd;
    hp.n_group = hp.n_layer;
    if (hp.arch == EncoderArch::Albert) {
        hp.n_embd_tok = required_int(g, a + ".token_embedding_length");
        hp.n_group = required_int(g, a + ".layer_group_count");
        if (hp.n_group > hp.n_layer)
            throw_error(ErrorKind::Corrupt,
                        "metadata '{}.layer_group_count' is {}; expected at most the {} layers", a,
                        hp.n_group, hp.n_layer);
    }
    hp.n_token_types = g.get_int("tokenizer.ggml.token_type_count").value_or(2);
    if (hp.n_token_types <= 0)
        throw_error(ErrorKind::Corrupt,
                    "metadata 'tokenizer.ggml.token_type_count' is {}; expected > 0",
                    hp.n_token_types);
    hp.norm_eps =
        static_cast<float>(g.get_float(a + ".attention.layer_norm_epsilon").value_or(1e-12));
    if (!(hp.norm_eps > 0.0f) || !std::isfinite(hp.norm_eps))
        throw_error(
            ErrorKind::Corrupt,
            "metadata '{}.attention.layer_norm_epsilon' is {}; expected a small positive value", a,
            static_cast<double>(hp.norm_eps));
    hp.act = parse_act(g.get_string(a + ".hidden_act").value_or("gelu"));
    return hp;
}

// [CLS] or [SEP]: the key when present, else the token the vocabulary wraps every text in
// (BOS / EOS with add_bos / add_eos, as WordPiece files from llama.cpp's converter carry them).
TokenId wrap_id(const GgufFile& g, const char* key, TokenId wrapped, int64_t n_vocab) {
    if (const auto v = g.get_int(key)) {
        if (*v < 0 || *v >= n_vocab)
            throw_error(ErrorKind::Corrupt, "metadata '{}' is {}; expected a token id below {}",
                        key, *v, n_vocab);
        return static_cast<TokenId>(*v);
    }
    if (wrapped < 0)
        throw_error(ErrorKind::Corrupt,
                    "missing metadata key '{}' and the vocabulary wraps no text in it; an encoder "
                    "needs [CLS] and [SEP] to wrap its input",
                    key);
    return wrapped;
}

}  // namespace

struct EncoderModel::Weights {
    core::Tensor tok_embd, pos_embd, types;                      // [V, E], [n_ctx, E], [n_types, E]
    const float *embd_norm_w = nullptr, *embd_norm_b = nullptr;  // [E]
    core::Tensor proj;                                           // [C, E] (ALBERT)
    const float* proj_b = nullptr;
    std::vector<EncoderLayer> layers;  // n_group
    core::Tensor pool_w;               // [C, C]
    const float* pool_b = nullptr;
    core::Tensor mlm_dense;  // [E, C]
    const float *mlm_dense_b = nullptr, *mlm_norm_w = nullptr, *mlm_norm_b = nullptr;
    core::Tensor output;              // [V, E]: token_embd unless untied
    const float* output_b = nullptr;  // [V]
    std::deque<std::vector<float>> owned;
};

EncoderModel::~EncoderModel() = default;

std::unique_ptr<EncoderModel> EncoderModel::load(const std::string& path) {
    try {
        std::unique_ptr<EncoderModel> m(new EncoderModel());
        m->gguf_ = GgufFile::open(path);
        const GgufFile& g = *m->gguf_;
        const std::string arch = g.get_string("general.architecture").value_or("");
        if (!is_encoder_arch(arch))
            throw_error(ErrorKind::Unsupported,
                        "architecture '{}' is not an encoder; expected bert, roberta or albert (a "
                        "decoder generates text: use it with `lyra generate`)",
                        arch);
        m->hp_ = read_encoder_hparams(g, arch);
        m->tokenizer_ = Tokenizer::from_gguf(g);
        EncoderHParams& hp = m->hp_;
        hp.n_vocab = m->tokenizer_->n_vocab();
        const Vocab& tv = m->tokenizer_->vocab();
        m->cls_ = wrap_id(g, "tokenizer.ggml.cls_token_id", tv.add_bos ? tv.bos : -1, hp.n_vocab);
        m->sep_ =
            wrap_id(g, "tokenizer.ggml.seperator_token_id", tv.add_eos ? tv.eos : -1, hp.n_vocab);
        m->mask_ = tv.mask;  // tokenizer.ggml.mask_token_id, read (and checked) by the tokenizer

        const int64_t C = hp.n_embd, E = hp.n_embd_tok, F = hp.n_ff, V = hp.n_vocab;
        m->w_ = std::make_unique<Weights>();
        Weights& w = *m->w_;
        detail::WeightBinder b(g);
        w.tok_embd = b.matrix("token_embd.weight", V, E);
        w.pos_embd = b.matrix("position_embd.weight", hp.n_ctx, E);
        w.types = b.matrix("token_types.weight", hp.n_token_types, E);
        w.embd_norm_w = b.vector("token_embd_norm.weight", E);
        w.embd_norm_b = b.vector("token_embd_norm.bias", E);
        if (hp.arch == EncoderArch::Albert) {
            w.proj = b.matrix("token_embd_proj.weight", C, E);
            w.proj_b = b.vector("token_embd_proj.bias", C);
        } else if (E != C) {
            throw_error(ErrorKind::Corrupt,
                        "token embedding width {} differs from the hidden width {}", E, C);
        }
        w.layers.resize(static_cast<size_t>(hp.n_group));
        for (int64_t l = 0; l < hp.n_group; ++l) {
            EncoderLayer& L = w.layers[static_cast<size_t>(l)];
            const auto n = [l](const char* what) { return fmt::format("blk.{}.{}", l, what); };
            L.wq = b.matrix(n("attn_q.weight"), C, C);
            L.bq = b.vector(n("attn_q.bias"), C);
            L.wk = b.matrix(n("attn_k.weight"), C, C);
            L.bk = b.vector(n("attn_k.bias"), C);
            L.wv = b.matrix(n("attn_v.weight"), C, C);
            L.bv = b.vector(n("attn_v.bias"), C);
            L.wo = b.matrix(n("attn_output.weight"), C, C);
            L.bo = b.vector(n("attn_output.bias"), C);
            L.ln1_w = b.vector(n("attn_output_norm.weight"), C);
            L.ln1_b = b.vector(n("attn_output_norm.bias"), C);
            L.w_up = b.matrix(n("ffn_up.weight"), F, C);
            L.b_up = b.vector(n("ffn_up.bias"), F);
            L.w_down = b.matrix(n("ffn_down.weight"), C, F);
            L.b_down = b.vector(n("ffn_down.bias"), C);
            L.ln2_w = b.vector(n("layer_output_norm.weight"), C);
            L.ln2_b = b.vector(n("layer_output_norm.bias"), C);
        }
        hp.has_pooler = g.find_tensor("cls.weight") != nullptr;
        if (hp.has_pooler) {
            w.pool_w = b.matrix("cls.weight", C, C);
            w.pool_b = b.vector("cls.bias", C);
        }
        hp.has_mlm_head = g.find_tensor("mlm_dense.weight") != nullptr;
        if (hp.has_mlm_head) {
            w.mlm_dense = b.matrix("mlm_dense.weight", E, C);
            w.mlm_dense_b = b.vector("mlm_dense.bias", E);
            w.mlm_norm_w = b.vector("mlm_norm.weight", E);
            w.mlm_norm_b = b.vector("mlm_norm.bias", E);
            w.output_b = b.vector("output.bias", V);
            w.output = b.optional_matrix("output.weight", V, E);
            hp.tied_output = g.find_tensor("output.weight") == nullptr;
            if (hp.tied_output) w.output = w.tok_embd;
        }
        b.finish();
        w.owned = b.take_owned();
        return m;
    } catch (const Error& e) {
        if (std::string_view(e.what()).find(path) != std::string_view::npos) throw;
        rethrow_with_context(e, fmt::format("model '{}'", path));
    }
}

int64_t EncoderModel::n_params() const {
    int64_t n = 0;
    for (const auto& t : gguf_->tensors()) n += t.tensor.numel();
    return n;
}

std::vector<TokenId> EncoderModel::tokenize(std::string_view text) const {
    std::string s(text);
    if (mask_ >= 0) {
        const std::string& m = tokenizer_->token_text(mask_);
        for (size_t at = s.find(m); !m.empty() && at != std::string::npos;
             at = s.find(m, at + m.size())) {
            size_t from = at;
            while (from > 0 && (s[from - 1] == ' ' || s[from - 1] == '\t' || s[from - 1] == '\n'))
                --from;
            s.erase(from, at - from);
            at = from;
        }
    }
    std::vector<TokenId> ids = {cls_};
    for (TokenId id : tokenizer_->encode(s, /*add_bos=*/false, /*parse_special=*/true))
        ids.push_back(id);
    ids.push_back(sep_);
    return ids;
}

void EncoderModel::check_tokens(std::span<const TokenId> tokens) const {
    const auto T = static_cast<int64_t>(tokens.size());
    if (T == 0) throw_error(ErrorKind::InvalidArgument, "encoder: no tokens; expected at least 1");
    if (T > hp_.n_ctx)
        throw_error(ErrorKind::InvalidArgument,
                    "encoder: {} tokens do not fit the {} positions of '{}'; shorten the text", T,
                    hp_.n_ctx, path());
    for (int64_t i = 0; i < T; ++i) {
        const TokenId id = tokens[static_cast<size_t>(i)];
        if (id < 0 || id >= hp_.n_vocab)
            throw_error(
                ErrorKind::InvalidArgument,
                "encoder: token id {} at index {} is outside the vocabulary; expected 0 <= id < {}",
                id, i, hp_.n_vocab);
    }
}

std::vector<float> EncoderModel::encode(const TokenId* tokens, std::span<const int64_t> lengths,
                                        core::ThreadPool& pool) const {
    const EncoderHParams& hp = hp_;
    const Weights& w = *w_;
    int64_t N = 0, T_max = 0;
    for (const int64_t T : lengths) {
        N += T;
        T_max = std::max(T_max, T);
    }
    const int64_t C = hp.n_embd, E = hp.n_embd_tok, F = hp.n_ff, H = hp.n_head, D = hp.head_dim;
    // ---- embeddings [N, E] ----
    std::vector<float> e(static_cast<size_t>(N * E)), rows(static_cast<size_t>(N * E));
    std::vector<int32_t> pos;  // each sequence's own positions 0 .. T_b - 1
    pos.reserve(static_cast<size_t>(N));
    for (const int64_t T : lengths)
        for (int64_t t = 0; t < T; ++t) pos.push_back(static_cast<int32_t>(t));
    core::get_rows(w.tok_embd, tokens, N, e.data());
    core::get_rows(w.pos_embd, pos.data(), N, rows.data());
    core::add_inplace(e.data(), rows.data(), N * E);
    const int32_t type0 = 0;
    core::get_rows(w.types, &type0, 1, rows.data());
    core::add_bias(e.data(), rows.data(), N, E);
    core::layernorm(e.data(), w.embd_norm_w, w.embd_norm_b, e.data(), N, E, hp.norm_eps);
    std::vector<float> x;
    if (hp.arch == EncoderArch::Albert) {
        x.resize(static_cast<size_t>(N * C));
        core::matmul(pool, e.data(), N, w.proj, x.data());
        core::add_bias(x.data(), w.proj_b, N, C);
    } else {
        x = std::move(e);
    }
    // ---- layers ----
    std::vector<float> q(x.size()), k(x.size()), v(x.size()), att(x.size()), o(x.size());
    std::vector<float> up(static_cast<size_t>(N * F));
    std::vector<float> scores(static_cast<size_t>(pool.size() * T_max));
    const detail::AttentionSpan span{1.0f / std::sqrt(static_cast<float>(D)), 0, false};
    const auto linear = [&pool](const float* in, int64_t n, const core::Tensor& wt,
                                const float* bias, float* out) {
        core::matmul(pool, in, n, wt, out);
        core::add_bias(out, bias, n, wt.rows());
    };
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        const EncoderLayer& L = w.layers[static_cast<size_t>(l * hp.n_group / hp.n_layer)];
        linear(x.data(), N, L.wq, L.bq, q.data());
        linear(x.data(), N, L.wk, L.bk, k.data());
        linear(x.data(), N, L.wv, L.bv, v.data());
        // The attention mask: each sequence attends only to its own rows (P = 0, non-causal).
        int64_t at = 0;
        for (const int64_t T : lengths) {
            detail::attention(pool, q.data() + at * C, T, 0, k.data() + at * C, v.data() + at * C,
                              H, H, D, span, scores.data(), att.data() + at * C);
            at += T;
        }
        linear(att.data(), N, L.wo, L.bo, o.data());
        core::add_inplace(o.data(), x.data(), N * C);
        core::layernorm(o.data(), L.ln1_w, L.ln1_b, x.data(), N, C, hp.norm_eps);
        linear(x.data(), N, L.w_up, L.b_up, up.data());
        apply_act(hp.act, up.data(), N * F);
        linear(up.data(), N, L.w_down, L.b_down, o.data());
        core::add_inplace(o.data(), x.data(), N * C);
        core::layernorm(o.data(), L.ln2_w, L.ln2_b, x.data(), N, C, hp.norm_eps);
    }
    return x;
}

std::vector<float> EncoderModel::head(const float* h, int64_t n, core::ThreadPool& pool) const {
    const Weights& w = *w_;
    const int64_t E = hp_.n_embd_tok, V = hp_.n_vocab;
    std::vector<float> t(static_cast<size_t>(n * E)), logits(static_cast<size_t>(n * V));
    core::matmul(pool, h, n, w.mlm_dense, t.data());
    core::add_bias(t.data(), w.mlm_dense_b, n, E);
    apply_act(hp_.arch == EncoderArch::Roberta ? EncoderAct::Gelu : hp_.act, t.data(), n * E);
    core::layernorm(t.data(), w.mlm_norm_w, w.mlm_norm_b, t.data(), n, E, hp_.norm_eps);
    core::matmul(pool, t.data(), n, w.output, logits.data());
    core::add_bias(logits.data(), w.output_b, n, V);
    return logits;
}

std::vector<float> EncoderModel::encode_seqs(std::span<const std::vector<TokenId>> seqs,
                                             core::ThreadPool& pool) const {
    std::vector<TokenId> packed;
    std::vector<int64_t> lengths;
    for (const std::vector<TokenId>& s : seqs) {
        packed.insert(packed.end(), s.begin(), s.end());
        lengths.push_back(static_cast<int64_t>(s.size()));
    }
    return encode(packed.data(), lengths, pool);
}

namespace {

// Splits n items of len(i) rows each into consecutive runs that fit `max_rows` (0 =
// EncoderModel::kBatchRows; an item longer than that runs alone) and calls run(first, count)
// for each in order: the forwards of a batch, so that memory does not grow with the batch.
template <typename Len, typename Run>
void for_each_forward(size_t n, int64_t max_rows, Len&& len, Run&& run) {
    const int64_t budget = max_rows > 0 ? max_rows : EncoderModel::kBatchRows;
    for (size_t first = 0; first < n;) {
        size_t end = first + 1;
        int64_t rows = len(first);
        while (end < n && rows + len(end) <= budget) rows += len(end++);
        run(first, end - first);
        first = end;
    }
}

// The mean of T rows of C, scaled to unit length (embed()).
std::vector<float> mean_unit(const float* h, int64_t T, int64_t C) {
    std::vector<double> sum(static_cast<size_t>(C), 0.0);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < C; ++c)
            sum[static_cast<size_t>(c)] += static_cast<double>(h[t * C + c]);
    double norm = 0.0;
    for (double& s : sum) {
        s /= static_cast<double>(T);
        norm += s * s;
    }
    norm = std::sqrt(norm);
    std::vector<float> out(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c)
        out[static_cast<size_t>(c)] =
            static_cast<float>(norm > 0.0 ? sum[static_cast<size_t>(c)] / norm : 0.0);
    return out;
}

// log softmax(logits[V])[truth], in double.
double log_prob(const float* logits, int64_t V, TokenId truth) {
    const float mx = *std::max_element(logits, logits + V);
    double z = 0.0;
    for (int64_t i = 0; i < V; ++i) z += std::exp(static_cast<double>(logits[i] - mx));
    return static_cast<double>(logits[truth] - mx) - std::log(z);
}

int64_t size_of(const std::vector<TokenId>& s) {
    return static_cast<int64_t>(s.size());
}

}  // namespace

void EncoderModel::check_batch(std::span<const std::vector<TokenId>> seqs) const {
    for (size_t i = 0; i < seqs.size(); ++i) {
        try {
            check_tokens(seqs[i]);
        } catch (const Error& e) {
            rethrow_with_context(e, fmt::format("batch sequence {} of {}", i, seqs.size()));
        }
    }
}

void EncoderModel::require_mlm_head() const {
    if (!hp_.has_mlm_head)
        throw_error(ErrorKind::Unsupported,
                    "model '{}' has no masked-LM head (imported from a bare {} model); import the "
                    "...ForMaskedLM checkpoint to predict tokens",
                    path(), encoder_arch_name(hp_.arch));
}

std::vector<float> EncoderModel::hidden(std::span<const TokenId> tokens,
                                        core::ThreadPool& pool) const {
    check_tokens(tokens);
    const int64_t T = static_cast<int64_t>(tokens.size());
    return encode(tokens.data(), std::span(&T, 1), pool);
}

void EncoderModel::for_each_output(std::span<const std::vector<TokenId>> seqs, int64_t max_rows,
                                   bool logits, core::ThreadPool& pool,
                                   const std::function<void(size_t, const float*)>& take) const {
    const int64_t width = logits ? hp_.n_vocab : hp_.n_embd;
    for_each_forward(
        seqs.size(), max_rows, [&](size_t i) { return size_of(seqs[i]); },
        [&](size_t first, size_t count) {
            std::vector<float> out = encode_seqs(seqs.subspan(first, count), pool);
            if (logits) out = head(out.data(), static_cast<int64_t>(out.size()) / hp_.n_embd, pool);
            const float* rows = out.data();
            for (size_t i = first; i < first + count; ++i) {
                take(i, rows);
                rows += size_of(seqs[i]) * width;
            }
        });
}

std::vector<std::vector<float>> EncoderModel::rows_batch(std::span<const std::vector<TokenId>> seqs,
                                                         int64_t max_rows, bool logits,
                                                         core::ThreadPool& pool) const {
    const int64_t width = logits ? hp_.n_vocab : hp_.n_embd;
    std::vector<std::vector<float>> out(seqs.size());
    for_each_output(seqs, max_rows, logits, pool, [&](size_t i, const float* rows) {
        out[i].assign(rows, rows + size_of(seqs[i]) * width);
    });
    return out;
}

std::vector<std::vector<float>> EncoderModel::hidden_batch(
    std::span<const std::vector<TokenId>> seqs, core::ThreadPool& pool, int64_t max_rows) const {
    check_batch(seqs);
    return rows_batch(seqs, max_rows, false, pool);
}

std::vector<float> EncoderModel::mlm_logits(std::span<const TokenId> tokens,
                                            core::ThreadPool& pool) const {
    require_mlm_head();
    const std::vector<float> h = hidden(tokens, pool);
    return head(h.data(), static_cast<int64_t>(tokens.size()), pool);
}

std::vector<std::vector<float>> EncoderModel::mlm_logits_batch(
    std::span<const std::vector<TokenId>> seqs, core::ThreadPool& pool, int64_t max_rows) const {
    require_mlm_head();
    check_batch(seqs);
    return rows_batch(seqs, max_rows, true, pool);
}

std::vector<float> EncoderModel::embed(std::span<const TokenId> tokens,
                                       core::ThreadPool& pool) const {
    const std::vector<float> h = hidden(tokens, pool);
    return mean_unit(h.data(), static_cast<int64_t>(tokens.size()), hp_.n_embd);
}

std::vector<std::vector<float>> EncoderModel::embed_batch(
    std::span<const std::vector<TokenId>> seqs, core::ThreadPool& pool, int64_t max_rows) const {
    return embeddings_batch(seqs, pool, false, max_rows).mean;
}

EncoderModel::Embeddings EncoderModel::embeddings_batch(std::span<const std::vector<TokenId>> seqs,
                                                        core::ThreadPool& pool, bool with_pooler,
                                                        int64_t max_rows) const {
    if (with_pooler) require_pooler();
    check_batch(seqs);
    const auto C = static_cast<size_t>(hp_.n_embd);
    Embeddings e;
    e.mean.resize(seqs.size());
    std::vector<float> cls(with_pooler ? seqs.size() * C : 0);
    for_each_output(seqs, max_rows, false, pool, [&](size_t i, const float* rows) {
        e.mean[i] = mean_unit(rows, size_of(seqs[i]), hp_.n_embd);
        if (with_pooler) std::copy_n(rows, C, cls.begin() + static_cast<std::ptrdiff_t>(i * C));  // [CLS]
    });
    if (!with_pooler || seqs.empty()) return e;
    const std::vector<float> all = pool_cls(cls.data(), static_cast<int64_t>(seqs.size()), pool);
    e.pooled.resize(seqs.size());
    for (size_t i = 0; i < seqs.size(); ++i) {
        const auto row = all.begin() + static_cast<std::ptrdiff_t>(i * C);
        e.pooled[i].assign(row, row + static_cast<std::ptrdiff_t>(C));
    }
    return e;
}

void EncoderModel::require_pooler() const {
    if (!hp_.has_pooler)
        throw_error(ErrorKind::Unsupported,
                    "model '{}' has no pooler (its checkpoint saved none); use the mean-pooled "
                    "embedding instead",
                    path());
}

std::vector<float> EncoderModel::pool_cls(const float* cls_rows, int64_t n,
                                          core::ThreadPool& pool) const {
    std::vector<float> out(static_cast<size_t>(n * hp_.n_embd));
    core::matmul(pool, cls_rows, n, w_->pool_w, out.data());
    core::add_bias(out.data(), w_->pool_b, n, hp_.n_embd);
    core::tanh_inplace(out.data(), n * hp_.n_embd);
    return out;
}

std::vector<float> EncoderModel::pooled(std::span<const TokenId> tokens,
                                        core::ThreadPool& pool) const {
    require_pooler();
    const std::vector<float> h = hidden(tokens, pool);
    return pool_cls(h.data(), 1, pool);  // row 0: [CLS]
}

std::vector<std::vector<float>> EncoderModel::pooled_batch(
    std::span<const std::vector<TokenId>> seqs, core::ThreadPool& pool, int64_t max_rows) const {
    return embeddings_batch(seqs, pool, true, max_rows).pooled;
}

double EncoderModel::pseudo_log_likelihood(std::span<const TokenId> tokens,
                                           core::ThreadPool& pool) const {
    check_tokens(tokens);
    const std::vector<TokenId> text(tokens.begin(), tokens.end());
    return pll(std::span(&text, 1), pool, 0)[0];
}

std::vector<double> EncoderModel::pseudo_log_likelihood_batch(
    std::span<const std::vector<TokenId>> texts, core::ThreadPool& pool, int64_t max_rows) const {
    check_batch(texts);
    return pll(texts, pool, max_rows);
}

std::vector<double> EncoderModel::pll(std::span<const std::vector<TokenId>> texts,
                                      core::ThreadPool& pool, int64_t max_rows) const {
    if (!hp_.has_mlm_head || mask_ < 0)
        throw_error(ErrorKind::Unsupported,
                    "model '{}': pseudo-log-likelihood needs a masked-LM head and a mask token; {}",
                    path(),
                    !hp_.has_mlm_head ? "it has no MLM head" : "its vocabulary has no mask token");
    // One masked copy per scored position of every text, text by text in position order (so
    // a text's sum adds its terms in the same order whatever else shares the batch).
    struct Copy {
        size_t text;
        int64_t pos;
    };
    std::vector<Copy> copies;
    const Vocab& tv = tokenizer_->vocab();
    for (size_t i = 0; i < texts.size(); ++i) {
        for (int64_t t = 0; t < size_of(texts[i]); ++t) {
            const TokenId id = texts[i][static_cast<size_t>(t)];
            const bool special = id == cls_ || id == sep_ || id == mask_ || id == tv.unk ||
                                 id == tv.pad || tokenizer_->is_control(id);
            if (!special) copies.push_back({i, t});
        }
    }
    // Copies share each matmul (up to max_rows rows per forward, texts of different lengths
    // side by side), and the head runs only on the one masked row of each copy.
    const int64_t C = hp_.n_embd, V = hp_.n_vocab;
    std::vector<double> total(texts.size(), 0.0);
    std::vector<TokenId> packed;
    std::vector<int64_t> lengths;
    std::vector<size_t> masked_rows;
    std::vector<float> rows;
    for_each_forward(
        copies.size(), max_rows, [&](size_t c) { return size_of(texts[copies[c].text]); },
        [&](size_t first, size_t count) {
            packed.clear();
            lengths.clear();
            masked_rows.clear();
            for (size_t c = first; c < first + count; ++c) {
                const std::vector<TokenId>& text = texts[copies[c].text];
                masked_rows.push_back(packed.size() + static_cast<size_t>(copies[c].pos));
                packed.insert(packed.end(), text.begin(), text.end());
                packed[masked_rows.back()] = mask_;
                lengths.push_back(size_of(text));
            }
            const std::vector<float> h = encode(packed.data(), lengths, pool);
            rows.resize(count * static_cast<size_t>(C));
            for (size_t b = 0; b < count; ++b)
                std::copy_n(h.begin() + static_cast<ptrdiff_t>(masked_rows[b]) * C, C,
                            rows.begin() + static_cast<ptrdiff_t>(b) * C);
            const std::vector<float> logits = head(rows.data(), static_cast<int64_t>(count), pool);
            for (size_t b = 0; b < count; ++b) {
                const Copy& cp = copies[first + b];
                total[cp.text] += log_prob(logits.data() + static_cast<ptrdiff_t>(b) * V, V,
                                           texts[cp.text][static_cast<size_t>(cp.pos)]);
            }
        });
    return total;
}

}  // namespace lyra::model
