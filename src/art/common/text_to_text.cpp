// Text-to-text with an encoder-decoder model (text_to_text.h).
#include "art/common/text_to_text.h"

#include <algorithm>
#include <set>

#include "art/common/text.h"
#include "core/error.h"
#include "generate/generator.h"
#include "model/encoder.h"

namespace lyra::art {

namespace {

bool is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_ascii_letter(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// `s` cut to at most n bytes, the cut moved back to a UTF-8 character boundary.
std::string_view cut_utf8(std::string_view s, size_t n) {
    if (s.size() <= n) return s;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return s.substr(0, n);
}

// The front of `input` that the model's encoder can read: at most n_ctx - 1 tokens (the
// generator's limit for a prompt), cut at its end.
std::string fit_source(const model::Model& m, std::string_view input) {
    const auto budget = static_cast<size_t>(std::max<int64_t>(1, m.hparams().n_ctx - 1));
    std::string_view s = input;
    for (size_t n = m.tokenizer().encode(s, true).size(); n > budget && !s.empty();
         n = m.tokenizer().encode(s, true).size()) {
        // shrink in proportion (tokens are roughly even over the text), by at least one byte
        const size_t want = std::min(s.size() - 1, s.size() * budget / n);
        s = cut_utf8(s, want);
    }
    return std::string(s);
}

// ASCII-letter words of `text`, lower-cased, three letters or more, in order (repeats kept).
std::vector<std::string> letter_words(std::string_view text) {
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        if (cur.size() >= 3) out.push_back(cur);
        cur.clear();
    };
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_ascii_letter(c))
            cur += static_cast<char>(c | 0x20);
        else
            flush();
    }
    flush();
    return out;
}

// Words of three letters or more that carry no topic: a keyword answer made of them says
// nothing about the brief.
const std::set<std::string, std::less<>> kStopWords = {
    "the",   "and",   "for",  "with",  "from",  "that",   "this",  "who",  "whom", "what",
    "when",  "where", "his",  "her",   "hers",  "its",    "their", "they", "them", "she",
    "him",   "you",   "are",  "was",   "were",  "has",    "have",  "had",  "not",  "but",
    "into",  "onto",  "over", "under", "one",   "all",    "any",   "some", "then", "than",
    "there", "here",  "out",  "about", "after", "before", "upon"};

}  // namespace

void check_encoder_decoder(std::string_view general_architecture, std::string_view path) {
    const std::string_view a = general_architecture;
    if (a == model::arch_name(model::Arch::T5)) return;
    std::string kind = "not an architecture Lyra knows";
    if (model::is_encoder_arch(a))
        kind = "an encoder-only model (masked-LM predictions and embeddings)";
    for (const model::Arch d : {model::Arch::Llama, model::Arch::Qwen2, model::Arch::Gpt2,
                                model::Arch::GptNeo, model::Arch::TransfoXl})
        if (a == model::arch_name(d)) kind = "a decoder-only model (it continues text)";
    // InvalidArgument, not Unsupported: the file is fine, naming it here is the caller's mistake.
    throw_error(ErrorKind::InvalidArgument,
                "model '{}': architecture '{}' is {}; expected a text-to-text encoder-decoder "
                "model (t5), e.g. a Hugging Face T5 directory imported with `lyra model import`",
                path, a, kind);
}

std::string clean_answer(std::string_view text, size_t max_bytes) {
    const std::string valid = drop_invalid_utf8(text);
    std::string out;
    bool space = false;
    for (const char ch : valid) {
        if (is_space(static_cast<unsigned char>(ch))) {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += ch;
    }
    if (out.size() <= max_bytes) return out;
    const size_t sp = out.rfind(' ', max_bytes);
    if (sp != std::string::npos && sp > 0) return out.substr(0, sp);
    return std::string(cut_utf8(out, max_bytes));
}

std::string text_to_text(const model::Model& m, std::string_view input, core::ThreadPool& pool,
                         const TextToTextOptions& o) {
    check_encoder_decoder(model::arch_name(m.hparams().arch), m.path());
    gen::GenerateOptions g;
    g.max_tokens = std::max(1, o.max_tokens);
    g.temperature = o.temperature;
    g.top_k = 0;
    g.top_p = 1.0f;
    g.min_p = 0.0f;
    g.seed = o.seed;
    const std::string source = fit_source(m, input);
    gen::Generator gen(m, pool);
    const gen::GenerateResult r = gen.run(source, g);
    return r.candidates.empty() ? std::string() : clean_answer(r.candidates[0].text, o.max_bytes);
}

std::string t5_summary(const model::Model& m, std::string_view text, core::ThreadPool& pool) {
    return text_to_text(m, std::string(kSummarizePrefix) + std::string(text), pool,
                        {.max_tokens = 48});
}

std::string t5_title(const model::Model& m, std::string_view brief, core::ThreadPool& pool) {
    return clean_title(
        text_to_text(m, std::string(kTitlePrefix) + std::string(brief), pool, {.max_tokens = 16}));
}

std::vector<std::string> t5_keywords(const model::Model& m, std::string_view brief, size_t k,
                                     core::ThreadPool& pool) {
    const std::string answer = text_to_text(m, std::string(kKeywordsPrefix) + std::string(brief),
                                            pool, {.max_tokens = 32});
    return words_of_brief(answer, brief, k);
}

std::string clean_title(std::string_view answer) {
    std::string s = clean_answer(answer, 200);
    const size_t end = s.find_first_of(".!?;:,");
    if (end != std::string::npos) s.resize(end);
    auto is_quote = [](char c) {
        return c == '"' || c == '\'' || c == '`' || c == '*' || c == '#';
    };
    while (!s.empty() && (is_quote(s.front()) || s.front() == ' ')) s.erase(s.begin());
    while (!s.empty() && (is_quote(s.back()) || s.back() == ' ')) s.pop_back();
    size_t words = 0, i = 0;
    for (; i < s.size(); ++i) {
        if (s[i] == ' ' && ++words == 8) break;
    }
    s.resize(i);
    if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
    return s;
}

std::vector<std::string> words_of_brief(std::string_view answer, std::string_view brief, size_t k) {
    const std::vector<std::string> in_brief = letter_words(brief);
    const std::set<std::string, std::less<>> brief_set(in_brief.begin(), in_brief.end());
    std::vector<std::string> out;
    for (const std::string& w : letter_words(answer)) {
        if (out.size() >= k) break;
        if (!brief_set.count(w) || kStopWords.count(w)) continue;
        if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
    }
    return out;
}

}  // namespace lyra::art
