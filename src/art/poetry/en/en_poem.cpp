// English poems: request -> constrained candidates -> critics -> ranked result (en_poem.h).
#include "art/poetry/en/en_poem.h"
#include "art/common/critic.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_set>

#include "art/common/artifacts.h"
#include "art/common/data_paths.h"
#include "art/poetry/en/forms.h"
#include "art/poetry/en/pronounce.h"
#include "art/poetry/en/verse_constraint.h"
#include "core/error.h"
#include "generate/generator.h"

namespace lyra::art::poetry::en {

namespace {

std::string trim(std::string_view s) {
    size_t a = 0, b = s.size();
    while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r' || s[a] == '\n')) ++a;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r' || s[b - 1] == '\n')) --b;
    return std::string(s.substr(a, b - a));
}

// A line reduced to lower-case letters and single spaces, for comparing with the corpus.
std::string line_key(std::string_view line) {
    std::string out;
    for (char c : line) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '\'') {
            out += static_cast<char>((c >= 'A' && c <= 'Z') ? c | 0x20 : c);
        } else if (!out.empty() && out.back() != ' ') {
            out += ' ';
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::filesystem::path> corpus_files() {
    const std::filesystem::path dir = std::filesystem::path(shared_data_dir()) / "english-poetry";
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        throw_error(ErrorKind::NotFound, "{}: no English poetry corpus; expected the shared data folder with english-poetry/*.txt",
                    dir.string());
    }
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().extension() == ".txt") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

// Every line of the training corpus (line_key form), loaded once; empty without the corpus.
const std::unordered_set<std::string>& corpus_lines() {
    static std::once_flag once;
    static std::unordered_set<std::string> lines;
    std::call_once(once, [] {
        std::vector<std::filesystem::path> files;
        try {
            files = corpus_files();
        } catch (const Error&) {
            return;
        }
        for (const auto& f : files) {
            const std::string text = read_file(f);
            for (const std::string& l : poem_lines(text)) {
                std::string k = line_key(l);
                if (k.size() >= 8) lines.insert(std::move(k));
            }
        }
    });
    return lines;
}

// The critics' figures for one poem.
struct Critique {
    VerseReport report;
    double distinct_words = 0;  // distinct words / words
    double copied_lines = 0;    // share of lines found verbatim in the corpus
    double loglik_per_char = 0;
};

Critique critique(const VerseForm& form, const std::string& text, const std::string& acrostic, double logprob_sum) {
    Critique c;
    c.report = analyse_poem(form, text, acrostic);
    std::vector<std::string> words;
    const std::vector<std::string> lines = poem_lines(text);
    for (const std::string& l : lines)
        for (const std::string& w : split_words(l)) words.push_back(normalize_word(w));
    const std::set<std::string> distinct(words.begin(), words.end());
    c.distinct_words = words.empty() ? 0 : static_cast<double>(distinct.size()) / static_cast<double>(words.size());
    const auto& corpus = corpus_lines();
    int copied = 0;
    for (const std::string& l : lines)
        if (corpus.count(line_key(l))) ++copied;
    c.copied_lines = lines.empty() ? 0 : static_cast<double>(copied) / static_cast<double>(lines.size());
    c.loglik_per_char = text.empty() ? 0 : logprob_sum / static_cast<double>(text.size());
    return c;
}

nlohmann::json scores_json(const Critique& c) {
    return {{"compliant", c.report.compliant() ? 1.0 : 0.0},
            {"syllable_accuracy", c.report.syllable_accuracy},
            {"rhyme_accuracy", c.report.rhyme_accuracy},
            {"acrostic_accuracy", c.report.acrostic_accuracy},
            {"meter", c.report.meter},
            {"distinct_words", c.distinct_words},
            {"novelty", 1.0 - c.copied_lines},
            {"loglik_per_char", c.loglik_per_char},
            {"faults", static_cast<int>(c.report.faults.size())}};
}

// The ranking total: form first, then meter, variety, novelty and the model's confidence.
double total(const Critique& c) {
    return 10.0 * (c.report.compliant() ? 1.0 : 0.0) + c.report.syllable_accuracy + c.report.rhyme_accuracy +
           c.report.meter + c.distinct_words + (1.0 - c.copied_lines) + 0.25 * std::max(-8.0, c.loglik_per_char);
}

std::string required_nonempty(const nlohmann::json& request, std::string_view key) {
    const std::string v = get_string(request, key);
    if (request.contains(key) && !request.at(std::string(key)).is_null() && trim(v).empty()) {
        throw_error(ErrorKind::InvalidArgument, "{}: empty; expected a keyword, a title or a first line, got '{}'", key, v);
    }
    return trim(v);
}

}  // namespace

bool is_form(std::string_view name) { return find_verse_form(name) != nullptr; }

std::vector<std::pair<std::string, std::string>> forms() {
    std::vector<std::pair<std::string, std::string>> out;
    for (const VerseForm& f : verse_forms()) out.emplace_back(f.name, f.description);
    return out;
}

