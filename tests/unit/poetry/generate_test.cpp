// Constrained decoding proves the form, not the model: a random-weight model over a character
// vocabulary writes valid poems for every Chinese form, with and without acrostics, under both
// rhyme books (仄-rhyming 词 keep a 平水韵 仄 group; 古体 keep one 平 or 仄 rhyme at every line count); bad requests and vocabularies that cannot
// fill the form (a constraint dead end) fail with one clear error and write nothing.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "art/common/art.h"
#include "art/poetry/checker.h"
#include "art/poetry/forms.h"
#include "art/poetry/gu.h"
#include "art/poetry/poem.h"
#include "art/poetry/prosody.h"
#include "art/poetry/zh_constraint.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "model/init.h"
#include "model/tokenizer/char_vocab.h"
#include "model/tokenizer/tokenizer.h"

namespace lyra::art::poetry {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A random llama over the characters of `text` (each one token), written to a temp file.
std::string char_model(const std::string& text, const std::string& tag) {
    auto tok = model::build_char_vocab(text, 0);
    model::InitOptions o;
    o.n_embd = 32;
    o.n_layer = 1;
    o.n_head = 2;
    o.n_ctx = 256;
    o.seed = 7;
    std::string p = (fs::temp_directory_path() / ("lyra_poetry_" + tag + "_" + std::to_string(::getpid()) + ".gguf")).string();
    model::init_model(o, *tok, p);
    return p;
}

// A random llama over every character of the prosody table plus the punctuation poems use.
const std::string& random_model() {
    static const std::string path = [] {
        std::string text = "，。\n形式:题无";
        for (const auto& [c, info] : Prosody::get().all()) text += to_utf8(c);
        return char_model(text, "zh");
    }();
    return path;
}

struct Fixture : ::testing::Test {
    core::ThreadPool pool{1};
    ModelCache models;
    Context ctx{.pool = &pool, .models = &models};
    ArtResult run(json req) {
        req["model"] = random_model();
        return write_poem(req, ctx);
    }
};

std::string faults_of(const CheckResult& r) {
    std::string s;
    for (const Fault& f : r.faults) s += f.message + "\n";
    return s;
}

TEST_F(Fixture, EveryFormValidOnRandomWeights) {
    for (const FormDef& f : zh_forms()) {
        for (const char* book : {"pingshui", "xinyun"}) {
            for (int seed = 1; seed <= 3; ++seed) {
                ArtResult r = run({{"form", f.name}, {"seed", seed}, {"rhyme", book}, {"theme", "秋"}});
                CheckResult c = check_zh(f, r.text, parse_rhyme_book(book));
                EXPECT_TRUE(c.ok()) << f.name << " " << book << " seed " << seed << "\n" << r.text << "\n" << faults_of(c);
                EXPECT_EQ(r.scores["form"], 1.0);
                EXPECT_EQ(r.form, "poem");
            }
        }
    }
}

TEST_F(Fixture, AcrosticWithEveryForm) {
    const std::u32string pool_chars = U"春江花月夜山风清明白云高远长天秋水落日东西南北人间";
    for (const FormDef& f : zh_forms()) {
        const FormVariant& v = f.variants[0];
        // Pick, per line, a character that can begin it in some variant (the form decides).
        std::u32string head;
        for (size_t i = 0; i < v.lines.size(); ++i) {
            // A 叠句 line begins as the line it repeats (如梦令's 6th), or no acrostic fits.
            head += v.lines[i].repeats ? head.back() : pool_chars[(i * 7 + 3) % pool_chars.size()];
        }
        std::string why;
        bool fits = false;
        for (const FormVariant& vv : f.variants) fits |= ZhConstraint::acrostic_fits(vv, RhymeBook::Pingshui, head, &why);
        json req = {{"form", f.name}, {"seed", 5}, {"acrostic", to_utf8(head)}, {"n", 2}};
        if (!fits) {
            EXPECT_THROW(run(req), Error) << f.name;
            continue;
        }
        ArtResult r = run(req);
        CheckResult c = check_zh(f, r.text, RhymeBook::Pingshui);
        EXPECT_TRUE(c.ok()) << f.name << "\n" << r.text << "\n" << faults_of(c);
        auto lines = split_verse(r.text);
        ASSERT_EQ(lines.size(), head.size()) << r.text;
        for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i][0], head[i]) << f.name << " line " << i;
        EXPECT_EQ(r.candidates.size(), 2u);
    }
}

