#include "art/poetry/poem.h"
#include "art/common/critic.h"
#include "art/poetry/revise.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_set>

#include <unistd.h>

#include <fmt/format.h>

#include "art/common/artifacts.h"
#include "art/common/data_paths.h"
#include "art/poetry/checker.h"
#include "art/poetry/en/en_poem.h"
#include "art/poetry/forms.h"
#include "art/poetry/gu.h"
#include "art/poetry/prosody.h"
#include "art/poetry/zh_constraint.h"
#include "core/error.h"
#include "core/rng.h"
#include "generate/generator.h"

namespace lyra::art::poetry {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string form_names() {
    std::string s;
    for (const auto& [name, desc] : list_forms()) s += (s.empty() ? "" : ", ") + name;
    return s;
}

[[noreturn]] void unknown_form(std::string_view form) {
    throw_error(ErrorKind::InvalidArgument, "form: unknown poem form; expected one of {}, got '{}'; hint: lyra poem --list-forms",
                form_names(), form);
}

const FormDef& zh_form_or_throw(std::string_view name) {
    const FormDef* f = find_zh_form(name);
    if (f == nullptr) unknown_form(name);
    return *f;
}

uint64_t line_hash(std::string_view s) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

// Hashes of the corpus lines (Simplified) for the novelty critic, built once from the npm
// package (seconds) and cached in $XDG_CACHE_HOME/lyra (or ~/.cache/lyra), keyed by the
// package's package.json size and time; empty when the package is missing.
const std::unordered_set<uint64_t>& corpus_lines() {
    static const std::unordered_set<uint64_t> lines = [] {
        std::unordered_set<uint64_t> out;
        std::string pkg;
        try {
            pkg = npm_package_dir("chinese-poetry");
        } catch (const Error&) {
            return out;
        }
        std::error_code ec;
        const fs::path manifest = fs::path(pkg) / "package.json";
        const auto stamp = fs::last_write_time(manifest, ec).time_since_epoch().count();
        const auto size = fs::file_size(manifest, ec);
        fs::path cache_dir;
        if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != 0) cache_dir = fs::path(x) / "lyra";
        else if (const char* h = std::getenv("HOME"); h != nullptr && *h != 0) cache_dir = fs::path(h) / ".cache" / "lyra";
        const fs::path cache = cache_dir.empty() ? fs::path()
                                                 : cache_dir / fmt::format("zh-corpus-lines-{}-{}.bin", size, stamp);
        if (!cache.empty()) {
            std::ifstream in(cache, std::ios::binary);
            uint64_t h = 0;
            while (in.read(reinterpret_cast<char*>(&h), sizeof h)) out.insert(h);
            if (!out.empty()) return out;
        }
        try {
            build_zh_corpus(json{{"ci", true}, {"shi", true}}, [&out](std::string doc) {
                std::istringstream in(doc);
                std::string line;
                int n = 0;
                while (std::getline(in, line)) {
                    if (n++ < 2) continue;  // 形式 and 题
                    // Each verse line ends in "，" or "。" (3 bytes in UTF-8).
                    if (line.size() > 3) out.insert(line_hash(line.substr(0, line.size() - 3)));
                }
            });
        } catch (const Error&) {
            out.clear();
            return out;
        }
        if (!cache.empty()) {
            // Best effort: written to a temporary name, then renamed into place.
            fs::create_directories(cache_dir, ec);
            const fs::path tmp = cache.string() + ".tmp" + std::to_string(::getpid());
            {
                std::ofstream o(tmp, std::ios::binary);
                for (uint64_t h : out) o.write(reinterpret_cast<const char*>(&h), sizeof h);
            }
            fs::rename(tmp, cache, ec);
            if (ec) fs::remove(tmp, ec);
        }
        return out;
    }();
    return lines;
}

bool copied(const std::u32string& line) { return corpus_lines().count(line_hash(to_utf8(line))) != 0; }

