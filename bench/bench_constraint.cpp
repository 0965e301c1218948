// bench_constraint: decode speed with and without constraints (issue #4), side by side in one
// run on random-weight llama models: 32000-token vocabulary at dim 288 / 6 layers and dim 768 /
// 12 layers, and a 150k vocabulary at a small dim. Vocabularies are synthetic SentencePiece-style
// ones (byte fallback + words, word pieces, numbers and punctuation from ../shared/data texts),
// so tokens have realistic lengths and the trie realistic shape.
// Rows: free decoding, the JSON grammar, the adversarial number-array grammar, a form
// constraint (CJK-free line lengths over Latin letters) and a syllable form (a 5/7/5 haiku
// counted with the CMU dictionary and its letter-to-sound guess; skipped when it is not installed). Columns: decode tok/s, mask µs per token
// (time inside the constraint: apply(), or where the sampler chain takes the mask as bit rows and
// applies it while it writes the candidates, row_mask() and row_masked(); wall clock, and thread
// CPU time, which other processes on a busy machine do not inflate), and constrained / free tok/s.
// A replay section times the mask alone (thread CPU time) over the tokens of a fixed JSON text and
// a long number array, cold (empty caches) and warm; and for the syllable form, over random walks
// that the mask itself steers (mostly letters, so most masks are inside a word, as with the
// random-weight models): first time (nothing kept) and the same walks again (masks kept). The
// replays "by bit rows" take the chain's path and show what writing the candidates costs with the
// mask and without (the reset the apply() path pays before the mask).
// Usage: bench_constraint [--quick] [--replay-only] [--unshared] [--tokens N] [--threads T] [--data DIR]
// (--unshared: the forms carry no FormSpec::rules_id, so that each constraint scans what the UTF-8
// lead bytes can start for itself, as a lone request's would.)
// GCC 12 reports a false -Wrestrict on short string concatenations (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <ctime>
#include <vector>

#include <fmt/format.h>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "generate/constraint/constraint.h"
#include "art/poetry/en/pronounce.h"
#include "core/error.h"
#include "generate/constraint/form.h"
#include "generate/constraint/token_mask.h"
#include "generate/generator.h"
#include "model/init.h"
#include "model/model.h"
#include "model/tokenizer/vocab.h"

namespace {

using namespace lyra;
namespace fs = std::filesystem;

std::string read_corpus(const fs::path& dir) {
    std::string out;
    if (!fs::exists(dir)) return out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (!e.is_regular_file() || e.path().extension() != ".txt") continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        out += ss.str();
        if (out.size() > (8u << 20)) break;
    }
    return out;
}

// A "llama" vocabulary of n tokens: <unk> <s> </s>, 256 byte tokens, then pieces by frequency:
// whole words with and without a leading space, word pieces of 2-8 letters, numbers and JSON
// punctuation, then synthetic pieces until n is reached.
std::unique_ptr<model::Tokenizer> synthetic_vocab(int n, const std::string& corpus) {
    std::map<std::string, int64_t> freq;
    std::string word;
    auto flush = [&](char after) {
        (void)after;
        if (word.empty()) return;
        freq[" " + word] += 3;
        freq[word] += 2;
        for (size_t len = 2; len <= std::min<size_t>(8, word.size()); ++len)
            for (size_t i = 0; i + len <= word.size(); ++i) freq[word.substr(i, len)] += 1;
        word.clear();
    };
    for (char c : corpus) {
        if (std::isalpha(static_cast<unsigned char>(c))) {
            word += c;
        } else {
            flush(c);
            if (std::ispunct(static_cast<unsigned char>(c))) freq[std::string(1, c)] += 5;
        }
    }
    for (int i = 0; i < 1000; ++i) freq[std::to_string(i)] += 50;
    for (const char* p : {" ", "{\"", "\":", "\",", "\"}", "[", "]", "],", "{", "}", "},", ": ", ", ",
                          "\": \"", "\":[", "true", "false", "null", "\n", "\n\n", "  ", "    "}) {
        freq[p] += 1000;
    }
    std::vector<std::pair<std::string, int64_t>> order(freq.begin(), freq.end());
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });

    model::Vocab v = model::default_vocab("llama");
    v.add_space_prefix = false;
    std::set<std::string> seen;
    auto add = [&](std::string text, model::TokenType type, float score) {
        if (!seen.insert(text).second) return;
        v.tokens.push_back(std::move(text));
        v.types.push_back(type);
        v.scores.push_back(score);
    };
    add("<unk>", model::TokenType::Unknown, 0.0f);
    add("<s>", model::TokenType::Control, 0.0f);
    add("</s>", model::TokenType::Control, 0.0f);
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        add(name, model::TokenType::Byte, 0.0f);
    }
    auto piece = [](const std::string& s) {
        std::string p;
        for (char c : s) p += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
        return p;
    };
    for (const auto& [s, f] : order) {
        if (static_cast<int>(v.tokens.size()) >= n) break;
        add(piece(s), model::TokenType::Normal, -static_cast<float>(v.tokens.size()));
    }
    core::Rng rng(5);
    const std::string letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    while (static_cast<int>(v.tokens.size()) < n) {  // corpus exhausted: random letter runs
        std::string s = rng.uniform() < 0.5f ? " " : "";
        const int len = 3 + static_cast<int>(rng.uniform() * 8);
        for (int i = 0; i < len; ++i) s += letters[static_cast<size_t>(rng.uniform() * 52) % 52];
        add(piece(s), model::TokenType::Normal, -static_cast<float>(v.tokens.size()));
    }
    return model::Tokenizer::from_vocab(std::move(v));
}