TEST_F(Fixture, BadRequestsFailClearly) {
    auto message = [&](json req) {
        try {
            run(req);
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
            return std::string(e.what());
        }
        ADD_FAILURE() << req.dump();
        return std::string();
    };
    EXPECT_NE(message({{"form", "wuyan"}}).find("form: unknown poem form"), std::string::npos);
    EXPECT_NE(message({{"form", "ci:不存在"}}).find("form: unknown poem form"), std::string::npos);
    EXPECT_NE(message({{"form", "wujue"}, {"acrostic", "春江花"}}).find("acrostic: wrong number of characters for 五言绝句; expected 4"), std::string::npos);
    EXPECT_NE(message({{"form", "wujue"}, {"rhyme", "cilin"}}).find("rhyme: unknown rhyme book"), std::string::npos);
    EXPECT_NE(message({{"form", "wujue"}, {"theme", ""}}).find("theme: must not be empty"), std::string::npos);
    EXPECT_NE(message({{"form", "wujue"}, {"acrostic", "abcd"}}).find("acrostic: expected Chinese characters"), std::string::npos);
    EXPECT_NE(message({{"form", "wujue"}, {"colour", "red"}}).find("colour"), std::string::npos);
    // 如梦令's fifth line is 平仄: it must begin with a 平 character; 月 is 仄.
    EXPECT_NE(message({{"form", "ci:如梦令"}, {"acrostic", "春江花山月风人"}}).find("acrostic: cannot start a valid line"), std::string::npos);
    EXPECT_NE(message({{"form", "ci:如梦令"}, {"acrostic", "春江花山风人东"}}).find("line 6 repeats line 5 (叠句)"),
              std::string::npos);
    EXPECT_NE(message({{"form", "wugu"}, {"lines", 7}}).find("lines: 五言古诗 rhymes on the even lines"), std::string::npos);
    EXPECT_NE(message({{"form", "qigu"}, {"lines", 30}}).find("expected 4 to 24, got 30"), std::string::npos);
    EXPECT_NE(message({{"form", "wulv"}, {"lines", 8}}).find("lines: only the 古体 forms"), std::string::npos);
    EXPECT_NE(message({{"form", "wugu"}, {"tone_rhyme", "flat"}}).find("tone_rhyme: unknown rhyme tone"), std::string::npos);
    EXPECT_NE(message({{"form", "wugu"}, {"lines", 6}, {"acrostic", "春江花月"}})
                  .find("acrostic: wrong number of characters for 五言古诗; expected 6"),
              std::string::npos);
}