// The vocabulary tables of a loaded model, built once per (model, book, rhyme reading). Entries
// hold the model weakly: a new model loaded at a freed model's address never sees its tables.
std::shared_ptr<const ZhVocab> vocab_for(const std::shared_ptr<const model::Model>& m, RhymeBook book,
                                         RhymeReading reading) {
    struct Entry {
        std::weak_ptr<const model::Model> model;
        std::shared_ptr<const ZhVocab> vocab;
    };
    static std::mutex mu;
    static std::map<std::tuple<const model::Model*, int, int>, Entry> cache;
    std::lock_guard<std::mutex> lock(mu);
    auto key = std::make_tuple(m.get(), static_cast<int>(book), static_cast<int>(reading));
    auto it = cache.find(key);
    if (it != cache.end() && it->second.model.lock() == m) return it->second.vocab;
    auto v = make_zh_vocab(m->tokenizer(), book, reading);
    cache[key] = Entry{m, v};
    return v;
}

struct ZhRequest {
    const FormDef* form = nullptr;
    std::string title;
    std::u32string acrostic;
    RhymeBook book = RhymeBook::Pingshui;
    CommonOptions common;
};

ZhRequest parse_zh(const json& request) {
    ZhRequest r;
    r.form = find_zh_form_for(request);
    if (r.form == nullptr) unknown_form(get_string(request, "form"));
    check_keys(request,
               {"form", "theme", "title", "acrostic", "rhyme", "lines", "tone_rhyme", "stanzas",
                "pattern"},
               "poem");
    for (const char* key : {"theme", "title"}) {
        if (request.contains(key) && !request[key].is_null()) {
            std::string v = get_string(request, key);
            if (v.find_first_not_of(" \t\r\n") == std::string::npos)
                throw_error(ErrorKind::InvalidArgument,
                            "{}: must not be empty; expected a keyword, a title or a first line, got '{}'",
                            key, v);
            if (!r.title.empty())
                throw_error(ErrorKind::InvalidArgument,
                            "theme and title: give one of them; expected one, got both");
            if (v.find('\n') != std::string::npos)
                throw_error(ErrorKind::InvalidArgument,
                            "{}: must be one line; expected no line break, got '{}'", key, v);
            r.title = v;
        }
    }
    std::string ac = get_string(request, "acrostic");
    if (request.contains("acrostic") && !request["acrostic"].is_null()) {
        std::u32string a = to_u32(to_simplified(ac));
        std::u32string kept;
        for (char32_t c : a) {
            if (c == U' ' || c == U'，' || c == U',') continue;
            if (!is_han(c))
                throw_error(ErrorKind::InvalidArgument,
                            "acrostic: expected Chinese characters, one per line, got '{}'", ac);
            kept += c;
        }
        if (static_cast<int>(kept.size()) != r.form->line_count())
            throw_error(ErrorKind::InvalidArgument,
                        "acrostic: wrong number of characters for {}; expected {} (one per line), got {} ('{}')",
                        r.form->title, r.form->line_count(), kept.size(), ac);
        r.acrostic = kept;
    }
    r.book = parse_rhyme_book(get_string(request, "rhyme", "pingshui"));
    r.common = parse_common(request);
    return r;
}

int count_units(const std::string& text) {
    int n = 0;
    for (char32_t c : to_u32(text)) n += is_han(c) ? 1 : 0;
    return n;
}

json critics(const FormDef& form, const std::string& text, RhymeBook book, double logprob) {
    CheckResult cr = check_zh(form, text, book);
    std::u32string chars;
    for (char32_t c : to_u32(text)) {
        if (is_han(c)) chars += c;
    }
    std::set<char32_t> distinct(chars.begin(), chars.end());
    json s;
    s["form"] = cr.ok() ? 1.0 : 0.0;
    s["line_length"] = cr.length_ok ? 1.0 : 0.0;
    s["rhyme"] = cr.rhyme_ok ? 1.0 : 0.0;
    s["tone"] = cr.tone_ok ? 1.0 : 0.0;
    s["repetition"] = chars.empty() ? 0.0 : static_cast<double>(distinct.size()) / chars.size();
    const auto& corpus = corpus_lines();
    if (!corpus.empty()) {
        int copied_n = 0, total = 0;
        for (const std::u32string& l : split_verse(text)) {
            ++total;
            copied_n += copied(l) ? 1 : 0;
        }
        s["novelty"] = total == 0 ? 0.0 : 1.0 - static_cast<double>(copied_n) / total;
    } else {
        s["novelty"] = nullptr;
    }
    int units = count_units(text);
    s["loglik_per_char"] = units == 0 ? 0.0 : logprob / units;
    s["faults"] = static_cast<int>(cr.faults.size());
    s["opening"] = cr.variant;
    return s;
}