struct Row {
    std::string name;
    int64_t tokens = 0;
    int64_t decode_us = 0;
    int64_t mask_us = 0;
    int64_t masks = 0;
    int64_t walks = 0;
    double mask_cpu_us = 0;  // per mask, thread CPU time
    int complete = 0, runs = 0;
};

// Generates until at least `target` tokens, in runs of at most `max_tokens` each.
void run(const model::Model& m, core::ThreadPool& pool, gen::Constraint* c,
         gen::constraint::GrammarConstraint* g, int max_tokens, int target, Row& row) {
    gen::Generator gen(m, pool);
    for (uint64_t seed = 1; row.tokens < target; ++seed) {
        if (c) c->reset();
        gen::GenerateOptions opt{.max_tokens = max_tokens, .seed = seed, .constraint = c};
        const auto r = gen.run("The", opt);
        row.tokens += r.timings.n_gen;
        row.decode_us += r.timings.t_decode_us;
        row.runs += 1;
        if (g != nullptr) row.complete += g->is_accepting();
    }
}

fs::path source_dir() { return fs::path(LYRA_SOURCE_DIR); }

int64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Mask cost alone, in thread CPU time (immune to other processes on a busy machine): replays
// the tokens of `text` through the constraint, timing apply() on a full candidate set.
// Returns {cold µs/token (first pass, empty caches), warm µs/token (third pass)}.
// The mask alone over the tokens of `text`, as mask, accept, mask...: cold (first pass) and warm
// (the mean of the later passes), in thread CPU time per token. Grammar and form constraints alike.
template <class C>
std::pair<double, double> replay_mask_us(const model::Tokenizer& tok, C* c, const std::string& text) {
    const auto ids = tok.encode(text, false);
    std::vector<float> logits(static_cast<size_t>(tok.n_vocab()));
    core::Rng rng(3);
    for (auto& x : logits) x = rng.normal();
    gen::CandidateSet cs;
    // Short texts are replayed more often, so that every warm figure averages some 2,000 masks.
    const int passes = std::max<int>(3, static_cast<int>(2000 / std::max<size_t>(ids.size(), 1)));
    double cold = 0, warm = 0;
    for (int pass = 0; pass < passes; ++pass) {
        c->reset();
        int64_t ns = 0;
        for (auto id : ids) {
            if (c->status() == gen::constraint::ConstraintStatus::DeadEnd) {
                std::fprintf(stderr, "replay: dead end before token '%s'\n", tok.token_to_bytes(id).c_str());
                break;
            }
            cs.reset(logits);
            const int64_t t0 = thread_cpu_ns();
            c->apply(cs);
            ns += thread_cpu_ns() - t0;
            c->accept(id);
        }
        const double us = static_cast<double>(ns) / 1000.0 / static_cast<double>(ids.size());
        if (pass == 0) cold = us;
        else warm += us / (passes - 1);
    }
    return {cold, warm};
}

