// Hugging Face tokenizer.json (+ tokenizer_config.json) -> tokenizer.ggml.* (tokenizer_json.h).
//
// Which GGUF kind a tokenizer.json becomes:
//   model.type "BPE" with a ByteLevel pre-tokenizer or decoder          -> "gpt2"
//   model.type "BPE" with byte_fallback or a "▁" (Metaspace/Replace) rule -> "llama"
// anything else -> Error(Unsupported). The result is validated by building the Tokenizer before
// any key is written, so a bad file writes nothing. See docs/formats/tokenizers.md.
#include "model/tokenizer/tokenizer_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "model/format/gguf.h"
#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/normalize.h"
#include "model/tokenizer/tokenizer_impl.h"
#include "model/tokenizer/vocab.h"

namespace lyra::model {

namespace {

using json = nlohmann::json;

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // "▁"
// Gaps in the id space are filled with unused "[PADn]" pieces (as llama.cpp's converter does);
// more than this many missing ids means the file is not a vocabulary.
constexpr int64_t kMaxIdGaps = 1024;

const char* type_name(const json& j) {
    return j.type_name();
}

json parse_json(std::string_view text, const char* file) {
    json j;
    try {
        j = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {  // nlohmann's error -> ours, with the byte offset
        throw_error(ErrorKind::Corrupt, "{}: invalid JSON at byte {}; expected a JSON object", file,
                    e.byte);
    } catch (const json::exception& e) {  // e.g. out_of_range 406: a number too large (fuzzer)
        throw_error(ErrorKind::Corrupt, "{}: invalid JSON ({}); expected a JSON object", file,
                    e.what());
    }
    if (!j.is_object())
        throw_error(ErrorKind::Corrupt, "{}: top level is a {}; expected a JSON object", file,
                    type_name(j));
    return j;
}

// Field `key` of object `obj` (at JSON path `path`), or nullptr when absent or null.
const json* opt_field(const json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

const json& need_field(const json& obj, const char* key, const std::string& path) {
    const json* f = opt_field(obj, key);
    if (!f)
        throw_error(ErrorKind::Corrupt, "tokenizer.json: {}.{}: missing; expected a value", path,
                    key);
    return *f;
}

const std::string& need_string(const json& j, const std::string& path) {
    if (!j.is_string())
        throw_error(ErrorKind::Corrupt, "tokenizer.json: {}: is a {}; expected a string", path,
                    type_name(j));
    return j.get_ref<const std::string&>();
}

// `path` is a callable giving the JSON path, built only when there is an error to report
// (vocabularies have 10^5 entries; formatting every path up front would dominate the import).
template <typename Path>
int64_t need_id(const json& j, const Path& path) {
    if (!j.is_number_integer())
        throw_error(ErrorKind::Corrupt, "tokenizer.json: {}: is a {}; expected a token id", path(),
                    type_name(j));
    int64_t id = j.is_number_unsigned() && j.get<uint64_t>() > INT32_MAX ? -1 : j.get<int64_t>();
    if (id < 0 || id > INT32_MAX)
        throw_error(ErrorKind::Corrupt, "tokenizer.json: {}: token id out of range; got {}", path(),
                    j.dump());
    return id;
}

// Calls f(node) for `node` and, for "Sequence" nodes, each member (pretokenizers/normalizers/
// decoders/processors), depth first. Real files nest one or two levels; deeper is refused
// rather than recursed into (hostile input must not exhaust the stack).
template <typename F>
void walk(const json* node, const F& f, int depth = 0) {
    if (!node || !node->is_object()) return;
    if (depth > 16)
        throw_error(ErrorKind::Corrupt,
                    "tokenizer.json: Sequence nesting too deep; expected at most 16 levels");
    f(*node);
    for (const char* k : {"pretokenizers", "normalizers", "decoders", "processors"})
        if (const json* list = opt_field(*node, k); list && list->is_array())
            for (const json& sub : *list) walk(&sub, f, depth + 1);
}

std::string node_type(const json& n) {
    const json* t = opt_field(n, "type");
    return t && t->is_string() ? t->get<std::string>() : std::string();
}

// bos_token etc. in tokenizer_config.json: a string or {"content": "..."}.
std::optional<std::string> config_token(const json& cfg, const char* key) {
    const json* t = opt_field(cfg, key);
    if (!t) return std::nullopt;
    if (t->is_string()) return t->get<std::string>();
    if (const json* c = opt_field(*t, "content"); c && c->is_string()) return c->get<std::string>();
    throw_error(ErrorKind::Corrupt,
                "tokenizer_config.json: {}: is a {}; expected a string or {{\"content\": ...}}",
                key, type_name(*t));
}

std::optional<std::string> config_chat_template(const json& cfg) {
    const json* t = opt_field(cfg, "chat_template");
    if (!t) return std::nullopt;
    if (t->is_string()) return t->get<std::string>();
    if (t->is_array()) {  // [{"name": "default", "template": "..."}, ...]
        for (const json& e : *t) {
            const json* name = opt_field(e, "name");
            const json* tmpl = opt_field(e, "template");
            if (name && tmpl && name->is_string() && tmpl->is_string() && *name == "default")
                return tmpl->get<std::string>();
        }
        return std::nullopt;
    }
    throw_error(ErrorKind::Corrupt,
                "tokenizer_config.json: chat_template: is a {}; expected a string or a list",
                type_name(*t));
}

struct AddedToken {
    int64_t id;
    std::string content;
    bool special;
};

// model.vocab + added_tokens -> tokens by id (gaps filled) and the added tokens.
// A Unigram model.vocab: [[piece, score], ...], the id being the position. Scores go to v.scores.
std::map<int64_t, std::string> read_unigram_vocab(const json& vocab, Vocab& v) {
    if (!vocab.is_array())
        throw_error(ErrorKind::Corrupt, "tokenizer.json: model.vocab: is a {}; expected an array "
                    "of [piece, score] pairs", type_name(vocab));
    std::map<int64_t, std::string> by_id;
    v.scores.reserve(vocab.size());
    for (size_t i = 0; i < vocab.size(); ++i) {
        const json& e = vocab[i];
        if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
            throw_error(ErrorKind::Corrupt, "tokenizer.json: model.vocab[{}]: is {}; expected "
                        "[piece, score]", i, e.dump().substr(0, 80));
        by_id.emplace(static_cast<int64_t>(i), e[0].get<std::string>());
        v.scores.push_back(e[1].get<float>());
    }
    return by_id;
}

void read_tokens(const json& root, const json& model, Vocab& v, std::vector<AddedToken>& added) {
    const json& vocab = need_field(model, "vocab", "model");
    std::map<int64_t, std::string> by_id;
    if (vocab.is_array()) by_id = read_unigram_vocab(vocab, v);
    else if (!vocab.is_object())
        throw_error(ErrorKind::Corrupt, "tokenizer.json: model.vocab: is a {}; expected an object",
                    type_name(vocab));
    for (auto entry = vocab.begin(); vocab.is_object() && entry != vocab.end(); ++entry) {
        const std::string& piece = entry.key();
        int64_t id =
            need_id(*entry, [&] { return fmt::format("model.vocab[{}]", json(piece).dump()); });
        if (!by_id.emplace(id, piece).second)
            throw_error(ErrorKind::Corrupt,
                        "tokenizer.json: model.vocab[{}]: id {} is also '{}'; expected unique ids",
                        json(piece).dump(), id, by_id[id]);
    }
    if (const json* list = opt_field(root, "added_tokens")) {
        if (!list->is_array())
            throw_error(ErrorKind::Corrupt,
                        "tokenizer.json: added_tokens: is a {}; expected an array",
                        type_name(*list));
        for (size_t i = 0; i < list->size(); ++i) {
            const std::string path = fmt::format("added_tokens[{}]", i);
            const json& e = (*list)[i];
            AddedToken a;
            a.id = need_id(need_field(e, "id", path), [&] { return path + ".id"; });
            a.content = need_string(need_field(e, "content", path), path + ".content");
            const json* sp = opt_field(e, "special");
            a.special = sp && sp->is_boolean() && sp->get<bool>();
            by_id[a.id] = a.content;  // an added token overrides a vocab entry with its id
            added.push_back(std::move(a));
        }
    }
    if (by_id.empty())
        throw_error(ErrorKind::Corrupt,
                    "tokenizer.json: model.vocab: empty; expected at least one token");
    const int64_t n = by_id.rbegin()->first + 1;
    if (n - static_cast<int64_t>(by_id.size()) > kMaxIdGaps)
        throw_error(ErrorKind::Corrupt,
                    "tokenizer.json: model.vocab: ids leave {} gaps; expected at most {}",
                    n - static_cast<int64_t>(by_id.size()), kMaxIdGaps);
    v.tokens.resize(static_cast<size_t>(n));
    v.types.assign(static_cast<size_t>(n), TokenType::Normal);
    for (int64_t i = 0; i < n; ++i) {
        auto it = by_id.find(i);
        if (it != by_id.end()) {
            v.tokens[i] = it->second;
        } else {
            v.tokens[i] = fmt::format("[PAD{}]", i);
            v.types[i] = TokenType::Unused;
        }
    }
    for (const AddedToken& a : added)
        v.types[a.id] = a.special ? TokenType::Control : TokenType::UserDefined;
    if (!v.scores.empty()) v.scores.resize(v.tokens.size(), 0.0f);
}

std::vector<std::string> read_merges(const json& model) {
    std::vector<std::string> out;
    const json* merges = opt_field(model, "merges");
    if (!merges) return out;
    if (!merges->is_array())
        throw_error(ErrorKind::Corrupt, "tokenizer.json: model.merges: is a {}; expected an array",
                    type_name(*merges));
    out.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) {
        const json& m = (*merges)[i];
        auto path = [i] { return fmt::format("model.merges[{}]", i); };
        if (m.is_string()) {
            out.push_back(m.get<std::string>());
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            const std::string& a = m[0].get_ref<const std::string&>();
            const std::string& b = m[1].get_ref<const std::string&>();
            if (a.find(' ') != std::string::npos || b.find(' ') != std::string::npos)
                throw_error(ErrorKind::Unsupported,
                            "tokenizer.json: {}: a merged piece contains a space, which GGUF's "
                            "'left right' merge strings cannot express",
                            path());
            out.push_back(a + " " + b);
        } else {
            throw_error(ErrorKind::Corrupt,
                        "tokenizer.json: {}: is a {}; expected \"left right\" or [left, right]",
                        path(), type_name(m));
        }
    }
    return out;
}

TokenId find_id(const Vocab& v, const std::string& text) {
    auto it = std::find(v.tokens.begin(), v.tokens.end(), text);
    return it == v.tokens.end() ? -1 : static_cast<TokenId>(it - v.tokens.begin());
}

// The Split regex of a pre-tokenizer sequence, if any.
std::optional<std::string> split_regex(const json* pre) {
    std::optional<std::string> out;
    walk(pre, [&](const json& n) {
        if (node_type(n) != "Split") return;
        const json* pat = opt_field(n, "pattern");
        if (const json* r = pat ? opt_field(*pat, "Regex") : nullptr; r && r->is_string())
            out = r->get<std::string>();
    });
    return out;
}

std::string detect_pre(const json* pre, std::string_view arch) {
    bool digits = false;
    walk(pre, [&](const json& n) {
        const json* ind = opt_field(n, "individual_digits");
        if (node_type(n) == "Digits" && ind && ind->is_boolean() && ind->get<bool>()) digits = true;
    });
    if (std::optional<std::string> re = split_regex(pre)) {
        for (const char* name : {"llama-bpe", "qwen2", "gpt2"}) {
            std::vector<std::string> known = pre_tokenizer_regexes(name);
            if (known.size() == 1 && known[0] == *re) return name;
        }
        throw_error(ErrorKind::Unsupported,
                    "tokenizer.json: pre_tokenizer: Split regex is not one Lyra knows; expected "
                    "the GPT-2, Llama 3 or Qwen2 pattern, got {}",
                    json(*re).dump());
    }
    if (digits) return "smollm";
    if (arch == "qwen2") return "qwen2";
    if (arch == "llama") return "llama-bpe";
    return "gpt2";
}

// The special tokens a post-processor wraps a single text in: TemplateProcessing's "single"
// template (Llama 3: "<|begin_of_text|> $A"; BERT: "[CLS] $A [SEP]"; T5: "$A </s>") or
// BertProcessing's cls/sep. `before` is the first special before $A, `after` the last after it.
struct Wrapping {
    std::optional<std::string> before, after;
};

Wrapping template_specials(const json* post) {
    Wrapping out;
    walk(post, [&](const json& n) {
        const std::string type = node_type(n);
        if (type == "BertProcessing" || type == "RobertaProcessing") {
            for (auto [key, slot] : {std::pair{"cls", &out.before}, std::pair{"sep", &out.after}}) {
                const json* pair = opt_field(n, key);
                if (pair && pair->is_array() && !pair->empty() && (*pair)[0].is_string())
                    *slot = (*pair)[0].get<std::string>();
            }
            return;
        }
        if (type != "TemplateProcessing") return;
        const json* single = opt_field(n, "single");
        if (!single || !single->is_array()) return;
        bool seen_text = false;
        for (const json& item : *single) {
            if (opt_field(item, "Sequence")) {
                seen_text = true;
                continue;
            }
            const json* sp = opt_field(item, "SpecialToken");
            const json* id = sp ? opt_field(*sp, "id") : nullptr;
            if (!id || !id->is_string()) continue;
            if (!seen_text && !out.before) out.before = id->get<std::string>();
            if (seen_text) out.after = id->get<std::string>();
        }
    });
    return out;
}

// The normalizer of a WordPiece or Unigram tokenizer.json as tokenizer.lyra.normalizer steps.
// Precompiled (SentencePiece's compiled nmt_nfkc character map) is read as NFKC, the form it was
// compiled from; the two differ only on characters the map's extra rules touch (some control and
// space characters), which the tests name.
std::vector<std::string> normalizer_steps_of(const json* norm, bool bert_kind) {
    std::vector<std::string> steps;
    auto add = [&](const std::string& step) {
        if (std::find(steps.begin(), steps.end(), step) == steps.end()) steps.push_back(step);
    };
    walk(norm, [&](const json& n) {
        const std::string type = node_type(n);
        if (type == "Sequence") return;
        if (type == "BertNormalizer") {
            const json* lc = opt_field(n, "lowercase");
            const json* sa = opt_field(n, "strip_accents");
            const bool lower = !lc || (lc->is_boolean() && lc->get<bool>());
            const bool strip = sa && sa->is_boolean() ? sa->get<bool>() : lower;  // null: as lowercase
            if (strip) add("strip_accents");
            if (lower) add("lowercase");
        } else if (type == "Lowercase") {
            add("lowercase");
        } else if (type == "StripAccents") {
            add("strip_accents");
        } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
            std::string form = type;
            std::transform(form.begin(), form.end(), form.begin(), [](char c) { return static_cast<char>(c - 'A' + 'a'); });
            if (!bert_kind) add(form);  // BERT's strip_accents decomposes by itself
        } else if (type == "Precompiled") {
            if (!bert_kind) add("nfkc");
        } else if (type == "Replace" && !bert_kind) {
            const json* pat = opt_field(n, "pattern");
            const json* re = pat ? opt_field(*pat, "Regex") : nullptr;
            const json* content = opt_field(n, "content");
            if (re && re->is_string() && *re == " {2,}" && content && *content == " ") {
                add("collapse_spaces");
                return;
            }
            // A literal string replacement (ALBERT: `` and '' become ").
            const json* str = pat ? opt_field(*pat, "String") : nullptr;
            if (str && str->is_string() && content && content->is_string()) {
                const std::string step = detail::make_replace_step(str->get<std::string>(), content->get<std::string>());
                if (detail::parse_replace_step(step)) {
                    steps.push_back(step);
                    return;
                }
            }
            throw_error(ErrorKind::Unsupported,
                        "tokenizer.json: normalizer: Replace {} is not supported; expected a literal "
                        "String pattern or the Replace(\" {{2,}}\", \" \") of T5 tokenizers",
                        n.dump().substr(0, 120));
        } else if (type == "Strip" || type == "Prepend") {
            // Strip trims the ends (the word split ignores them); a "▁" Prepend is the dummy
            // prefix, read from the pre-tokenizer settings.
        } else {
            throw_error(ErrorKind::Unsupported,
                        "tokenizer.json: normalizer type '{}' is not supported; expected "
                        "BertNormalizer, Lowercase, StripAccents, NFC/NFD/NFKC/NFKD, Precompiled "
                        "or Replace",
                        type);
        }
    });
    return steps;
}

// WordPiece ("bert"): pieces become "▁piece" (word-initial) or "piece" ("##piece"), as GGUF
// files of this kind store them.
void convert_wordpiece(const json& root, const json& model, const json& cfg, Vocab& v) {
    const json* prefix_field = opt_field(model, "continuing_subword_prefix");
    const std::string prefix =
        prefix_field && prefix_field->is_string() ? prefix_field->get<std::string>() : "##";
    std::string unk_text;
    if (const json* unk = opt_field(model, "unk_token"); unk && unk->is_string())
        unk_text = unk->get<std::string>();
    for (size_t i = 0; i < v.tokens.size(); ++i) {
        std::string& t = v.tokens[i];
        if (v.types[i] != TokenType::Normal || t == unk_text) continue;
        if (!prefix.empty() && t.size() > prefix.size() && t.compare(0, prefix.size(), prefix) == 0)
            t.erase(0, prefix.size());
        else
            t.insert(0, kSpaceMark);
    }
    if (const json* pre = opt_field(root, "pre_tokenizer")) {
        const std::string type = node_type(*pre);
        if (type != "BertPreTokenizer")
            throw_error(ErrorKind::Unsupported,
                        "tokenizer.json: pre_tokenizer '{}' with WordPiece is not supported; "
                        "expected BertPreTokenizer",
                        type);
    }
    v.normalizer = normalizer_steps_of(opt_field(root, "normalizer"), true);
    const Wrapping wrap = template_specials(opt_field(root, "post_processor"));
    const std::optional<std::string> cls = wrap.before ? wrap.before : config_token(cfg, "cls_token");
    const std::optional<std::string> sep = wrap.after ? wrap.after : config_token(cfg, "sep_token");
    v.bos = cls ? find_id(v, *cls) : find_id(v, "[CLS]");
    v.eos = sep ? find_id(v, *sep) : find_id(v, "[SEP]");
    v.add_bos = v.bos >= 0;
    v.add_eos = v.eos >= 0;
}

// Unigram ("t5"): pieces keep their "▁"; "<0xNN>" pieces are bytes when byte_fallback is on.
void convert_unigram(const json& root, const json& model, Vocab& v) {
    if (const json* bf = opt_field(model, "byte_fallback"); bf && bf->is_boolean() && bf->get<bool>())
        for (size_t i = 0; i < v.tokens.size(); ++i)
            if (v.types[i] == TokenType::Normal && detail::parse_byte_piece(v.tokens[i]) >= 0)
                v.types[i] = TokenType::Byte;
    if (const json* unk = opt_field(model, "unk_id"); unk && unk->is_number_integer()) {
        const int64_t id = unk->get<int64_t>();
        if (id < 0 || id >= static_cast<int64_t>(v.tokens.size()))
            throw_error(ErrorKind::Corrupt, "tokenizer.json: model.unk_id: {} is out of range; "
                        "expected 0..{}", id, v.tokens.size() - 1);
        v.unk = static_cast<TokenId>(id);
        v.types[v.unk] = TokenType::Unknown;
    }
    v.normalizer = normalizer_steps_of(opt_field(root, "normalizer"), false);
    bool metaspace = false, whitespace_split = false;
    v.add_space_prefix = false;
    walk(opt_field(root, "pre_tokenizer"), [&](const json& n) {
        const std::string type = node_type(n);
        if (type == "Sequence") return;
        if (type == "WhitespaceSplit") {
            whitespace_split = true;
        } else if (type == "Metaspace") {
            metaspace = true;
            const json* scheme = opt_field(n, "prepend_scheme");
            const json* aps = opt_field(n, "add_prefix_space");
            v.add_space_prefix = (scheme && scheme->is_string() && *scheme != "never") ||
                                 (!scheme && (!aps || (aps->is_boolean() && aps->get<bool>())));
        } else {
            throw_error(ErrorKind::Unsupported,
                        "tokenizer.json: pre_tokenizer '{}' with Unigram is not supported; "
                        "expected Metaspace (optionally after WhitespaceSplit)",
                        type);
        }
    });
    if (!metaspace)
        throw_error(ErrorKind::Unsupported,
                    "tokenizer.json: Unigram without a Metaspace pre-tokenizer is not supported; "
                    "expected SentencePiece's \"▁\" word marks");
    if (whitespace_split) v.normalizer.push_back("collapse_whitespace");
    const Wrapping wrap = template_specials(opt_field(root, "post_processor"));
    v.bos = wrap.before ? find_id(v, *wrap.before) : -1;
    v.eos = wrap.after ? find_id(v, *wrap.after) : find_id(v, "</s>");
    v.add_bos = wrap.before && v.bos >= 0;
    v.add_eos = wrap.after && v.eos >= 0;
}

}  // namespace

std::unique_ptr<Tokenizer> tokenizer_from_json(std::string_view tokenizer_json,
                                               std::string_view tokenizer_config_json,
                                               std::string_view arch) {
    const json root = parse_json(tokenizer_json, "tokenizer.json");
    const json cfg = tokenizer_config_json.empty()
                         ? json::object()
                         : parse_json(tokenizer_config_json, "tokenizer_config.json");
    const json& model = need_field(root, "model", "$");
    if (!model.is_object())
        throw_error(ErrorKind::Corrupt, "tokenizer.json: model: is a {}; expected an object",
                    type_name(model));
    const json* mtype = opt_field(model, "type");
    // Older files omit model.type; a "merges" list says BPE.
    std::string type = mtype && mtype->is_string()  ? mtype->get<std::string>()
                       : opt_field(model, "merges") ? "BPE"
                                                    : "";
    if (type != "BPE" && type != "WordPiece" && type != "Unigram")
        throw_error(ErrorKind::Unsupported,
                    "tokenizer.json: model.type: '{}' is not supported; expected 'BPE', "
                    "'WordPiece' or 'Unigram'",
                    type);

    const json* pre = opt_field(root, "pre_tokenizer");
    const json* norm = opt_field(root, "normalizer");
    const json* dec = opt_field(root, "decoder");
    bool byte_level = false, metaspace = false, prepend = false;
    auto scan = [&](const json& n) {
        const std::string t = node_type(n);
        if (t == "ByteLevel") byte_level = true;
        if (t == "Metaspace") {
            metaspace = true;
            const json* scheme = opt_field(n, "prepend_scheme");
            const json* aps = opt_field(n, "add_prefix_space");
            if ((scheme && scheme->is_string() && *scheme != "never") ||
                (aps && aps->is_boolean() && aps->get<bool>()))
                prepend = true;
        }
        if (t == "Replace") {
            const json* c = opt_field(n, "content");
            if (c && c->is_string() && *c == kSpaceMark) metaspace = true;
        }
        if (t == "Prepend") {
            const json* p = opt_field(n, "prepend");
            if (p && p->is_string() && *p == kSpaceMark) prepend = true;
        }
    };
    walk(pre, scan);
    walk(norm, scan);
    walk(dec, scan);
    const json* bf = opt_field(model, "byte_fallback");
    const bool byte_fallback = bf && bf->is_boolean() && bf->get<bool>();

    Vocab v;
    std::vector<AddedToken> added;
    read_tokens(root, model, v, added);
    if (type == "WordPiece" || type == "Unigram") {
        Vocab d = default_vocab(type == "WordPiece" ? "bert" : "t5");
        d.tokens = std::move(v.tokens);
        d.types = std::move(v.types);
        d.scores = std::move(v.scores);
        v = std::move(d);
        if (type == "WordPiece")
            convert_wordpiece(root, model, cfg, v);
        else
            convert_unigram(root, model, v);
    } else if (byte_level) {
        Vocab d = default_vocab("gpt2");
        d.tokens = std::move(v.tokens);
        d.types = std::move(v.types);
        v = std::move(d);
        v.merges = read_merges(model);
        v.pre = detect_pre(pre, arch);
        const Wrapping wrap = template_specials(opt_field(root, "post_processor"));
        if (wrap.before) {
            v.bos = find_id(v, *wrap.before);
            v.add_bos = v.bos >= 0;
        }
        if (wrap.after) {  // RoBERTa: <s> text </s>
            v.eos = find_id(v, *wrap.after);
            v.add_eos = v.eos >= 0;
        }
    } else if (byte_fallback || metaspace) {
        Vocab d = default_vocab("llama");
        d.tokens = std::move(v.tokens);
        d.types = std::move(v.types);
        v = std::move(d);
        v.add_space_prefix = prepend;
        v.bos = find_id(v, "<s>");
        v.eos = find_id(v, "</s>");
        v.unk = -1;
        // Scores: SentencePiece merges the pair whose result has the highest score; Hugging Face
        // BPE the pair of lowest merge rank. Giving the result of merge r the score -r makes the
        // two agree; pieces no merge makes (characters, bytes, specials) score below them all.
        std::vector<std::string> merges = read_merges(model);
        const auto n_merges = static_cast<float>(merges.size());
        v.scores.assign(v.tokens.size(), 0.0f);
        for (size_t i = 0; i < v.tokens.size(); ++i)
            v.scores[i] = -(n_merges + static_cast<float>(i));
        std::map<std::string, size_t> first_rank;
        const std::set<std::string> known(v.tokens.begin(), v.tokens.end());
        for (size_t r = 0; r < merges.size(); ++r) {
            size_t sp = merges[r].find(' ', 1);
            if (sp == std::string::npos)
                throw_error(ErrorKind::Corrupt,
                            "tokenizer.json: model.merges[{}]: not a pair; expected 'left right', "
                            "got {}",
                            r, json(merges[r]).dump());
            std::string left = merges[r].substr(0, sp), right = merges[r].substr(sp + 1);
            if (!known.count(left) || !known.count(right) || !known.count(left + right))
                throw_error(ErrorKind::Corrupt,
                            "tokenizer.json: model.merges[{}]: names a piece not in the "
                            "vocabulary; expected known pieces, got {}",
                            r, json(merges[r]).dump());
            first_rank.emplace(left + right, r);
        }
        for (size_t i = 0; i < v.tokens.size(); ++i) {
            auto it = first_rank.find(v.tokens[i]);
            if (it != first_rank.end()) v.scores[i] = -static_cast<float>(it->second);
            const std::string& t = v.tokens[i];
            if (v.types[i] == TokenType::Normal && t.size() == 6 && t.rfind("<0x", 0) == 0 &&
                t[5] == '>')
                v.types[i] = TokenType::Byte;
        }
    } else {
        throw_error(ErrorKind::Unsupported,
                    "tokenizer.json: BPE without a ByteLevel or Metaspace/byte_fallback setup; "
                    "expected a GPT-2 style or SentencePiece style tokenizer");
    }
    if (const json* unk = opt_field(model, "unk_token"); unk && unk->is_string() && type != "Unigram") {
        v.unk = find_id(v, unk->get<std::string>());
        if (v.unk >= 0 && v.types[v.unk] != TokenType::Byte) v.types[v.unk] = TokenType::Unknown;
    }

    // tokenizer_config.json: special tokens, add_bos/add_eos, chat template.
    auto set_special = [&](const char* key, TokenId& id) {
        if (auto t = config_token(cfg, key)) {
            id = find_id(v, *t);
            if (id < 0)
                throw_error(ErrorKind::Corrupt,
                            "tokenizer_config.json: {}: '{}' is not in the vocabulary", key, *t);
        }
    };
    set_special("bos_token", v.bos);
    set_special("eos_token", v.eos);
    set_special("pad_token", v.pad);
    set_special("unk_token", v.unk);
    set_special("mask_token", v.mask);
    if (v.mask < 0) v.mask = find_id(v, type == "BPE" ? "<mask>" : "[MASK]");
    if (const json* b = opt_field(cfg, "add_bos_token"); b && b->is_boolean())
        v.add_bos = b->get<bool>();
    if (const json* b = opt_field(cfg, "add_eos_token"); b && b->is_boolean())
        v.add_eos = b->get<bool>();
    if (v.add_bos && v.bos < 0) v.add_bos = false;
    if (auto t = config_chat_template(cfg)) v.chat_template = std::move(*t);

    // Building it validates everything (merges, ids, regexes).
    try {
        return Tokenizer::from_vocab(std::move(v));
    } catch (const Error& e) {
        rethrow_with_context(e, "tokenizer.json");
    }
}

void import_tokenizer_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                           std::string_view arch, GgufWriter& out) {
    // Converted and validated in full before a single key is written.
    tokenizer_from_json(tokenizer_json, tokenizer_config_json, arch)->write_gguf(out);
}

}  // namespace lyra::model