double total_score(const json& s) {
    double v = 10.0 * s["form"].get<double>() + 2.0 * s["repetition"].get<double>() +
               s["loglik_per_char"].get<double>();
    if (!s["novelty"].is_null()) v += s["novelty"].get<double>();
    return v;
}

// Writes one Chinese poem request's candidates (no files).
ArtResult write_zh(const ZhRequest& r, const json& request, Context& ctx) {
    const FormDef& form = *r.form;
    std::vector<const FormVariant*> variants;
    std::string why;
    for (const FormVariant& v : form.variants) {
        if (ZhConstraint::acrostic_fits(v, r.book, r.acrostic, &why)) variants.push_back(&v);
    }
    if (variants.empty())
        throw_error(ErrorKind::InvalidArgument, "acrostic: cannot start a valid line of {}; {}",
                    form.title, why);
    const std::string model_path = resolve_model(r.common, kZhModel);
    auto model = ctx.models->get(model_path);
    auto vocab = vocab_for(model, r.book, form.rhyme_reading());
    const std::string prompt = zh_prompt(form.title, r.title.empty() ? "无题" : r.title);

    ArtResult res;
    res.form = "poem";
    res.seed = r.common.seed;
    res.model = model_path;
    res.model_sha256 = ctx.models->sha256(model_path);
    json req = request;
    req["form"] = form.name;
    req["rhyme"] = rhyme_book_name(r.book);
    if (form.gu) {  // recorded, so the request reproduces the poem
        req["lines"] = form.line_count();
        req["tone_rhyme"] = get_string(request, "tone_rhyme", "any");
        const GuOptions given = GuOptions::from_request(request);
        if (given.stanzas) req["stanzas"] = *given.stanzas;
        if (form.name == "zayan") {
            req["pattern"] = pattern_of(form);
        }
    }
    if (!r.title.empty() && !req.contains("title")) req["theme"] = r.title;
    const json common = common_to_json(r.common);
    for (auto it = common.begin(); it != common.end(); ++it) req[it.key()] = it.value();
    res.request = req;

    gen::Generator g(*model, *ctx.pool);
    core::Rng rng(r.common.seed ^ 0x706f656dULL);
    for (int i = 0; i < r.common.n; ++i) {
        // 换韵 forms draw each stanza's reading; the others one of their whole-poem readings.
        FormVariant drawn;
        if (!form.stanzas.empty()) drawn = draw_stanza_variant(form, rng);
        const FormVariant& v =
            form.stanzas.empty() ? *variants[rng.next_u64() % variants.size()] : drawn;
        ZhConstraint c(form, v, r.book, r.acrostic, vocab);
        int tokens = 1;
        for (size_t li = 0; li < v.lines.size(); ++li) {
            tokens += v.lines[li].length +
                      static_cast<int>(std::max(vocab->comma_nl.size(), vocab->stop_nl.size()));
        }
        const int prompt_tokens = static_cast<int>(model->tokenizer().encode(prompt, true).size());
        const int ctx_len = static_cast<int>(model->hparams().n_ctx);
        if (prompt_tokens + tokens > ctx_len)
            throw_error(ErrorKind::ContextFull,
                        "model: {} needs {} tokens with its prompt; expected a context of at least that, got {}",
                        form.title, prompt_tokens + tokens, ctx_len);
        gen::GenerateOptions opt = generate_options(r.common, tokens);
        opt.seed = r.common.seed + static_cast<uint64_t>(i);
        opt.n_candidates = 1;
        opt.constraint = &c;
        gen::StreamFn stream;
        if (ctx.on_text) stream = [&ctx](int, std::string_view piece) { return ctx.on_text(piece); };
        gen::GenerateResult out = g.run(prompt, opt, stream);
        if (out.candidates.empty()) throw_error(ErrorKind::Io, "poem: generation was cancelled");
        if (!c.dead_end().empty())
            throw_error(ErrorKind::InvalidArgument,
                        "poem: dead end in {} at {}; expected a model vocabulary that can fill the form",
                        form.title, c.dead_end());
        const gen::Completion& comp = out.candidates[0];
        std::string text = comp.text;
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
        Candidate cand;
        cand.text = text;
        cand.scores = critics(form, text, r.book, comp.logprob_sum());
        cand.scores["complete"] = c.done();
        cand.score = total_score(cand.scores);
        res.candidates.push_back(std::move(cand));
    }
    apply_encoder_critic(res, r.common, r.title, ctx);
    rank_candidates(res);
    return res;
}

}  // namespace