// The same replay through the sampler chain's path (the constraint's bit rows applied while the
// candidates are written, gen::Constraint::row_mask), warm passes only: thread CPU µs per token in
// the constraint, writing the candidates under its mask (reset_with_token_mask), and writing them
// plainly (CandidateSet::reset, which the other path pays before apply) for comparison.
struct RowReplay {
    double constraint = 0, masked_reset = 0, plain_reset = 0;
};
template <class C>
RowReplay replay_rows_us(const model::Tokenizer& tok, C* c, const std::string& text) {
    const auto ids = tok.encode(text, false);
    std::vector<float> logits(static_cast<size_t>(tok.n_vocab()));
    core::Rng rng(3);
    for (auto& x : logits) x = rng.normal();
    gen::CandidateSet cs, plain;
    const int passes = std::max<int>(3, static_cast<int>(2000 / std::max<size_t>(ids.size(), 1)));
    int64_t ns[3] = {0, 0, 0}, n = 0;
    for (int pass = 0; pass < passes; ++pass) {
        c->reset();
        for (auto id : ids) {
            if (c->status() == gen::constraint::ConstraintStatus::DeadEnd) break;
            const int64_t t0 = thread_cpu_ns();
            gen::RowMask m;
            const bool rows = c->row_mask(m);
            const int64_t t1 = thread_cpu_ns();
            bool any = false;
            if (rows) any = gen::constraint::reset_with_token_mask(cs, logits, m.allow, m.ask, m.n_tokens,
                                                                   [&](model::TokenId t) { return c->decide(t); });
            const int64_t t2 = thread_cpu_ns();
            if (rows) c->row_masked(cs, any);
            else {
                cs.reset(logits);
                c->apply(cs);
            }
            const int64_t t3 = thread_cpu_ns();
            plain.reset(logits);
            const int64_t t4 = thread_cpu_ns();
            c->accept(id);
            if (pass == 0) continue;  // warm passes only
            ns[0] += (t1 - t0) + (t3 - t2);
            ns[1] += t2 - t1;
            ns[2] += t4 - t3;
            ++n;
        }
    }
    const auto us = [&](int k) { return static_cast<double>(ns[k]) / 1000.0 / static_cast<double>(std::max<int64_t>(n, 1)); };
    return {us(0), us(1), us(2)};
}

// A constraint's masks timed in thread CPU time, around the real one in the generator.
class CpuTimed final : public gen::Constraint {
public:
    explicit CpuTimed(gen::Constraint* inner) : inner_(inner) {}
    void apply(gen::CandidateSet& c) override {
        const int64_t t0 = thread_cpu_ns();
        inner_->apply(c);
        ns_ += thread_cpu_ns() - t0;
        ++n_;
    }
    // The chain's fast path (the mask as bit rows, applied while the candidates are written):
    // the constraint's part is timed, as apply() is; the candidates' writing is the chain's, as
    // the reset before apply() is (the "candidates built" row compares the two resets).
    bool row_mask(gen::RowMask& out) override {
        const int64_t t0 = thread_cpu_ns();
        const bool ok = inner_->row_mask(out);
        ns_ += thread_cpu_ns() - t0;
        n_ += ok;
        return ok;
    }
    bool decide(model::TokenId id) override {
        const int64_t t0 = thread_cpu_ns();
        const bool yes = inner_->decide(id);
        ns_ += thread_cpu_ns() - t0;
        return yes;
    }
    void row_masked(gen::CandidateSet& c, bool any) override {
        const int64_t t0 = thread_cpu_ns();
        inner_->row_masked(c, any);
        ns_ += thread_cpu_ns() - t0;
    }
    void accept(model::TokenId id) override { inner_->accept(id); }
    void reset() override { inner_->reset(); }
    double us_per_mask() const { return n_ > 0 ? static_cast<double>(ns_) / 1000.0 / static_cast<double>(n_) : 0.0; }

private:
    gen::Constraint* inner_;
    int64_t ns_ = 0, n_ = 0;
};