std::string make_prompt(std::string_view form, std::string_view title) {
    std::string p = fmt::format("form: {}\n", form);
    if (!title.empty()) p += fmt::format("title: {}\n", title);
    return p;
}

std::vector<Fault> check_poem(std::string_view form, std::string_view text, std::string_view acrostic) {
    if (form == "acrostic" && acrostic.empty()) {
        // Without letters the acrostic form checks 6-8 syllables per line only.
        VerseForm any = *find_verse_form("acrostic");
        any.lines.assign(std::max<size_t>(poem_lines(text).size(), 1), LineSpec{6, 8, 0});
        return analyse_poem(any, text, {}).faults;
    }
    return analyse_poem(resolve_form(form, acrostic), text, acrostic).faults;
}

nlohmann::json check_report(std::string_view form, std::string_view text, std::string_view acrostic) {
    VerseForm f;
    if (form == "acrostic" && acrostic.empty()) {
        f = *find_verse_form("acrostic");
        f.lines.assign(std::max<size_t>(poem_lines(text).size(), 1), LineSpec{6, 8, 0});
    } else {
        f = resolve_form(form, acrostic);
    }
    nlohmann::json j = analyse_poem(f, text, acrostic).to_json();
    j["form"] = f.name;
    return j;
}

ArtResult write_poem(const nlohmann::json& request, Context& ctx) {
    check_keys(request, {"form", "theme", "title", "acrostic"}, "poem");
    const std::string form_name = get_string(request, "form");
    if (form_name.empty()) {
        throw_error(ErrorKind::InvalidArgument, "form: missing; expected haiku, limerick, sonnet or acrostic, got nothing");
    }
    const std::string theme = required_nonempty(request, "theme");
    const std::string title = required_nonempty(request, "title");
    std::string acrostic = trim(get_string(request, "acrostic"));
    if (request.contains("acrostic") && acrostic.empty()) {
        throw_error(ErrorKind::InvalidArgument, "acrostic: empty; expected one letter per line, got ''");
    }
    if (form_name == "acrostic" && acrostic.empty()) {
        throw_error(ErrorKind::InvalidArgument, "acrostic: the acrostic form needs its letters; expected --acrostic WORD, got nothing");
    }
    const VerseForm form = resolve_form(form_name, acrostic);
    const CommonOptions common = parse_common(request);
    const std::string model_path = resolve_model(common, kDefaultModel);
    const auto model = ctx.models->get(model_path);
    const model::Tokenizer& tok = model->tokenizer();

    VerseConstraint constraint(form, acrostic, Lexicon::standard(), tok);
    const std::string prompt = make_prompt(form.name, title.empty() ? theme : title);
    const int max_tokens = VerseConstraint::max_chars(form);
    const auto prompt_tokens = static_cast<int64_t>(tok.encode(prompt, true).size());
    const int64_t n_ctx = model->hparams().n_ctx;
    if (prompt_tokens + max_tokens > n_ctx) {
        throw_error(ErrorKind::ContextFull, "{}: a {} needs up to {} tokens after a {}-token prompt; expected a context of at least {}, got {}; hint: use a model with a longer context (recipes/verse-en.toml trains a context of 1152)",
                    model_path, form.name, max_tokens, prompt_tokens, prompt_tokens + max_tokens, n_ctx);
    }
    gen::GenerateOptions opt = generate_options(common, max_tokens);
    opt.n_candidates = common.n;
    opt.constraint = &constraint;
    gen::StreamFn stream;
    if (ctx.on_text) stream = [&](int, std::string_view piece) { return ctx.on_text(piece); };
    gen::Generator generator(*model, *ctx.pool);
    const gen::GenerateResult gen_result = generator.run(prompt, opt, stream);

    ArtResult r;
    r.form = "poem";
    r.seed = common.seed;
    r.model = model_path;
    r.model_sha256 = ctx.models->sha256(model_path);
    r.request = common_to_json(common);
    r.request["form"] = form.name;
    if (!theme.empty()) r.request["theme"] = theme;
    if (!title.empty()) r.request["title"] = title;
    if (!acrostic.empty()) r.request["acrostic"] = acrostic;
    r.request["model"] = model_path;
    for (const gen::Completion& c : gen_result.candidates) {
        Candidate cand;
        cand.text = trim(c.text);
        const Critique crit = critique(form, cand.text, acrostic, c.logprob_sum());
        cand.scores = scores_json(crit);
        cand.score = total(crit);
        if (!crit.report.faults.empty()) {
            nlohmann::json msgs = nlohmann::json::array();
            for (const Fault& f : crit.report.faults) msgs.push_back(f.message);
            cand.scores["fault_messages"] = msgs;
        }
        r.candidates.push_back(std::move(cand));
    }
    apply_encoder_critic(r, common, title.empty() ? theme : title, ctx);
    rank_candidates(r);
    if (!ctx.out_dir.empty() && !r.text.empty()) {
        ArtifactSet files(ctx.out_dir);
        files.add("txt", "poem.txt", r.text + "\n");
        r.files = files.commit();
    }
    return r;
}