std::string zh_prompt(std::string_view form_title, std::string_view title) {
    return fmt::format("形式:{}\n题:{}\n", form_title, title);
}

std::vector<std::pair<std::string, std::string>> list_forms() {
    std::vector<std::pair<std::string, std::string>> out;
    for (const FormDef& f : zh_forms()) out.emplace_back(f.name, f.description);
    for (auto& f : en::forms()) out.push_back(std::move(f));
    return out;
}

ArtResult write_poem(const json& request, Context& ctx) {
    if (!request.is_object())
        throw_error(ErrorKind::InvalidArgument, "poem: expected a JSON object request, got {}", request.type_name());
    if (!request.contains("form") || request["form"].is_null())
        throw_error(ErrorKind::InvalidArgument, "form: missing; expected one of {}; hint: lyra poem --list-forms",
                    form_names());
    const std::string form = get_string(request, "form");
    if (request.contains("revise")) return revise_poem(request, ctx);
    if (en::is_form(form)) {
        if (request.contains("rhyme"))
            throw_error(ErrorKind::InvalidArgument,
                        "rhyme: a rhyme book applies to Chinese forms only; expected no rhyme for {}, got '{}'",
                        form, request["rhyme"].dump());
        return en::write_poem(request, ctx);
    }
    ZhRequest r = parse_zh(request);
    ArtResult res = write_zh(r, request, ctx);
    if (!ctx.out_dir.empty()) {
        ArtifactSet set(ctx.out_dir);
        set.add("txt", "poem.txt", res.text + "\n");
        ArtResult copy = res;
        copy.files["txt"] = (fs::path(ctx.out_dir) / "poem.txt").string();
        copy.files["json"] = (fs::path(ctx.out_dir) / "poem.json").string();
        json doc = to_json(copy);
        doc["request"] = res.request;
        set.add("json", "poem.json", doc.dump(2) + "\n");
        res.files = set.commit();
    }
    return res;
}

std::vector<Fault> check_poem(std::string_view form, std::string_view text, std::string_view rhyme,
                              std::string_view acrostic, std::optional<int> gu_lines,
                              std::optional<std::string_view> tone_rhyme) {
    GuOptions gu{.lines = gu_lines};
    if (tone_rhyme) gu.tone_rhyme = std::string(*tone_rhyme);
    return check_poem(form, text, rhyme, acrostic, gu);
}

std::vector<Fault> check_poem(std::string_view form, std::string_view text, std::string_view rhyme,
                              std::string_view acrostic, const GuOptions& gu_options) {
    const bool gu = !en::is_form(form) && zh_form_or_throw(form).gu;
    if (!gu) refuse_gu_options(gu_options, form);
    if (en::is_form(form)) return en::check_poem(form, text, acrostic);
    const FormDef& f = zh_form_or_throw(form);
    const RhymeBook book = parse_rhyme_book(rhyme);
    std::vector<Fault> faults =
        gu ? check_gu(form, text, book, gu_options).faults : check_zh(f, text, book).faults;
    if (!acrostic.empty()) {
        const std::u32string head = to_u32(to_simplified(std::string(acrostic)));
        const std::vector<std::u32string> lines = split_verse(text);
        for (size_t i = 0; i < head.size() && i < lines.size(); ++i) {
            if (!lines[i].empty() && lines[i][0] != head[i]) {
                const std::string want = to_utf8(head[i]), got = to_utf8(lines[i][0]);
                faults.push_back(Fault{static_cast<int>(i + 1), 1, want, got,
                                       fmt::format("line {}, char 1: {} expected (acrostic), found {}", i + 1,
                                                   want, got)});
            }
        }
        if (head.size() != lines.size())
            faults.push_back(Fault{0, 0, fmt::format("{} acrostic characters", lines.size()),
                                   fmt::format("{}", head.size()),
                                   fmt::format("acrostic: {} characters for {} lines", head.size(), lines.size())});
    }
    return faults;
}