// The mask alone over `walks` walks of up to `steps` tokens, each token drawn from those the mask
// allows (a letter-initial one 70% of the time, when there is one): thread CPU µs per mask the
// first time, and for the same walks again, for the masks inside a word and between words.
struct WalkTimes {
    double first_in = 0, first_between = 0, again_in = 0, again_between = 0;
    double inside = 0;  // share of the masks inside a word
};
WalkTimes walk_mask_us(const model::Tokenizer& tok, gen::constraint::FormConstraint* c,
                                                int walks, int steps, uint64_t seed) {
    std::vector<float> logits(static_cast<size_t>(tok.n_vocab()), 0.0f);
    gen::CandidateSet cs;
    std::vector<model::TokenId> letters, others;
    std::vector<uint8_t> letter_initial(static_cast<size_t>(tok.n_vocab()));
    for (model::TokenId id = 0; id < tok.n_vocab(); ++id) {
        const std::string b = tok.token_to_bytes(id);
        letter_initial[static_cast<size_t>(id)] = !b.empty() && std::isalpha(static_cast<unsigned char>(b[0]));
    }
    WalkTimes out;
    core::Rng rng(seed);
    const core::Rng start = rng;
    for (int pass = 0; pass < 2; ++pass) {
        rng = start;
        int64_t ns[2] = {0, 0}, n[2] = {0, 0};  // [inside a word]
        for (int w = 0; w < walks; ++w) {
            c->reset();
            for (int step = 0; step < steps && c->status() == gen::constraint::ConstraintStatus::Active; ++step) {
                const std::string& text = c->text();
                const int in = !text.empty() && std::isalpha(static_cast<unsigned char>(text.back())) ? 1 : 0;
                cs.reset(logits);
                const int64_t t0 = thread_cpu_ns();
                c->apply(cs);
                ns[in] += thread_cpu_ns() - t0;
                ++n[in];
                letters.clear();
                others.clear();
                for (const auto& cand : cs.items) {
                    if (cand.logit == -std::numeric_limits<float>::infinity()) continue;
                    (letter_initial[static_cast<size_t>(cand.id)] ? letters : others).push_back(cand.id);
                }
                const auto& pool = !letters.empty() && (others.empty() || rng.uniform() < 0.7f) ? letters : others;
                if (pool.empty()) break;
                const model::TokenId next = pool[static_cast<size_t>(rng.uniform() * static_cast<float>(pool.size())) % pool.size()];
                if (tok.is_eog(next)) break;
                c->accept(next);
            }
        }
        auto us = [&](int in) { return static_cast<double>(ns[in]) / 1000.0 / static_cast<double>(std::max<int64_t>(n[in], 1)); };
        (pass == 0 ? out.first_in : out.again_in) = us(1);
        (pass == 0 ? out.first_between : out.again_between) = us(0);
        out.inside = static_cast<double>(n[1]) / static_cast<double>(std::max<int64_t>(n[0] + n[1], 1));
    }
    return out;
}

// The form rows: 3 lines of 6 letters (spaces free), and a closed 5/7/5 haiku counted with the
// CMU dictionary and its guess (null, with a note, when the dictionary is not installed).
bool g_unshared = false;  // --unshared: no rules_id on the forms
std::string rules_id(const char* name) { return g_unshared ? std::string() : std::string("bench_constraint ") + name; }