nlohmann::json eval_form(std::string_view form_name, int count, const std::string& model_path, Context& ctx) {
    if (!is_form(form_name)) {
        throw_error(ErrorKind::InvalidArgument, "form: unknown English form; expected haiku, limerick, sonnet or acrostic, got '{}'",
                    form_name);
    }
    if (count < 1) throw_error(ErrorKind::InvalidArgument, "eval count: out of range; expected at least 1, got {}", count);
    static const char* kThemes[] = {"autumn", "the sea", "a winter night", "love", "the moon", "morning",
                                    "a river", "old age", "the city", "a garden"};
    static const char* kWords[] = {"LIGHT", "RIVER", "STONE", "DREAM", "AUTUMN", "SEA", "MOTHER", "SNOW"};
    const auto start = std::chrono::steady_clock::now();
    double syl = 0, rhyme = 0, acro = 0, meter = 0, loglik = 0, copied = 0;
    int compliant = 0;
    std::set<std::pair<std::string, std::string>> bigrams;
    int64_t n_bigrams = 0;
    for (int i = 0; i < count; ++i) {
        nlohmann::json req = {{"form", std::string(form_name)}, {"seed", i + 1}, {"model", model_path},
                              {"title", kThemes[static_cast<size_t>(i) % std::size(kThemes)]}};
        std::string acrostic;
        if (form_name == "acrostic") acrostic = kWords[static_cast<size_t>(i) % std::size(kWords)];
        if (!acrostic.empty()) req["acrostic"] = acrostic;
        Context c = ctx;
        c.out_dir.clear();
        c.on_text = {};
        const ArtResult r = write_poem(req, c);
        const nlohmann::json& s = r.scores;
        syl += s.at("syllable_accuracy").get<double>();
        rhyme += s.at("rhyme_accuracy").get<double>();
        acro += s.at("acrostic_accuracy").get<double>();
        meter += s.at("meter").get<double>();
        loglik += s.at("loglik_per_char").get<double>();
        copied += 1.0 - s.at("novelty").get<double>();
        if (s.at("compliant").get<double>() == 1.0) ++compliant;
        std::vector<std::string> words;
        for (const std::string& l : poem_lines(r.text))
            for (const std::string& w : split_words(l)) words.push_back(normalize_word(w));
        for (size_t k = 1; k < words.size(); ++k) {
            bigrams.insert({words[k - 1], words[k]});
            ++n_bigrams;
        }
    }
    const double n = count;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return {{"form", std::string(form_name)},
            {"count", count},
            {"model", model_path},
            {"syllable_accuracy", syl / n},
            {"rhyme_accuracy", rhyme / n},
            {"acrostic_accuracy", acro / n},
            {"meter", meter / n},
            {"full_compliance", compliant / n},
            {"distinct_2", n_bigrams == 0 ? 0.0 : static_cast<double>(bigrams.size()) / static_cast<double>(n_bigrams)},
            {"copied_line_share", copied / n},
            {"loglik_per_char", loglik / n},
            {"seconds", secs}};
}

void build_corpus(const nlohmann::json& options, const std::function<void(std::string)>& emit) {
    const auto max_lines = static_cast<size_t>(get_int(options, "max_lines", 14, 2, 200));
    for (const auto& path : corpus_files()) {
        const std::string name = path.stem().string();
        const bool sonnets = name.find("sonnet") != std::string::npos;
        const bool whitman = name.find("whitman") != std::string::npos;
        const std::string form = sonnets ? "sonnet" : name.find("milton") != std::string::npos ? "blank verse"
                                                      : whitman                                 ? "free verse"
                                                                                                : "verse";
        std::string title;
        std::vector<std::string> block;
        auto flush = [&] {
            for (size_t i = 0; i < block.size(); i += max_lines) {
                std::string doc = fmt::format("form: {}\n", form);
                if (!title.empty()) doc += fmt::format("title: {}\n", title);
                const size_t end = std::min(block.size(), i + max_lines);
                for (size_t k = i; k < end; ++k) doc += block[k] + (k + 1 < end ? "\n" : "");
                emit(std::move(doc));
                if (sonnets) break;  // a sonnet is one document (its odd 15th line stays out)
            }
            block.clear();
        };
        const std::string text = read_file(path);
        size_t i = 0;
        while (i <= text.size()) {
            size_t j = text.find('\n', i);
            if (j == std::string::npos) j = text.size();
            std::string line = trim(std::string_view(text).substr(i, j - i));
            i = j + 1;
            if (whitman && line.rfind("}", 0) == 0) {
                flush();
                title = trim(std::string_view(line).substr(1));
                continue;
            }
            if (line.empty()) {
                if (!block.empty()) flush();
                continue;
            }
            block.push_back(std::move(line));
        }
        flush();
    }
}

}  // namespace lyra::art::poetry::en
