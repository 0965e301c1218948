// Export of Lyra's BPE vocabularies as a Hugging Face tokenizer directory (tokenizer_json.h), so
// a tokenizer Lyra trained (`lyra tokenizer train`, a recipe's bpe:N or char:N) works in other
// tools. The files follow the shapes Hugging Face's own converters write:
//   "gpt2"  -> BPE over byte-level characters; the ByteLevel pre-tokenizer (GPT-2's regex) or a
//              Split with the file's regex ahead of a regex-free ByteLevel; ByteLevel decoder.
//   "llama" -> SentencePiece-style BPE with byte_fallback: "▁" replaces spaces (and is prepended
//              when add_space_prefix); merges rebuilt from the scores as SentencePiece applies
//              them (the pair whose result scores highest merges first); the decoder undoes it.
// Control tokens become special added tokens; a BOS the vocabulary adds becomes the
// post-processor's template. Importing the files again gives the same ids (tested).
#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/tokenizer/tokenizer_json.h"
#include "model/tokenizer/vocab.h"

namespace lyra::model {

namespace {

// Plain (key-sorted) objects: readers match keys by name, and an insertion-ordered object would
// make a 100k-piece vocabulary quadratic to build.
using json = nlohmann::json;

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // "▁"

json string_pattern(std::string_view s) { return {{"String", s}}; }

json added_tokens(const Vocab& v) {
    json out = json::array();
    for (size_t i = 0; i < v.tokens.size(); ++i) {
        const TokenType t = v.types.empty() ? TokenType::Normal : v.types[i];
        if (t != TokenType::Control && t != TokenType::Unknown && t != TokenType::UserDefined) continue;
        out.push_back({{"id", i},
                       {"content", v.tokens[i]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", t == TokenType::UserDefined},
                       {"special", t != TokenType::UserDefined}});
    }
    return out;
}

// BOS (and EOS) around the text when the vocabulary adds them; null when it adds neither.
json template_processor(const Vocab& v, const json& fallback) {
    const bool bos = v.add_bos && v.bos >= 0, eos = v.add_eos && v.eos >= 0;
    if (!bos && !eos) return fallback;
    json single = json::array(), pair = json::array(), specials = json::object();
    auto special = [&](TokenId id, int type_id) {
        const std::string& s = v.tokens[static_cast<size_t>(id)];
        specials[s] = {{"id", s}, {"ids", {id}}, {"tokens", {s}}};
        return json{{"SpecialToken", {{"id", s}, {"type_id", type_id}}}};
    };
    auto seq = [](const char* id, int type_id) { return json{{"Sequence", {{"id", id}, {"type_id", type_id}}}}; };
    if (bos) single.push_back(special(v.bos, 0));
    single.push_back(seq("A", 0));
    if (eos) single.push_back(special(v.eos, 0));
    pair = single;
    if (bos) pair.push_back(special(v.bos, 1));
    pair.push_back(seq("B", 1));
    if (eos) pair.push_back(special(v.eos, 1));
    return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", specials}};
}

json vocab_map(const Vocab& v) {
    json m = json::object();
    for (size_t i = 0; i < v.tokens.size(); ++i) m[v.tokens[i]] = i;
    return m;
}

json byte_level(bool use_regex) {
    return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

json export_gpt2(const Vocab& v) {
    const auto regexes = pre_tokenizer_regexes(v.pre);
    json pre;
    if (v.pre.empty() || v.pre == "default" || v.pre == "gpt2" || v.pre == "gpt-2") {
        pre = byte_level(true);  // ByteLevel's own regex is GPT-2's
    } else {
        json steps = json::array();
        for (const auto& r : regexes) {
            steps.push_back({{"type", "Split"},
                             {"pattern", {{"Regex", r}}},
                             {"behavior", "Isolated"},
                             {"invert", false}});
        }
        steps.push_back(byte_level(false));
        pre = {{"type", "Sequence"}, {"pretokenizers", steps}};
    }
    json merges = json::array();
    for (const auto& m : v.merges) merges.push_back(m);
    return {{"version", "1.0"},
            {"truncation", nullptr},
            {"padding", nullptr},
            {"added_tokens", added_tokens(v)},
            {"normalizer", nullptr},
            {"pre_tokenizer", pre},
            {"post_processor", template_processor(v, byte_level(true))},
            {"decoder", byte_level(true)},
            {"model",
             {{"type", "BPE"},
              {"dropout", nullptr},
              {"unk_token", nullptr},
              {"continuing_subword_prefix", nullptr},
              {"end_of_word_suffix", nullptr},
              {"fuse_unk", false},
              {"byte_fallback", false},
              {"ignore_merges", false},
              {"vocab", vocab_map(v)},
              {"merges", merges}}}};
}

// SentencePiece merges the adjacent pair whose concatenation is the highest-scoring piece;
// Hugging Face BPE the pair of lowest rank. Ranking every split of a piece by that piece's score
// (ties by id), then by the parts' ids, makes the two agree.
json spm_merges(const Vocab& v) {
    std::map<std::string, TokenId> id_of;
    for (size_t i = 0; i < v.tokens.size(); ++i) {
        const TokenType t = v.types.empty() ? TokenType::Normal : v.types[i];
        if (t == TokenType::Normal || t == TokenType::UserDefined) id_of.emplace(v.tokens[i], static_cast<TokenId>(i));
    }
    struct Merge {
        float score;
        TokenId result, left, right;
    };
    std::vector<Merge> all;
    for (const auto& [piece, id] : id_of) {
        for (size_t cut = 1; cut < piece.size(); ++cut) {
            if ((static_cast<unsigned char>(piece[cut]) & 0xC0) == 0x80) continue;  // inside a character
            auto l = id_of.find(piece.substr(0, cut)), r = id_of.find(piece.substr(cut));
            if (l == id_of.end() || r == id_of.end()) continue;
            const float score = v.scores.empty() ? 0.0f : v.scores[static_cast<size_t>(id)];
            all.push_back({score, id, l->second, r->second});
        }
    }
    std::sort(all.begin(), all.end(), [](const Merge& a, const Merge& b) {
        if (a.score != b.score) return a.score > b.score;
        if (a.result != b.result) return a.result < b.result;
        if (a.left != b.left) return a.left < b.left;
        return a.right < b.right;
    });
    json out = json::array();
    for (const Merge& m : all) {
        out.push_back(v.tokens[static_cast<size_t>(m.left)] + " " + v.tokens[static_cast<size_t>(m.right)]);
    }
    return out;
}

json export_llama(const Vocab& v) {
    json normalizers = json::array();
    if (v.add_space_prefix) normalizers.push_back({{"type", "Prepend"}, {"prepend", kSpaceMark}});
    normalizers.push_back({{"type", "Replace"}, {"pattern", string_pattern(" ")}, {"content", kSpaceMark}});
    json decoders = json::array(
        {{{"type", "Replace"}, {"pattern", string_pattern(kSpaceMark)}, {"content", " "}},
         {{"type", "ByteFallback"}},
         {{"type", "Fuse"}}});
    if (v.add_space_prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    const std::string unk = v.unk >= 0 ? v.tokens[static_cast<size_t>(v.unk)] : "";
    return {{"version", "1.0"},
            {"truncation", nullptr},
            {"padding", nullptr},
            {"added_tokens", added_tokens(v)},
            {"normalizer", {{"type", "Sequence"}, {"normalizers", normalizers}}},
            {"pre_tokenizer", nullptr},
            {"post_processor", template_processor(v, nullptr)},
            {"decoder", {{"type", "Sequence"}, {"decoders", decoders}}},
            {"model",
             {{"type", "BPE"},
              {"dropout", nullptr},
              {"unk_token", v.unk >= 0 ? json(unk) : json(nullptr)},
              {"continuing_subword_prefix", nullptr},
              {"end_of_word_suffix", nullptr},
              {"fuse_unk", true},
              {"byte_fallback", true},
              {"ignore_merges", false},
              {"vocab", vocab_map(v)},
              {"merges", spm_merges(v)}}}};
}

}  // namespace

HfTokenizerFiles export_tokenizer_json(const Tokenizer& tok) {
    const Vocab& v = tok.vocab();
    json tokenizer;
    if (v.model == "gpt2") {
        tokenizer = export_gpt2(v);
    } else if (v.model == "llama") {
        tokenizer = export_llama(v);
    } else {
        throw_error(ErrorKind::Unsupported,
                    "tokenizer export: the '{}' kind is not exported; expected a BPE vocabulary "
                    "('gpt2' byte-level or 'llama' SentencePiece-style, as Lyra trains)",
                    v.model);
    }
    auto name = [&](TokenId id) { return id >= 0 ? json(v.tokens[static_cast<size_t>(id)]) : json(nullptr); };
    json config = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                   {"bos_token", name(v.bos)},
                   {"eos_token", name(v.eos)},
                   {"unk_token", name(v.unk)},
                   {"pad_token", name(v.pad)},
                   {"add_bos_token", v.add_bos},
                   {"add_eos_token", v.add_eos},
                   {"clean_up_tokenization_spaces", false}};
    if (!v.chat_template.empty()) config["chat_template"] = v.chat_template;
    try {
        return {tokenizer.dump(1), config.dump(2)};
    } catch (const json::exception&) {
        throw_error(ErrorKind::Corrupt,
                    "tokenizer export: a piece is not valid UTF-8, which tokenizer.json cannot hold; "
                    "expected UTF-8 pieces");
    }
}

}  // namespace lyra::model