gen::constraint::FormSpec letters_form() {
    return {.lines = {{.units = 6}, {.units = 6}, {.units = 6}},
            .is_unit = [](uint32_t cp) { return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z'; },
            .allowed = [](uint32_t cp) { return cp == ' ' || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z'); },
            .rules_id = rules_id("letters")};
}

std::unique_ptr<gen::constraint::FormConstraint> haiku_form(const model::Tokenizer& tok) {
    try {
        return std::make_unique<gen::constraint::FormConstraint>(
            gen::constraint::FormSpec{
                .lines = {{.units = 5}, {.units = 7}, {.units = 5}},
                .allowed = [](uint32_t cp) { return cp == ' ' || cp == ',' || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z'); },
                .closed = true,
                .syllables = art::poetry::en::cmu_syllables(),
                // As a server's requests for one form would: the constraints share their answers
                // about which characters a lead byte can start (FormSpec::rules_id).
                .rules_id = rules_id("haiku")},
            tok);
    } catch (const Error& e) {
        std::fprintf(stderr, "syllable row skipped: %s\n", e.what());
        return nullptr;
    }
}

std::string sample_json() {
    std::string s = "[";
    for (int i = 0; i < 40; ++i) {
        if (i) s += ", ";
        s += fmt::format("{{\"name\": \"the king of {} and all his men\", \"id\": {}, \"score\": {}.{}, "
                         "\"tags\": [\"poem\", \"song\"], \"ok\": {}}}", i * 7, i, i * 13 % 100, i % 10,
                         i % 2 ? "true" : "false");
    }
    return s + "]";
}

std::string sample_numbers() {
    std::string s = "[";
    for (int i = 0; i < 300; ++i) s += (i ? ", " : "") + std::to_string(i * 7919 % 100003);
    return s + "]";
}

struct Config {
    const char* name;
    int64_t n_embd, n_layer, n_head, n_vocab;
};

}  // namespace

static int run(int argc, char** argv) {
    int target = 96;
    int threads = 0;
    bool quick = false;
    bool replay_only = false;  // mask cost only, no decoding
    fs::path data = fs::path(source_dir()) / ".." / "shared" / "data";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick") quick = true;
        else if (a == "--unshared") g_unshared = true;
        else if (a == "--replay-only") replay_only = true;
        else if (a == "--tokens" && i + 1 < argc) target = std::atoi(argv[++i]);
        else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (a == "--data" && i + 1 < argc) data = argv[++i];
    }
    const std::string corpus = read_corpus(data);
    std::printf("corpus: %zu bytes from %s\n", corpus.size(), data.string().c_str());

    std::vector<Config> configs = {{"llama dim 288 / 6 layers, 32k vocab", 288, 6, 6, 32000},
                                   {"llama dim 768 / 12 layers, 32k vocab", 768, 12, 12, 32000},
                                   {"llama dim 128 / 2 layers, 150k vocab", 128, 2, 4, 150000}};
    if (quick) configs = {configs[0]};
    if (std::getenv("LYRA_BENCH_ONLY_150K") != nullptr) configs = {configs[2]};
    const fs::path dir = fs::temp_directory_path() / "lyra_bench_constraint";
    fs::create_directories(dir);
    core::ThreadPool pool(threads);
    const auto read_grammar = [](const char* name) {
        const fs::path path = source_dir() / "grammars" / name;
        std::ifstream in(path);
        if (!in) throw std::runtime_error("cannot read " + path.string());
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    };
    const std::string json_g = read_grammar("json.gbnf");
    const std::string list_g = read_grammar("number_list.gbnf");

    std::printf("\n| model | run | tok/s | mask µs/token (wall, thread CPU) | constrained/free | trie walks | complete |\n");
    std::printf("|---|---|---:|---:|---:|---:|---:|\n");
    for (const auto& cfg : configs) {
        const auto t0 = std::chrono::steady_clock::now();
        auto tok = synthetic_vocab(static_cast<int>(cfg.n_vocab), corpus);
        model::InitOptions o;
        o.n_embd = cfg.n_embd;
        o.n_layer = cfg.n_layer;
        o.n_head = cfg.n_head;
        o.n_ctx = 512;
        o.seed = 1;
        o.init_std = 0.05f;
        auto trie = std::make_shared<const gen::constraint::TokenTrie>(*tok);
        for (const auto& [gname, gbnf, text] :
             {std::tuple{"JSON grammar", json_g, sample_json()},
              std::tuple{"number array", list_g, sample_numbers()}}) {
            auto c = gen::constraint::make_grammar_constraint(gbnf, trie);
            const auto [cold, warm] = replay_mask_us(*tok, c.get(), text);
            std::printf("| %s | mask replay, %s | cold %.1f µs/token, warm %.1f µs/token (thread CPU time) |\n",
                        cfg.name, gname, cold, warm);
            const RowReplay rr = replay_rows_us(*tok, c.get(), text);
            std::printf("| %s | mask replay by bit rows (the chain's path), %s | warm %.1f µs/token in the constraint; the "
                        "candidates written under its mask %.1f µs, plainly %.1f µs (thread CPU time) |\n",
                        cfg.name, gname, rr.constraint, rr.masked_reset, rr.plain_reset);
            std::fflush(stdout);
        }
        {
            // A short object under a budget of exactly its tokens: most of its masks are
            // budget-limited (the grammar must be able to close in the tokens left).
            const std::string text = R"({"name": "the king of song", "id": 7, "ok": true})";
            const int budget = static_cast<int>(tok->encode(text, false).size());
            auto c = gen::constraint::make_grammar_constraint(json_g, trie, {.max_tokens = budget});
            const auto [cold, warm] = replay_mask_us(*tok, c.get(), text);
            std::printf("| %s | mask replay, JSON grammar, budget = the text's %d tokens | cold %.1f µs/token, warm %.1f µs/token (thread CPU time) |\n",
                        cfg.name, budget, cold, warm);
        }
        {
            gen::constraint::FormConstraint letters(letters_form(), *tok);
            const auto [cold, warm] = replay_mask_us(*tok, &letters, "red fox\nran far\nand hid");
            std::printf("| %s | mask replay, form: 3 lines x 6 letters | cold %.1f µs/token, warm %.1f µs/token (thread CPU time) |\n",
                        cfg.name, cold, warm);
        }
        // The CMU dictionary is loaded once per process (timed apart from the form).
        const int64_t dict0 = thread_cpu_ns();
        try {
            (void)art::poetry::en::cmu_syllables();
        } catch (const Error&) {
            // haiku_form reports it
        }
        const double dict_ms = static_cast<double>(thread_cpu_ns() - dict0) / 1e6;
        const int64_t build0 = thread_cpu_ns();
        if (auto haiku = haiku_form(*tok)) {
            // Building the haiku constraint: the first for this vocabulary makes its syllable
            // tables; a second, while the first is alive, shares them (FormConstraint::SylTables).
            const double first_ms = static_cast<double>(thread_cpu_ns() - build0) / 1e6;
            const int64_t build1 = thread_cpu_ns();
            const auto again = haiku_form(*tok);
            const double again_ms = static_cast<double>(thread_cpu_ns() - build1) / 1e6;
            std::printf("| %s | building the 5/7/5 form | first %.1f ms, a second on the same vocabulary %.2f ms "
                        "(thread CPU time; the dictionary's load before them %.1f ms; syllable tables made %lld times so far) |\n",
                        cfg.name, first_ms, again_ms, dict_ms,
                        static_cast<long long>(gen::constraint::FormConstraint::syllable_tables_made()));
            const auto [cold, warm] =
                replay_mask_us(*tok, haiku.get(), "an old silent pond\na frog jumps into the pond\nsplash, silence again");
            std::printf("| %s | mask replay, form: 5/7/5 syllables | cold %.1f µs/token, warm %.1f µs/token (thread CPU time) |\n",
                        cfg.name, cold, warm);
            const RowReplay rr =
                replay_rows_us(*tok, haiku.get(), "an old silent pond\na frog jumps into the pond\nsplash, silence again");
            std::printf("| %s | mask replay by bit rows (the chain's path), form: 5/7/5 syllables | warm %.1f µs/token in the "
                        "constraint; the candidates written under its mask %.1f µs, plainly %.1f µs (thread CPU time) |\n",
                        cfg.name, rr.constraint, rr.masked_reset, rr.plain_reset);
            const WalkTimes t = walk_mask_us(*tok, haiku.get(), quick ? 4 : 8, 40, 7);
            std::printf("| %s | mask walks, form: 5/7/5 syllables | inside a word (%.0f%% of masks): first %.1f, again %.1f µs/mask; "
                        "between words: first %.1f, again %.1f µs/mask (thread CPU time) |\n",
                        cfg.name, 100.0 * t.inside, t.first_in, t.again_in, t.first_between, t.again_between);
        }
        std::fflush(stdout);
        if (replay_only) continue;
        const std::string path = (dir / fmt::format("m{}_{}_{}.gguf", cfg.n_embd, cfg.n_layer, cfg.n_vocab)).string();
        if (!fs::exists(path)) model::init_model(o, *tok, path);
        const auto m = model::Model::load(path);
        trie = std::make_shared<const gen::constraint::TokenTrie>(m->tokenizer());
        const double setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::fprintf(stderr, "%s: setup %.1f s, trie %zu nodes\n", cfg.name, setup_s, trie->n_nodes());

        const int max_tokens = 64;
        auto json_c = gen::constraint::make_grammar_constraint(json_g, trie, {.max_tokens = max_tokens});
        auto list_c = gen::constraint::make_grammar_constraint(list_g, trie, {.max_tokens = max_tokens});
        gen::constraint::FormConstraint form_c(letters_form(), m->tokenizer());
        std::unique_ptr<gen::constraint::FormConstraint> syl_c = haiku_form(m->tokenizer());
        CpuTimed json_t(json_c.get()), list_t(list_c.get()), form_t(&form_c), syl_t(syl_c.get());
        Row free_row{.name = "free"}, json_row{.name = "JSON grammar"},
            list_row{.name = "number array (adversarial)"}, form_row{.name = "form: 3 lines x 6 letters"},
            syl_row{.name = "form: 5/7/5 syllables (CMU + guess)"};
        // One untimed free run first: the first pass over a freshly loaded model pays its page
        // faults (half a second for the dim-768 file), which fell on the free row alone and made
        // every constrained row look faster than free.
        Row warm_up{.name = "warm-up"};
        run(*m, pool, nullptr, nullptr, max_tokens, max_tokens, warm_up);
        // Interleaved so that load from other processes falls on every row alike.
        for (int rep = 0; rep < 2; ++rep) {
            run(*m, pool, nullptr, nullptr, max_tokens, target * (rep + 1) / 2, free_row);
            run(*m, pool, &json_t, json_c.get(), max_tokens, target * (rep + 1) / 2, json_row);
            run(*m, pool, &list_t, list_c.get(), max_tokens, target * (rep + 1) / 2, list_row);
            run(*m, pool, &form_t, nullptr, max_tokens, target * (rep + 1) / 2, form_row);
            if (syl_c) run(*m, pool, &syl_t, nullptr, max_tokens, target * (rep + 1) / 2, syl_row);
        }
        if (syl_c) {
            syl_row.mask_us = syl_c->stats().t_mask_us;
            syl_row.masks = syl_c->stats().n_masks;
        }
        json_row.mask_us = json_c->stats().t_mask_us;
        json_row.masks = json_c->stats().n_masks;
        json_row.walks = json_c->stats().n_walks;
        list_row.mask_us = list_c->stats().t_mask_us;
        list_row.masks = list_c->stats().n_masks;
        list_row.walks = list_c->stats().n_walks;
        form_row.mask_us = form_c.stats().t_mask_us;
        form_row.masks = form_c.stats().n_masks;
        json_row.mask_cpu_us = json_t.us_per_mask();
        list_row.mask_cpu_us = list_t.us_per_mask();
        form_row.mask_cpu_us = form_t.us_per_mask();
        syl_row.mask_cpu_us = syl_t.us_per_mask();
        const double free_tps = free_row.tokens * 1e6 / static_cast<double>(free_row.decode_us);
        std::vector<const Row*> rows = {&free_row, &json_row, &list_row, &form_row};
        if (syl_c) rows.push_back(&syl_row);
        for (const Row* r : rows) {
            const double tps = r->tokens * 1e6 / static_cast<double>(r->decode_us);
            const std::string mask = r->masks > 0 ? fmt::format("{:.1f} ({:.1f} CPU)", static_cast<double>(r->mask_us) / static_cast<double>(r->masks), r->mask_cpu_us) : "-";
            const std::string complete = r == &free_row || r == &form_row || r == &syl_row ? "-" : fmt::format("{}/{}", r->complete, r->runs);
            std::printf("| %s | %s | %.1f | %s | %.3f | %s | %s |\n", cfg.name, r->name.c_str(), tps,
                        mask.c_str(), tps / free_tps, r->walks > 0 ? std::to_string(r->walks).c_str() : "-",
                        complete.c_str());
            std::fflush(stdout);
        }
    }
    return 0;
}

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_constraint: %s\n", e.what());
        return 1;
    }
}