TEST_F(Fixture, FilesAllOrNothing) {
    fs::path dir = fs::temp_directory_path() / ("lyra_poem_out_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    ctx.out_dir = dir.string();
    ArtResult r = run({{"form", "qijue"}, {"seed", 2}});
    EXPECT_TRUE(fs::exists(dir / "poem.txt"));
    EXPECT_TRUE(fs::exists(dir / "poem.json"));
    EXPECT_EQ(r.files.size(), 2u);
    fs::path bad = dir / "bad";
    ctx.out_dir = bad.string();
    EXPECT_THROW(run({{"form", "qijue"}, {"acrostic", "一二"}}), Error);
    EXPECT_FALSE(fs::exists(bad / "poem.txt"));
    fs::remove_all(dir);
}

TEST_F(Fixture, EvalReportsFullCompliance) {
    json rows = eval_poems({"wujue", "ci:清平乐"}, 5, random_model(), "pingshui", ctx);
    ASSERT_EQ(rows.size(), 2u);
    for (const auto& row : rows) {
        EXPECT_EQ(row["full_compliance"], 1.0) << row.dump();
        EXPECT_EQ(row["line_length_accuracy"], 1.0);
        EXPECT_GT(row["distinct_2"].get<double>(), 0.5);
    }
}

// The rhyme characters of a generated poem per rhyme set ((letter, tone) -> line ends), read
// against the form's first variant (词 have one).
std::map<std::pair<char, char>, std::vector<char32_t>> rhyme_sets(const FormDef& f, const std::string& text) {
    auto lines = split_verse(text);
    const FormVariant& v = f.variants[0];
    std::map<std::pair<char, char>, std::vector<char32_t>> sets;
    EXPECT_EQ(lines.size(), v.lines.size()) << text;
    for (size_t i = 0; i < lines.size() && i < v.lines.size(); ++i) {
        if (v.lines[i].rhyme != 0) sets[{v.lines[i].rhyme, v.lines[i].rhyme_tone()}].push_back(lines[i].back());
    }
    return sets;
}

// The 平水韵 keys (groups, or 词林正韵 部 when `ci`) every character of `ends` shares.
std::vector<int> shared_keys(const std::vector<char32_t>& ends, uint8_t tone, bool ci) {
    const Prosody& p = Prosody::get();
    std::vector<int> shared = p.rhyme_keys(ends[0], RhymeBook::Pingshui, tone, ci);
    for (char32_t e : ends) {
        auto k = p.rhyme_keys(e, RhymeBook::Pingshui, tone, ci);
        std::erase_if(shared, [&](int x) { return std::find(k.begin(), k.end(), x) == k.end(); });
    }
    return shared;
}

// 词 that rhyme on 仄 under 平水韵 (its 仄声 groups, judged by 词林正韵 部 as 词 are): every
// sample keeps each 仄 rhyme set in one 部, every rhyme character has a 平水韵 仄 group.
TEST_F(Fixture, ZeRhymingCiKeepOneGroupOnRandomWeights) {
    int ze_sets = 0;
    for (const char* name : {"ci:如梦令", "ci:卜算子", "ci:蝶恋花", "ci:念奴娇", "ci:满江红", "ci:西江月", "ci:菩萨蛮"}) {
        const FormDef* f = find_zh_form(name);
        ASSERT_NE(f, nullptr) << name;
        for (int seed = 1; seed <= 4; ++seed) {
            ArtResult r = run({{"form", name}, {"seed", seed}, {"rhyme", "pingshui"}});
            CheckResult c = check_zh(*f, r.text, RhymeBook::Pingshui);
            EXPECT_TRUE(c.ok()) << name << " seed " << seed << "\n" << r.text << "\n" << faults_of(c);
            // Independently of the checker: every 仄 rhyme set's characters share one 词林正韵 部
            // and each has a 平水韵 仄 group.
            for (const auto& [id, ends] : rhyme_sets(*f, r.text)) {
                if (id.second != 'Z') continue;
                ++ze_sets;
                for (char32_t e : ends) {
                    EXPECT_FALSE(Prosody::get().rhyme_keys(e, RhymeBook::Pingshui, kZe, false).empty()) << to_utf8(e);
                }
                EXPECT_FALSE(shared_keys(ends, kZe, true).empty()) << name << " seed " << seed << " set " << id.first << "\n" << r.text;
            }
        }
    }
    EXPECT_GE(ze_sets, 28);
}

// Under pingshui-strict the constraint holds every rhyme set of a 词 to one 平水韵 group (仄 and
// 平 sets alike, 上 and 去 apart): checked by the strict checker and, independently, by
// intersecting the rhyme characters' groups.
TEST_F(Fixture, StrictBookKeepsCiRhymeSetsInOneGroup) {
    int sets_seen = 0;
    for (const char* name : {"ci:如梦令", "ci:满江红", "ci:西江月", "ci:菩萨蛮"}) {
        const FormDef* f = find_zh_form(name);
        ASSERT_NE(f, nullptr) << name;
        for (int seed = 1; seed <= 3; ++seed) {
            ArtResult r = run({{"form", name}, {"seed", seed}, {"rhyme", "pingshui-strict"}});
            CheckResult c = check_zh(*f, r.text, RhymeBook::PingshuiStrict);
            EXPECT_TRUE(c.ok()) << name << " seed " << seed << "\n" << r.text << "\n" << faults_of(c);
            for (const auto& [id, ends] : rhyme_sets(*f, r.text)) {
                ++sets_seen;
                EXPECT_FALSE(shared_keys(ends, id.second == 'P' ? kPing : kZe, false).empty())
                    << name << " seed " << seed << " set " << id.first << "\n" << r.text;
            }
        }
    }
    EXPECT_GE(sets_seen, 20);
}

// 古体 at the shortest, a middle and the longest line count, rhyming 平 and 仄, under every rhyme
// book: valid by the checker and, independently, by the rhyme characters themselves — distinct,
// of the asked tone, sharing one rhyme key as 古体 reads them (a 平水韵 group or a 词林正韵 部;
// one group under pingshui-strict; a 中华新韵 group).
TEST_F(Fixture, GuFormsValidOnRandomWeights) {
    const Prosody& p = Prosody::get();
    int seed = 0;
    for (const char* name : {"wugu", "qigu"}) {
        for (int lines : {kGuMinLines, 10, kGuMaxLines}) {
            for (const std::string tone : {"ping", "ze"}) {
                for (const char* book : {"pingshui", "pingshui-strict", "xinyun"}) {
                    ArtResult r = run({{"form", name}, {"lines", lines}, {"tone_rhyme", tone}, {"rhyme", book},
                                       {"seed", ++seed}});
                    const std::string where = fmt::format("{} {} lines {} {} seed {}\n{}", name, lines, tone, book,
                                                          seed, r.text);
                    const RhymeBook b = parse_rhyme_book(book);
                    CheckResult c = check_gu(name, r.text, b, lines, tone);
                    EXPECT_TRUE(c.ok()) << where << "\n" << faults_of(c);
                    EXPECT_EQ(r.request["lines"], lines);
                    const auto verse = split_verse(r.text);
                    ASSERT_EQ(verse.size(), static_cast<size_t>(lines)) << where;
                    for (const auto& l : verse) EXPECT_EQ(l.size(), std::string(name) == "wugu" ? 5u : 7u) << where;
                    // The even lines (line 1 may rhyme or not, and a character the table gives
                    // no group there is not judged, so the checker alone speaks for it).
                    std::vector<char32_t> ends;
                    for (size_t i = 1; i < verse.size(); i += 2) ends.push_back(verse[i].back());
                    EXPECT_EQ(std::set<char32_t>(ends.begin(), ends.end()).size(), ends.size()) << where;
                    const uint8_t t = tone == "ping" ? kPing : kZe;
                    std::vector<int> shared = p.rhyme_keys(ends[0], b, t, RhymeReading::GroupOrBu);
                    for (char32_t e : ends) {
                        EXPECT_NE(p.tone(e, b) & t, 0) << to_utf8(e) << " " << where;
                        const auto k = p.rhyme_keys(e, b, t, RhymeReading::GroupOrBu);
                        std::erase_if(shared, [&](int x) { return std::find(k.begin(), k.end(), x) == k.end(); });
                    }
                    EXPECT_FALSE(shared.empty()) << where;
                    if (b == RhymeBook::PingshuiStrict) {  // the key is a 平水韵 group itself
                        for (int k : shared) EXPECT_LT(k, 106) << where;
                    }
                }
            }
        }
    }
}

// 换韵 and 杂言 on random weights: every stanza layout, tone rule and rhyme book gives poems the
// checker passes with the same options, across seeds; and, independently of the checker, each
// stanza's rhymes are distinct, of its tone and share a rhyme key, while two neighbouring stanzas'
// rhyme characters (first lines included) share none — the rhyme really changes.
TEST_F(Fixture, StanzasChangeRhymeOnRandomWeights) {
    const Prosody& p = Prosody::get();
    struct Layout {
        const char* form;
        const char* stanzas;
        int lines;
        const char* pattern;  // zayan
    };
    const Layout layouts[] = {
        {"wugu", "2", 12, nullptr},
        {"qigu", "4", 24, nullptr},
        {"wugu", "4,8,4", 16, nullptr},
        {"qigu", "2,6,4", 12, nullptr},
        {"zayan", "4", 8, "3,3,7,7,5,5,9,9"},
        {"zayan", "2,4,2", 8, "7,7,3,3,5,5,7,7"},
        {"zayan", "6,6", 12, "3,3,5,5,7,7,3,3,5,5,7,7"},
    };
    int seed = 0, poems = 0;
    for (const Layout& l : layouts) {
        for (const char* tone : {"any", "alternate", "ping", "ze"}) {
            for (const char* book : {"pingshui", "pingshui-strict", "xinyun"}) {
                json req = {{"form", l.form}, {"stanzas", l.stanzas}, {"tone_rhyme", tone},
                            {"rhyme", book},  {"seed", ++seed},       {"n", 2}};
                GuOptions opt{.tone_rhyme = tone, .stanzas = l.stanzas};
                if (l.pattern != nullptr) {
                    opt.pattern = l.pattern;
                    req["pattern"] = l.pattern;
                } else {
                    req["lines"] = l.lines;
                }
                ArtResult r = run(req);
                const RhymeBook b = parse_rhyme_book(book);
                for (const Candidate& cand : r.candidates) {
                    ++poems;
                    const std::string where = fmt::format("{} stanzas {} {} {} seed {}\n{}", l.form,
                                                          l.stanzas, tone, book, seed, cand.text);
                    CheckResult c = check_gu(l.form, cand.text, b, opt);
                    EXPECT_TRUE(c.ok()) << where << "\n" << faults_of(c);
                    EXPECT_EQ(c.variant.substr(0, 6), "换韵") << where;
                    const auto verse = split_verse(cand.text);
                    ASSERT_EQ(verse.size(), static_cast<size_t>(l.lines)) << where;
                    const FormDef* f = find_zh_form_for(req);
                    for (size_t i = 0; i < verse.size(); ++i)
                        EXPECT_EQ(static_cast<int>(verse[i].size()), f->variants[0].lines[i].length)
                            << where;
                    // Stanza by stanza: the tone of its rhymes and the keys of all its rhyme
                    // characters (even lines, and the first line when it has a key of that tone).
                    uint8_t prev_tone = 0;
                    std::vector<int> prev_keys;
                    for (const FormStanza& st : f->stanzas) {
                        const size_t first = static_cast<size_t>(st.first_line),
                                     n = st.variants[0].lines.size();
                        const uint8_t t = p.tone(verse[first + 1].back(), b);
                        ASSERT_TRUE(t == kPing || t == kZe)
                            << where;  // a rhyme never has both tones here
                        const std::string want = tone;
                        if (want == "ping" || want == "ze") {
                            EXPECT_EQ(t, want == "ping" ? kPing : kZe) << where;
                        } else if (want == "alternate" && prev_tone != 0) {
                            EXPECT_NE(t, prev_tone) << where;
                        }
                        std::set<char32_t> ends;
                        std::optional<std::vector<int>> shared;
                        for (size_t i = first; i < first + n; ++i) {
                            const auto k =
                                p.rhyme_keys(verse[i].back(), b, t, RhymeReading::GroupOrBu);
                            if (i % 2 == 0 && (i != first || k.empty())) continue;
                            if (i % 2 == 1) {
                                EXPECT_TRUE(ends.insert(verse[i].back()).second)
                                    << "repeated rhyme " << where;
                                EXPECT_NE(p.tone(verse[i].back(), b) & t, 0) << where;
                            }
                            if (!shared) shared = k;
                            std::erase_if(*shared, [&](int x) {
                                return std::find(k.begin(), k.end(), x) == k.end();
                            });
                        }
                        // The even lines share a key (a first line may not rhyme: not required).
                        std::vector<int> even;
                        for (size_t i = first + 1; i < first + n; i += 2) {
                            const auto k =
                                p.rhyme_keys(verse[i].back(), b, t, RhymeReading::GroupOrBu);
                            if (i == first + 1) even = k;
                            std::erase_if(even, [&](int x) {
                                return std::find(k.begin(), k.end(), x) == k.end();
                            });
                        }
                        EXPECT_FALSE(even.empty()) << where;
                        // No key common to this stanza's and the last one's rhymes (with first
                        // lines).
                        if (!prev_keys.empty()) {
                            std::vector<int> both = shared.value_or(std::vector<int>{});
                            std::erase_if(both, [&](int x) {
                                return std::find(prev_keys.begin(), prev_keys.end(), x) ==
                                       prev_keys.end();
                            });
                            EXPECT_TRUE(both.empty())
                                << "kept rhyme " << Prosody::key_name(both.empty() ? 0 : both[0])
                                << " " << where;
                        }
                        prev_keys = shared.value_or(std::vector<int>{});
                        prev_tone = t;
                    }
                }
            }
        }
    }
    EXPECT_EQ(poems, 7 * 4 * 3 * 2);
}

TEST_F(Fixture, GuAcrosticAndEval) {
    ArtResult r = run({{"form", "qigu"}, {"lines", 6}, {"acrostic", "春江花月夜明"}, {"seed", 3}, {"n", 2}});
    const auto verse = split_verse(r.text);
    ASSERT_EQ(verse.size(), 6u) << r.text;
    for (size_t i = 0; i < verse.size(); ++i) EXPECT_EQ(verse[i][0], U"春江花月夜明"[i]) << r.text;
    EXPECT_TRUE(check_gu("qigu", r.text, RhymeBook::Pingshui, 6, "any").ok()) << r.text;
    // Both rhyme tones by default (each candidate draws one), every count held.
    json rows = eval_poems({"wugu", "qigu"}, 6, random_model(), "pingshui", ctx, {.lines = 12});
    ASSERT_EQ(rows.size(), 2u);
    for (const auto& row : rows) {
        EXPECT_EQ(row["full_compliance"], 1.0) << row.dump();
        EXPECT_EQ(row["line_length_accuracy"], 1.0) << row.dump();
        EXPECT_EQ(row["rhyme_accuracy"], 1.0) << row.dump();
    }
    std::set<std::string> readings;
    for (int seed = 1; seed <= 8; ++seed) {
        readings.insert(run({{"form", "wugu"}, {"seed", seed}}).scores["opening"].get<std::string>().substr(0, 6));
    }
    EXPECT_EQ(readings, (std::set<std::string>{"平韵", "仄韵"}));
}

// A vocabulary of a handful of characters: 平 and 仄 ones (so the constraint can be built), but no
// 仄 rhyme group with six characters for 如梦令's rhyme lines.
const char* kTinyChars = "，。\n形式:题无如梦令花春山天月竹";

TEST_F(Fixture, DeadEndIsOneClearError) {
    // The constraint alone: pick the first allowed token until it reports the dead end.
    auto tok = model::build_char_vocab(kTinyChars, 0);
    auto vocab = make_zh_vocab(*tok, RhymeBook::Pingshui, RhymeReading::Bu);
    const FormDef* f = find_zh_form("ci:如梦令");
    ASSERT_NE(f, nullptr);
    ZhConstraint c(*f, f->variants[0], RhymeBook::Pingshui, U"", vocab);
    gen::CandidateSet set;
    int steps = 0;
    while (c.dead_end().empty() && !c.done() && steps++ < 100) {
        set.items.clear();
        for (model::TokenId id = 0; id < tok->n_vocab(); ++id) set.items.push_back({id, 0.0f, 0.0f});
        c.apply(set);
        model::TokenId pick = -1;
        for (const auto& x : set.items) {
            if (x.logit != -std::numeric_limits<float>::infinity()) {
                pick = x.id;
                break;
            }
        }
        ASSERT_GE(pick, 0);
        if (!c.dead_end().empty()) {
            // Only end-of-text is left, so the run stops.
            EXPECT_EQ(pick, tok->eos());
            break;
        }
        c.accept(pick);
    }
    EXPECT_EQ(c.dead_end(),
              "line 1, char 6: no pingshui rhyme group has enough 仄 characters in the vocabulary for the 6 "
              "lines of rhyme set A");
    c.reset();
    EXPECT_TRUE(c.dead_end().empty());

    // Through write_poem: an error, no poem and no files.
    fs::path dir = fs::temp_directory_path() / ("lyra_ze_dead_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    ctx.out_dir = dir.string();
    const std::string model = char_model(kTinyChars, "tiny");
    try {
        write_poem({{"form", "ci:如梦令"}, {"seed", 1}, {"model", model}}, ctx);
        ADD_FAILURE() << "expected a dead-end error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find(
                      "poem: dead end in 词·如梦令 at line 1, char 6: no pingshui rhyme group has enough 仄 characters "
                      "in the vocabulary for the 6 lines of rhyme set A; expected a model vocabulary that can fill "
                      "the form"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_FALSE(fs::exists(dir / "poem.txt"));
    EXPECT_FALSE(fs::exists(dir / "poem.json"));
    fs::remove_all(dir);
    fs::remove(model);
}

}  // namespace
}  // namespace lyra::art::poetry
