// Revision by infilling (revise.h).
#include "art/poetry/revise.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <numeric>

#include <fmt/format.h>

#include "art/common/artifacts.h"
#include "art/common/critic.h"
#include "art/poetry/en/en_poem.h"
#include "art/poetry/poem.h"
#include "art/poetry/prosody.h"
#include "core/error.h"

namespace lyra::art::poetry {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kMaxTried = 4000;   // masked-LM proposals checked against the form, best first
constexpr int kJudgedPerKept = 3; // proposals judged by the critic per proposal returned

// Byte range of the target inside the poem text.
struct Span {
    size_t begin = 0, end = 0;
};

bool is_word_char(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '\'' || c == '-';
}

// Byte offsets [begin, end) of line `line` (1-based) of `text`.
Span line_span(std::string_view text, int line) {
    size_t start = 0;
    for (int l = 1; l < line; ++l) {
        const size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) return {std::string_view::npos, 0};
        start = nl + 1;
    }
    const size_t nl = text.find('\n', start);
    return {start, nl == std::string_view::npos ? text.size() : nl};
}

Span find_target(std::string_view text, int line, int pos, bool chinese) {
    const Span l = line_span(text, line);
    if (l.begin == std::string_view::npos || l.begin >= l.end)
        throw_error(ErrorKind::InvalidArgument, "line: the poem has no line {} with text", line);
    int seen = 0;
    if (chinese) {
        size_t i = l.begin;
        for (char32_t c : to_u32(text.substr(l.begin, l.end - l.begin))) {
            const size_t n = to_utf8(c).size();  // invalid bytes: U+FFFD, never a target
            if (is_han(c) && ++seen == pos) return {i, i + n};
            i += c == 0xFFFD ? 1 : n;
        }
        throw_error(ErrorKind::InvalidArgument, "pos: line {} has {} characters; expected 1 to {}, got {}",
                    line, seen, seen, pos);
    }
    for (size_t i = l.begin; i < l.end;) {
        if (!is_word_char(text[i])) {
            ++i;
            continue;
        }
        size_t e = i;
        while (e < l.end && is_word_char(text[e])) ++e;
        if (++seen == pos) return {i, e};
        i = e;
    }
    throw_error(ErrorKind::InvalidArgument, "pos: line {} has {} words; expected 1 to {}, got {}", line,
                seen, seen, pos);
}

// The replacement a vocabulary piece offers, or "" when it cannot stand in for the target
// (a special token, a word continuation, punctuation, or not one CJK character / one word).
std::string replacement_of(const model::Tokenizer& tok, model::TokenId id, bool chinese) {
    if (tok.is_control(id) || tok.token_type(id) != model::TokenType::Normal) return {};
    const model::TokenId one[1] = {id};
    const std::string piece = tok.token_to_bytes(id);
    std::string word = tok.decode(one);
    const bool starts_word = !piece.empty() && piece[0] == ' ';
    while (!word.empty() && word.front() == ' ') word.erase(word.begin());
    while (!word.empty() && word.back() == ' ') word.pop_back();
    if (word.empty()) return {};
    if (chinese) {
        const std::u32string u = to_u32(word);
        return u.size() == 1 && is_han(u[0]) ? word : std::string();
    }
    // A whole English word: the piece must open a word (WordPiece and SentencePiece "▁",
    // byte-level "Ġ") and hold letters only.
    if (!starts_word) return {};
    return std::all_of(word.begin(), word.end(), is_word_char) &&
                   std::isalpha(static_cast<unsigned char>(word[0]))
               ? word
               : std::string();
}

std::vector<double> log_softmax(const float* row, int64_t n) {
    const float mx = *std::max_element(row, row + n);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(row[i] - mx));
    const double lse = static_cast<double>(mx) + std::log(sum);
    std::vector<double> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = static_cast<double>(row[i]) - lse;
    return out;
}

}  // namespace

