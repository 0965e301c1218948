// Model-written lyrics: phrases of the melody -> lines of exact syllable counts -> syllables
// under the notes (lyrics.h).
#include "art/music/lyrics.h"

#include <algorithm>
#include <limits>
#include <set>

#include "art/music/meter.h"
#include "art/poetry/en/en_poem.h"
#include "art/poetry/en/pronounce.h"
#include "art/poetry/poem.h"
#include "core/error.h"
#include "generate/constraint/form.h"
#include "generate/generator.h"

namespace lyra::art::music {

namespace gc = gen::constraint;

std::string_view lyrics_model_file(std::string_view language) {
    if (language == "en") return kLyricsModelEn;
    if (language == "zh") return kLyricsModelZh;
    throw_error(ErrorKind::InvalidArgument,
                "write_lyrics: unknown language; expected en (English) or zh (Chinese), got '{}'",
                language);
}

// --- phrases ---------------------------------------------------------------------------------

std::vector<int> phrase_syllables(const Tune& tune) {
    const std::vector<WrittenNote> sung = sung_notes(tune);
    if (sung.empty()) return {};
    const std::vector<WrittenNote> all = written_notes(tune);
    const int n_bars = all.back().bar + 1;
    // A pickup: the first bar holds less than its meter asks (no meter: never).
    Frac first_bar{0};
    for (const WrittenNote& w : all) {
        if (w.bar == 0) first_bar = first_bar + w.dur;
    }
    const bool pickup = all.front().bar_len.num > 0 && first_bar < all.front().bar_len;
    std::set<int> ends = section_end_bars(tune);
    ends.insert(n_bars - 1);

    // Phrase of each bar: two bars of a section at a time.
    std::vector<int> phrase_of(static_cast<size_t>(n_bars), 0);
    int phrases = 0;
    for (int start = 0; start < n_bars;) {
        const int end = *ends.lower_bound(start);  // the section is bars start..end
        int b = start;
        const int first_phrase = phrases;
        if (start == 0 && pickup && end > 0) {
            phrase_of[0] = phrases;  // joins the phrase that follows it
            b = 1;
        }
        for (; b + 1 <= end; b += 2) {
            phrase_of[static_cast<size_t>(b)] = phrase_of[static_cast<size_t>(b) + 1] = phrases++;
        }
        if (b == end) {  // an odd bar left: with the phrase before it, if the section has one
            phrase_of[static_cast<size_t>(b)] = phrases > first_phrase ? phrases - 1 : phrases++;
        }
        start = end + 1;
    }
    std::vector<int> notes(static_cast<size_t>(phrases), 0);
    for (const WrittenNote& w : sung)
        ++notes[static_cast<size_t>(phrase_of[static_cast<size_t>(w.bar)])];

    std::vector<int> out;
    for (int n : notes) {
        if (n == 0) continue;  // rests only: no line
        const int parts = (n + gc::kMaxLineSyllables - 1) / gc::kMaxLineSyllables;
        for (int i = 0; i < parts; ++i) out.push_back(n / parts + (i < n % parts ? 1 : 0));
    }
    return out;
}

// --- writing ---------------------------------------------------------------------------------

namespace {

bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_mark(char c) {
    return c == ',' || c == '.' || c == ';' || c == ':' || c == '!' || c == '?';
}

// English lines: letters, apostrophes, spaces and plain punctuation. None of them means anything
// in an ABC w: line (where - _ * ~ | \ do), and digits are left out so every word is one the
// aligner splits by its spelling.
bool english_allowed(uint32_t cp) {
    const auto c = static_cast<char>(cp);
    return cp < 0x80 && (is_letter(c) || c == ' ' || c == '\'' || is_mark(c));
}

// Between two words: one space, or one mark and a space; a line starts with a word. (A break may
// follow a space: the constraint alone knows whether the line is full, and a space it allowed
// after a full line must not leave it with nothing to write.) Without this rule a model could fill
// its token budget with spaces and commas that count no syllables. Only the last bytes are checked:
// the text before the candidate token already passed (a token longer than the window is checked in
// its last bytes only, which a character model never meets).
bool tidy_separators(std::string_view text) {
    constexpr size_t kWindow = 32;
    const size_t from = text.size() > kWindow ? text.size() - kWindow : 0;
    for (size_t i = from; i < text.size(); ++i) {
        const char c = text[i];
        const char p = i > 0 ? text[i - 1] : '\n';
        const bool after_word = is_letter(p) || p == '\'';
        if (c == ' ' && !(after_word || is_mark(p))) return false;
        if (is_mark(c) && !after_word) return false;
        if (is_letter(c) && is_mark(p)) return false;  // "love,sweet" would read as one word
        if (c == '\'' && !after_word) return false;    // only inside or after a word
    }
    return true;
}

gc::FormSpec lyric_form(std::string_view language) {
    gc::FormSpec spec;
    spec.closed = true;  // nothing after the last line: the lines are the lyrics
    if (language == "en") {
        spec.syllables = poetry::en::cmu_syllables();
        spec.allowed = english_allowed;
        spec.predicate = tidy_separators;
        spec.rules_id = "lyra lyrics en";  // every English lyric form has these character rules
    } else {
        spec.allowed = gc::is_cjk;  // one character, one syllable: no punctuation to budget for
        spec.rules_id = "lyra lyrics cjk";
    }
    return spec;
}

bool has_cjk(std::string_view s) {
    std::vector<uint32_t> cps;
    if (!gc::decode_utf8(s, cps)) return false;
    return std::any_of(cps.begin(), cps.end(), gc::is_cjk);
}

// The model's own corpus header, so it writes as it learned to.
std::string lyric_prompt(std::string_view language, const std::string& title) {
    if (language == "en") return poetry::en::make_prompt("verse", title);
    // The 词 corpus (lines of changing length) is the nearest the Chinese model knows to a song.
    return poetry::zh_prompt("词", has_cjk(title) ? title : "无题");
}

}  // namespace

WrittenLyrics write_lyrics(const std::vector<int>& syllables, const LyricsOptions& options,
                           const model::Model& model, Context& ctx) {
    lyrics_model_file(options.language);  // validates
    for (int n : syllables) {
        if (n < 1 || n > gc::kMaxLineSyllables) {
            throw_error(ErrorKind::InvalidArgument,
                        "write_lyrics: a line of {} syllables; expected 1..{}", n,
                        gc::kMaxLineSyllables);
        }
    }
    const gc::FormSpec base = lyric_form(options.language);
    const model::Tokenizer& tok = model.tokenizer();
    const auto n_ctx = static_cast<int>(model.hparams().n_ctx);
    const std::string header = lyric_prompt(options.language, options.title);
    auto count_tokens = [&](const std::string& text) {
        return static_cast<int>(tok.encode(text, true).size());
    };

    WrittenLyrics out;
    constexpr int kMaxFruitlessPasses = 3;
    int fruitless = 0;
    for (uint64_t pass = 0; out.lines.size() < syllables.size(); ++pass) {
        const size_t done = out.lines.size();
        // The lines so far, newest last, as many as fit in half the context: the model continues
        // the song rather than starting a new one.
        std::string history;
        for (size_t k = done; k > 0; --k) {
            std::string more = out.lines[k - 1] + "\n" + history;
            if (count_tokens(header + more) > n_ctx / 2) break;
            history = std::move(more);
        }
        const std::string prompt = header + history;
        const int max_tokens = std::min(4096, n_ctx - count_tokens(prompt));
        if (max_tokens < 1) {
            throw_error(ErrorKind::ContextFull,
                        "write_lyrics: the prompt fills the model's context of {} tokens", n_ctx);
        }
        gc::FormSpec spec = base;
        for (size_t i = done; i < syllables.size(); ++i)
            spec.lines.push_back({.units = syllables[i]});
        gc::FormConstraint form(std::move(spec), tok);
        CommonOptions common = options.common;
        common.seed = options.common.seed + pass;
        gen::GenerateOptions opt = generate_options(common, max_tokens);
        opt.n_candidates = 1;
        opt.constraint = &form;
        gen::Generator generator(model, *ctx.pool);
        const gen::Completion c = generator.run(prompt, opt).candidates.at(0);
        out.logprob_sum += c.logprob_sum();
        out.tokens += static_cast<int>(c.token_logprobs.size());
        ++out.passes;

        // Every line before a '\n' is whole (the constraint breaks a line only at its count);
        // the text after the last '\n' is whole only if the form is.
        std::vector<std::string> got;
        size_t at = 0;
        for (size_t nl = c.text.find('\n'); nl != std::string::npos; nl = c.text.find('\n', at)) {
            got.push_back(c.text.substr(at, nl - at));
            at = nl + 1;
        }
        if (form.is_complete()) got.push_back(c.text.substr(at));
        got.resize(std::min(got.size(), syllables.size() - done));
        if (got.empty()) {
            if (++fruitless < kMaxFruitlessPasses) continue;  // a dead end: another seed
            throw_error(ErrorKind::ContextFull,
                        "write_lyrics: no whole line of {} syllables in {} passes of up to {} "
                        "tokens; expected a "
                        "model whose context holds a line (--lyrics-model)",
                        syllables[done], kMaxFruitlessPasses, max_tokens);
        }
        fruitless = 0;
        for (std::string& line : got) {
            while (!line.empty() && line.back() == ' ') line.pop_back();
            out.lines.push_back(std::move(line));
        }
    }
    return out;
}

// --- syllables under the notes ---------------------------------------------------------------

namespace {

struct LyricWord {
    std::string text;    // as written (letters and apostrophes)
    std::string suffix;  // punctuation after it, kept on its last syllable
    gc::SyllableMask counts = 0;
    int splits = 1;  // syllables its spelling splits into (split_word)
};

// Words as FormConstraint reads them: a letter starts a word, letters and apostrophes continue
// it, anything else ends it (so the counts here are the ones the line was written to).
std::vector<LyricWord> english_words(const std::string& line) {
    const gc::SyllableDictionary& dict = *poetry::en::cmu_syllables();
    std::vector<LyricWord> words;
    for (size_t i = 0; i < line.size();) {
        if (!is_letter(line[i])) {
            if (!words.empty() && line[i] != ' ') words.back().suffix += line[i];
            ++i;
            continue;
        }
        size_t j = i;
        while (j < line.size() && (is_letter(line[j]) || line[j] == '\'')) ++j;
        LyricWord w;
        w.text = line.substr(i, j - i);
        std::string lower = w.text;
        for (char& ch : lower) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch);
        w.counts = dict.counts(lower);
        w.splits = static_cast<int>(split_word(w.text).size());
        words.push_back(std::move(w));
        i = j;
    }
    return words;
}

// One count per word adding up to `target`, fewest held syllables first (a held syllable is a
// count above what the spelling splits into). Empty when no choice adds up.
std::vector<int> choose_counts(const std::vector<LyricWord>& words, int target) {
    constexpr int kNone = std::numeric_limits<int>::max();
    const size_t n = words.size();
    const auto t_max = static_cast<size_t>(target);
    // cost[i][t]: fewest holds for the first i words adding up to t; pick[i][t]: word i-1's count.
    std::vector<std::vector<int>> cost(n + 1, std::vector<int>(t_max + 1, kNone));
    std::vector<std::vector<int>> pick(n + 1, std::vector<int>(t_max + 1, 0));
    cost[0][0] = 0;
    for (size_t i = 0; i < n; ++i) {
        for (size_t t = 0; t <= t_max; ++t) {
            if (cost[i][t] == kNone) continue;
            for (int k = 1; k <= gc::kMaxLineSyllables && t + static_cast<size_t>(k) <= t_max;
                 ++k) {
                if (((words[i].counts >> k) & 1) == 0) continue;
                const int c = cost[i][t] + std::max(0, k - words[i].splits);
                const size_t u = t + static_cast<size_t>(k);
                if (c < cost[i + 1][u]) cost[i + 1][u] = c, pick[i + 1][u] = k;
            }
        }
    }
    if (cost[n][t_max] == kNone) return {};
    std::vector<int> counts(n);
    for (size_t i = n, t = t_max; i > 0; --i) {
        counts[i - 1] = pick[i][t];
        t -= static_cast<size_t>(pick[i][t]);
    }
    return counts;
}

void english_syllables(const std::string& line, int target, std::vector<Syllable>& out) {
    const std::vector<LyricWord> words = english_words(line);
    const std::vector<int> counts = choose_counts(words, target);
    if (counts.empty()) {
        throw_error(ErrorKind::InvalidArgument,
                    "lyrics: the line '{}' cannot be sung as {} syllables", line, target);
    }
    for (size_t i = 0; i < words.size(); ++i) {
        std::vector<std::string> pieces = split_word(words[i].text, counts[i]);
        pieces.back() += words[i].suffix;
        for (size_t p = 0; p < pieces.size(); ++p)
            out.push_back({pieces[p], p + 1 == pieces.size()});
        // A pronunciation with more syllables than the spelling splits into ("fire" as fi-er):
        // the word holds over its extra notes.
        for (int h = static_cast<int>(pieces.size()); h < counts[i]; ++h)
            out.push_back({"_", true});
    }
}

void chinese_syllables(const std::string& line, int target, std::vector<Syllable>& out) {
    std::vector<uint32_t> cps;
    if (!gc::decode_utf8(line, cps)) {
        throw_error(ErrorKind::InvalidArgument, "lyrics: the line '{}' is not valid UTF-8", line);
    }
    const auto units = std::count_if(cps.begin(), cps.end(), gc::is_cjk);
    if (units != target) {
        throw_error(ErrorKind::InvalidArgument,
                    "lyrics: the line '{}' has {} characters; expected {}", line, units, target);
    }
    size_t at = 0;
    for (uint32_t cp : cps) {
        const size_t len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (gc::is_cjk(cp)) out.push_back({line.substr(at, len), true});
        at += len;
    }
}

}  // namespace

std::vector<Syllable> lyric_syllables(const std::vector<std::string>& lines,
                                      const std::vector<int>& syllables,
                                      std::string_view language) {
    lyrics_model_file(language);  // validates
    if (lines.size() != syllables.size()) {
        throw_error(ErrorKind::InvalidArgument,
                    "lyrics: {} lines for {} phrases; expected one line per phrase", lines.size(),
                    syllables.size());
    }
    std::vector<Syllable> out;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (language == "en")
            english_syllables(lines[i], syllables[i], out);
        else
            chinese_syllables(lines[i], syllables[i], out);
    }
    return out;
}

}  // namespace lyra::art::music
