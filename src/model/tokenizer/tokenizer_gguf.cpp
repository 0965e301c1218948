// Tokenizer <-> GGUF tokenizer.ggml.* keys (docs/formats/tokenizers.md).
#include <limits>

#include "core/error.h"
#include "model/format/gguf.h"
#include "model/tokenizer/tokenizer_impl.h"
#include "model/tokenizer/vocab.h"

namespace lyra::model {

namespace {

// Reads an optional token id key. A stored id of -1 (or its u32 form) means "none".
void read_id(const GgufFile& g, std::string_view key, TokenId& id, size_t n_tokens) {
    std::optional<int64_t> v = g.get_int(key);
    if (!v) {
        if (id >= static_cast<TokenId>(n_tokens)) id = -1;  // a default the file never stated
        return;
    }
    if (*v == -1 || *v == 0xFFFFFFFFll) {
        id = -1;
        return;
    }
    if (*v < 0 || *v >= static_cast<int64_t>(n_tokens))
        throw_error(ErrorKind::Corrupt, "{}: token id out of range; expected 0..{}, got {}", key,
                    n_tokens - 1, *v);
    id = static_cast<TokenId>(*v);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& g) {
    try {
        std::optional<std::string> model = g.get_string("tokenizer.ggml.model");
        if (!model)
            throw_error(ErrorKind::Corrupt,
                        "tokenizer.ggml.model: missing; expected 'llama', 'gpt2', 'bert' or 't5'");
        Vocab v = default_vocab(*model);
        std::optional<std::vector<std::string>> tokens =
            g.get_string_array("tokenizer.ggml.tokens");
        if (!tokens)
            throw_error(ErrorKind::Corrupt,
                        "tokenizer.ggml.tokens: missing; expected an array of strings");
        v.tokens = std::move(*tokens);
        if (auto s = g.get_float_array("tokenizer.ggml.scores")) v.scores = std::move(*s);
        if (auto t = g.get_int_array("tokenizer.ggml.token_type")) {
            v.types.reserve(t->size());
            for (size_t i = 0; i < t->size(); ++i) {
                int64_t x = (*t)[i];
                if (x < 0 || x > 6)
                    throw_error(ErrorKind::Corrupt,
                                "tokenizer.ggml.token_type[{}]: unknown token type; expected "
                                "0..6, got {}",
                                i, x);
                v.types.push_back(static_cast<TokenType>(x));
            }
        }
        if (auto m = g.get_string_array("tokenizer.ggml.merges")) {
            v.merges = std::move(*m);
        } else if (v.model == "gpt2") {
            throw_error(ErrorKind::Corrupt,
                        "tokenizer.ggml.merges: missing; expected the merge list of a 'gpt2' "
                        "vocabulary");
        }
        const size_t n = v.tokens.size();
        read_id(g, "tokenizer.ggml.bos_token_id", v.bos, n);
        read_id(g, "tokenizer.ggml.eos_token_id", v.eos, n);
        read_id(g, "tokenizer.ggml.unknown_token_id", v.unk, n);
        read_id(g, "tokenizer.ggml.padding_token_id", v.pad, n);
        read_id(g, "tokenizer.ggml.eot_token_id", v.eot, n);
        read_id(g, "tokenizer.ggml.mask_token_id", v.mask, n);
        if (auto steps = g.get_string_array("tokenizer.lyra.normalizer")) v.normalizer = std::move(*steps);
        if (auto b = g.get_bool("tokenizer.ggml.add_bos_token")) v.add_bos = *b;
        if (auto b = g.get_bool("tokenizer.ggml.add_eos_token")) v.add_eos = *b;
        if (auto b = g.get_bool("tokenizer.ggml.add_space_prefix")) v.add_space_prefix = *b;
        if (auto p = g.get_string("tokenizer.ggml.pre")) v.pre = std::move(*p);
        if (auto c = g.get_string("tokenizer.chat_template")) v.chat_template = std::move(*c);
        return from_vocab(std::move(v));
    } catch (const Error& e) {
        rethrow_with_context(e, fmt::format("tokenizer of '{}'", g.path()));
    }
}

namespace detail {

void TokenizerBase::write_gguf(GgufWriter& w) const {
    const Vocab& v = vocab_;
    w.set_string("tokenizer.ggml.model", v.model);
    if (v.model == "gpt2" || !v.pre.empty())
        w.set_string("tokenizer.ggml.pre", v.pre.empty() ? "default" : v.pre);
    w.set_string_array("tokenizer.ggml.tokens", v.tokens);
    if (!v.scores.empty() || v.model == "llama" || v.model == "t5") {
        std::vector<float> scores = v.scores;
        scores.resize(v.tokens.size(), 0.0f);
        w.set_f32_array("tokenizer.ggml.scores", scores);
    }
    std::vector<int32_t> types(v.tokens.size(), static_cast<int32_t>(TokenType::Normal));
    for (size_t i = 0; i < v.types.size(); ++i) types[i] = static_cast<int32_t>(v.types[i]);
    w.set_i32_array("tokenizer.ggml.token_type", types);
    if (v.model == "gpt2") w.set_string_array("tokenizer.ggml.merges", v.merges);
    auto put_id = [&](const char* key, TokenId id) {
        if (id >= 0) w.set_u32(key, static_cast<uint32_t>(id));
    };
    put_id("tokenizer.ggml.bos_token_id", v.bos);
    put_id("tokenizer.ggml.eos_token_id", v.eos);
    put_id("tokenizer.ggml.unknown_token_id", v.unk);
    put_id("tokenizer.ggml.padding_token_id", v.pad);
    put_id("tokenizer.ggml.eot_token_id", v.eot);
    put_id("tokenizer.ggml.mask_token_id", v.mask);
    w.set_bool("tokenizer.ggml.add_bos_token", v.add_bos);
    w.set_bool("tokenizer.ggml.add_eos_token", v.add_eos);
    if (v.model == "llama" || v.model == "t5")
        w.set_bool("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
    if (v.model == "bert" || v.model == "t5")  // written even when empty: "none" differs from the default
        w.set_string_array("tokenizer.lyra.normalizer", v.normalizer);
    if (!v.chat_template.empty()) w.set_string("tokenizer.chat_template", v.chat_template);
}

}  // namespace detail

}  // namespace lyra::model