ArtResult revise_poem(const json& request, Context& ctx) {
    check_keys(request, {"form", "rhyme", "acrostic", "theme", "title", "revise", "line", "pos"}, "poem");
    const CommonOptions common = parse_common(request);
    const std::string form = get_string(request, "form");
    const std::string poem = get_string(request, "revise");
    const std::string rhyme = get_string(request, "rhyme", "pingshui");
    const std::string acrostic = get_string(request, "acrostic");
    const std::string theme = get_string(request, "theme", get_string(request, "title"));
    const int line = static_cast<int>(get_int(request, "line", 0, 1, 1000));
    const int pos = static_cast<int>(get_int(request, "pos", 0, 1, 1000));
    const int want = static_cast<int>(get_int(request, "n", 5, 1, 64));
    if (poem.empty()) throw_error(ErrorKind::InvalidArgument, "revise: empty; expected the poem's text");
    if (line == 0 || pos == 0)
        throw_error(ErrorKind::InvalidArgument, "revise: needs line and pos; expected 1-based --line N --pos P");
    if (common.critic.empty())
        throw_error(ErrorKind::InvalidArgument,
                    "critic: missing; revision needs a masked-LM encoder (BERT, RoBERTa or ALBERT), "
                    "expected --critic MODEL.gguf");
    const bool chinese = !en::is_form(form);
    const size_t base_faults = check_poem(form, poem, rhyme, acrostic).size();  // also checks the form name

    const auto enc = ctx.models->encoder(common.critic);
    if (enc->mask() < 0)
        throw_error(ErrorKind::Unsupported, "critic: '{}' has no mask token; expected a masked-LM encoder",
                    common.critic);
    const model::Tokenizer& tok = enc->tokenizer();
    const Span target = find_target(poem, line, pos, chinese);
    const std::string original = poem.substr(target.begin, target.end - target.begin);
    const std::string masked = poem.substr(0, target.begin) + tok.token_text(enc->mask()) + poem.substr(target.end);
    const std::vector<model::TokenId> tokens = critic_tokens(*enc, masked);
    const auto at = std::find(tokens.begin(), tokens.end(), enc->mask());
    if (at == tokens.end())
        throw_error(ErrorKind::ContextFull, "revise: line {} lies beyond the critic's {} positions", line,
                    enc->hparams().n_ctx);
    const int64_t V = enc->hparams().n_vocab;
    const std::vector<float> logits = enc->mlm_logits(tokens, *ctx.pool);
    const std::vector<double> lp = log_softmax(logits.data() + (at - tokens.begin()) * V, V);
    std::vector<model::TokenId> order(static_cast<size_t>(V));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](model::TokenId a, model::TokenId b) {
        return lp[static_cast<size_t>(a)] > lp[static_cast<size_t>(b)];
    });

    // Best masked-LM proposals that keep the form, up to kJudgedPerKept per proposal wanted.
    struct Proposal {
        std::string word, text;
        double logprob = 0;
        size_t faults = 0;
    };
    std::vector<Proposal> kept;
    std::vector<std::string> seen;
    int tried = 0;
    for (model::TokenId id : order) {
        if (tried >= kMaxTried || kept.size() >= static_cast<size_t>(want * kJudgedPerKept)) break;
        const std::string word = replacement_of(tok, id, chinese);
        if (word.empty() || word == original || std::find(seen.begin(), seen.end(), word) != seen.end()) continue;
        seen.push_back(word);
        ++tried;
        std::string text = poem.substr(0, target.begin) + word + poem.substr(target.end);
        const size_t faults = check_poem(form, text, rhyme, acrostic).size();
        if (faults > base_faults) continue;
        kept.push_back({word, std::move(text), lp[static_cast<size_t>(id)], faults});
    }
    if (kept.empty())
        throw_error(ErrorKind::NotFound,
                    "revise: none of the {} replacements the critic proposed for '{}' (line {}, {} {}) "
                    "keeps the form {}; expected a position with freer constraints or a larger critic",
                    tried, original, line, chinese ? "char" : "word", pos, form);

    ArtResult r;
    r.form = "poem";
    r.seed = common.seed;
    r.model = common.critic;
    r.model_sha256 = ctx.models->sha256(common.critic);
    r.request = request;
    r.request["n"] = want;
    const CriticReference ref = critic_reference(*enc, theme, {}, *ctx.pool);
    std::vector<std::string> texts;  // every proposal judged in one batch
    for (const Proposal& p : kept) texts.push_back(p.text);
    const std::vector<CriticFigures> figures = judge_batch(*enc, texts, ref, *ctx.pool);
    for (size_t i = 0; i < kept.size(); ++i) {
        Proposal& p = kept[i];
        const CriticFigures& f = figures[i];
        Candidate c;
        c.text = std::move(p.text);
        c.scores = {{"replacement", p.word}, {"original", original}, {"line", line}, {"pos", pos},
                    {"mlm_logprob", p.logprob}, {"critic_fluency", f.fluency}, {"faults", p.faults}};
        c.score = p.logprob + common.critic_weight * f.fluency;
        if (f.has_relevance) {
            c.scores["critic_relevance"] = f.relevance;
            c.score += common.critic_weight * 2.0 * f.relevance;
        }
        r.candidates.push_back(std::move(c));
    }
    rank_candidates(r);
    if (r.candidates.size() > static_cast<size_t>(want)) r.candidates.resize(static_cast<size_t>(want));
    if (!ctx.out_dir.empty()) {
        ArtifactSet set(ctx.out_dir);
        set.add("txt", "poem.txt", r.text + (r.text.empty() || r.text.back() != '\n' ? "\n" : ""));
        ArtResult copy = r;
        copy.files["txt"] = (fs::path(ctx.out_dir) / "poem.txt").string();
        copy.files["json"] = (fs::path(ctx.out_dir) / "revision.json").string();
        json doc = to_json(copy);
        doc["request"] = r.request;
        set.add("json", "revision.json", doc.dump(2) + "\n");
        r.files = set.commit();
    }
    return r;
}

}  // namespace lyra::art::poetry