json eval_poems(const std::vector<std::string>& forms, int count, const std::string& model_path,
                std::string_view rhyme, Context& ctx, const GuOptions& gu) {
    static const char* const themes[] = {"春", "秋夜", "江上", "山居", "送别", "月", "边塞", "思乡", "梅花", "雪"};
    std::vector<std::string> names = forms;
    if (names.empty()) {
        for (const FormDef& f : zh_forms()) names.push_back(f.name);
    }
    json out = json::array();
    for (const std::string& name : names) {
        zh_form_or_throw(name);
        const auto t0 = std::chrono::steady_clock::now();
        int len_ok = 0, rhyme_ok = 0, tone_ok = 0, full = 0, complete = 0;
        long lines = 0, copied_lines = 0;
        bool have_corpus = !corpus_lines().empty();
        double ll = 0;
        long units = 0;
        std::set<std::u32string> bigrams;
        long bigram_total = 0;
        for (int s = 1; s <= count; ++s) {
            json req = {{"form", name}, {"model", model_path}, {"seed", s}, {"n", 1},
                        {"rhyme", std::string(rhyme)}, {"theme", themes[s % 10]}};
            if (gu.lines) req["lines"] = *gu.lines;
            if (gu.tone_rhyme) req["tone_rhyme"] = *gu.tone_rhyme;
            if (gu.stanzas) req["stanzas"] = *gu.stanzas;
            if (gu.pattern) req["pattern"] = *gu.pattern;
            ZhRequest r = parse_zh(req);
            ArtResult res = write_zh(r, req, ctx);
            CheckResult cr = check_zh(*r.form, res.text, r.book);
            len_ok += cr.length_ok;
            rhyme_ok += cr.rhyme_ok;
            tone_ok += cr.tone_ok;
            full += cr.ok();
            complete += res.scores.value("complete", false) ? 1 : 0;
            int u = count_units(res.text);
            units += u;
            ll += res.scores["loglik_per_char"].get<double>() * u;
            for (const std::u32string& l : split_verse(res.text)) {
                ++lines;
                if (have_corpus) copied_lines += copied(l) ? 1 : 0;
                for (size_t k = 0; k + 1 < l.size(); ++k) {
                    bigrams.insert(l.substr(k, 2));
                    ++bigram_total;
                }
            }
        }
        const double n = count;
        json row = {{"form", name},
                    {"count", count},
                    {"rhyme_book", std::string(rhyme)},
                    {"line_length_accuracy", len_ok / n},
                    {"rhyme_accuracy", rhyme_ok / n},
                    {"tone_accuracy", tone_ok / n},
                    {"full_compliance", full / n},
                    {"complete", complete / n},
                    {"distinct_2", bigram_total == 0 ? 0.0 : static_cast<double>(bigrams.size()) / bigram_total},
                    {"loglik_per_char", units == 0 ? 0.0 : ll / units},
                    {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
        row["copied_line_share"] = have_corpus && lines > 0 ? json(static_cast<double>(copied_lines) / lines) : json(nullptr);
        out.push_back(row);
    }
    return out;
}

void build_zh_corpus(const json& options, const std::function<void(std::string)>& emit) {
    const bool want_shi = options.value("shi", true);
    const bool want_ci = options.value("ci", true);
    const int64_t max_docs = options.value("max_docs", int64_t{0});
    for (const auto& [k, v] : options.items()) {
        if (k != "shi" && k != "ci" && k != "max_docs" && k != "builder" && k != "output")
            throw_error(ErrorKind::InvalidArgument,
                        "chinese-poetry: unknown option '{}'; expected shi, ci or max_docs", k);
    }
    const fs::path dist = fs::path(npm_package_dir("chinese-poetry")) / "dist";
    int64_t docs = 0;
    auto full = [&] { return max_docs > 0 && docs >= max_docs; };
    auto read_json = [](const fs::path& p) {
        std::ifstream in(p);
        if (!in) throw_error(ErrorKind::Io, "chinese-poetry: cannot read '{}'", p.string());
        return json::parse(in, nullptr, false);
    };
    auto listing = [](const fs::path& dir, std::string_view prefix) {
        std::vector<fs::path> files;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            std::string name = e.path().filename().string();
            if (name.rfind(prefix, 0) == 0 && name.size() > 5 && name.substr(name.size() - 5) == ".json")
                files.push_back(e.path());
        }
        std::sort(files.begin(), files.end());
        return files;
    };
    auto clean_title = [](std::string t) {
        for (char& c : t) {
            if (c == '\n' || c == '\r') c = ' ';
        }
        return t.empty() ? std::string("无题") : t;
    };
    // The poems of one chinese-poetry JSON file as (title, body) in Simplified Chinese: joined
    // and converted in one OpenCC call per file (one call per poem is far slower), then split
    // back. Newlines and record separators inside a body become spaces so they cannot split it.
    auto simplified_poems = [&](const json& arr, const char* title_key) {
        std::string joined;
        for (const json& poem : arr) {
            if (!poem.contains("paragraphs") || !poem["paragraphs"].is_array()) continue;
            std::string body;
            for (const json& para : poem["paragraphs"]) {
                if (para.is_string()) body += para.get<std::string>();
            }
            for (char& ch : body) {
                if (ch == '\n' || ch == '\x1e') ch = ' ';
            }
            joined += clean_title(poem.value(title_key, std::string())) + "\n" + body + "\n\x1e\n";
        }
        const std::string simp = to_simplified(joined);
        std::vector<std::pair<std::string, std::string>> poems;
        for (size_t start = 0, end; (end = simp.find("\n\x1e\n", start)) != std::string::npos;
             start = end + 3) {
            const std::string rec = simp.substr(start, end - start);
            const size_t nl = rec.find('\n');
            if (nl != std::string::npos) poems.emplace_back(rec.substr(0, nl), rec.substr(nl + 1));
        }
        return poems;
    };
    if (want_shi) {
        for (const fs::path& p : listing(dist / "quantangshi", "poet.tang.")) {
            if (full()) break;
            json arr = read_json(p);
            if (!arr.is_array()) continue;
            for (const auto& [title, body] : simplified_poems(arr, "title")) {
                if (full()) break;
                std::vector<std::u32string> lines = split_verse(body, false);
                if (lines.size() != 4 && lines.size() != 8) continue;
                size_t len = lines[0].size();
                if (len != 5 && len != 7) continue;
                bool same = true;
                for (const auto& l : lines) {
                    same &= l.size() == len;
                    for (char32_t c : l) same &= is_han(c);
                }
                if (!same) continue;
                const char* fname = lines.size() == 4 ? (len == 5 ? "五言绝句" : "七言绝句")
                                                      : (len == 5 ? "五言律诗" : "七言律诗");
                std::string doc = zh_prompt(fname, title);
                for (size_t i = 0; i < lines.size(); ++i)
                    doc += to_utf8(lines[i]) + (i % 2 == 0 ? "，\n" : "。\n");
                doc.pop_back();
                emit(std::move(doc));
                ++docs;
            }
        }
    }
    if (want_ci) {
        for (const fs::path& p : listing(dist / "songci", "ci.song.")) {
            if (full()) break;
            json arr = read_json(p);
            if (!arr.is_array()) continue;
            for (const auto& [name, body] : simplified_poems(arr, "rhythmic")) {
                if (full()) break;
                std::string doc = zh_prompt("词·" + name, name);
                std::u32string cur;
                int n = 0;
                for (char32_t ch : to_u32(body)) {
                    if (ch == U'，' || ch == U'。' || ch == U'？' || ch == U'！' || ch == U'；' || ch == U'、') {
                        if (cur.empty()) continue;
                        doc += to_utf8(cur) + (ch == U'，' || ch == U'、' ? "，\n" : "。\n");
                        cur.clear();
                        ++n;
                    } else if (is_han(ch)) {
                        cur += ch;
                    }
                }
                if (n == 0) continue;
                doc.pop_back();
                emit(std::move(doc));
                ++docs;
            }
        }
    }
}

}  // namespace lyra::art::poetry
