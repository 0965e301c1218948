// `lyra generate` as a user runs it, on the shipped model (models/tiny-shakespeare-char.gguf).
#include <algorithm>
#include <cctype>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "art/poetry/en/pronounce.h"
#include "art/poetry/prosody.h"
#include "cli_runner.h"

namespace lyra::e2e {
namespace {

using Args = std::vector<std::string>;

Args gen_args(Args extra) {
    Args a = {"generate", "-m", shipped_model(), "-p", "ROMEO:\n", "--threads", "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

nlohmann::json run_json(const Args& args) {
    const RunResult r = run_lyra(args);
    EXPECT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
    try {
        return nlohmann::json::parse(r.out);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.out << "\nrepro: " << repro(args);
        return {};
    }
}

TEST(GenerateCli, WritesTextOnTheShippedModel) {
    const Args args = gen_args({"--max-tokens", "24", "--seed", "1"});
    const RunResult r = run_lyra(args);
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
    EXPECT_GT(r.out.size(), 1u);  // text, then the closing newline
    EXPECT_EQ(r.out.back(), '\n');
    EXPECT_EQ(r.err, "");
}

TEST(GenerateCli, JsonHasTheContractKeys) {
    const auto j = run_json(gen_args({"--max-tokens", "12", "--seed", "3", "-n", "2", "--json"}));
    for (const char* key : {"text", "tokens", "finish_reason", "timings", "seed", "model",
                            "candidates", "sampler", "options"}) {
        EXPECT_TRUE(j.contains(key)) << key << " missing in " << j.dump();
    }
    EXPECT_EQ(j["seed"], 3);
    EXPECT_NE(j["model"].get<std::string>().find("tiny-shakespeare-char.gguf"), std::string::npos);
    for (const char* key : {"t_prefill_us", "t_decode_us", "n_prompt", "n_gen", "prefill_tok_s",
                            "decode_tok_s"}) {
        EXPECT_TRUE(j["timings"].contains(key)) << key;
    }
    EXPECT_EQ(j["timings"]["n_prompt"], 8);  // BOS + "ROMEO:\n", one token per character
    ASSERT_EQ(j["candidates"].size(), 2u);
    EXPECT_EQ(j["candidates"][0]["seed"], 3);
    EXPECT_EQ(j["candidates"][1]["seed"], 4);
    EXPECT_EQ(j["candidates"][0]["tokens"], j["tokens"]);
    for (const auto& c : j["candidates"]) {
        const std::string why = c["finish_reason"];
        EXPECT_TRUE(why == "length" || why == "eos") << why;
        if (why == "length") {
            EXPECT_EQ(c["tokens"].size(), 12u);
        } else {
            EXPECT_LE(c["tokens"].size(), 12u);
        }
    }
}

TEST(GenerateCli, SameSeedSameTextDifferentSeedDifferentText) {
    const auto a = run_json(gen_args({"--max-tokens", "32", "--seed", "7", "--json"}));
    const auto b = run_json(gen_args({"--max-tokens", "32", "--seed", "7", "--json"}));
    const auto c = run_json(gen_args({"--max-tokens", "32", "--seed", "8", "--json"}));
    EXPECT_EQ(a["tokens"], b["tokens"]);
    EXPECT_EQ(a["text"], b["text"]);
    EXPECT_NE(a["tokens"], c["tokens"]);
}

TEST(GenerateCli, ThreadCountDoesNotChangeTheText) {
    Args one = {"generate", "-m", shipped_model(), "-p", "JULIET:\n", "--max-tokens", "32",
                "--seed", "11", "--json", "--threads", "1"};
    Args two = one;
    two.back() = "2";
    EXPECT_EQ(run_json(one)["tokens"], run_json(two)["tokens"]);
    // Greedy too (argmax is where float differences would show first).
    one.insert(one.end(), {"--temperature", "0"});
    two.insert(two.end(), {"--temperature", "0"});
    EXPECT_EQ(run_json(one)["tokens"], run_json(two)["tokens"]);
}

// --kv-type (issue 2): f16 is the default, f32 the exact alternative and q8_0 the smallest; each
// is recorded in the JSON options, and anything else is a usage error naming the flag.
TEST(GenerateCli, KvTypeIsAnOptionAndF16TheDefault) {
    const auto dflt = run_json(gen_args({"--max-tokens", "16", "--temperature", "0", "--json"}));
    const auto f16 = run_json(gen_args({"--max-tokens", "16", "--temperature", "0", "--json", "--kv-type", "f16"}));
    const auto f32 = run_json(gen_args({"--max-tokens", "16", "--temperature", "0", "--json", "--kv-type", "f32"}));
    const auto q8 = run_json(gen_args({"--max-tokens", "16", "--temperature", "0", "--json", "--kv-type", "q8_0"}));
    EXPECT_EQ(dflt["options"]["kv_type"], "f16");
    EXPECT_EQ(f16["options"]["kv_type"], "f16");
    EXPECT_EQ(f32["options"]["kv_type"], "f32");
    EXPECT_EQ(q8["options"]["kv_type"], "q8_0");
    EXPECT_EQ(dflt["tokens"], f16["tokens"]);
    EXPECT_EQ(f32["tokens"].size(), 16u);
    EXPECT_EQ(q8["tokens"].size(), 16u);
    const Args bad = gen_args({"--kv-type", "q4_0"});
    const RunResult r = run_lyra(bad);
    EXPECT_EQ(r.code, 2) << r.err << "\nrepro: " << repro(bad);
    EXPECT_NE(r.err.find("--kv-type"), std::string::npos) << r.err;
}

TEST(GenerateCli, StreamedTextEqualsTheNonStreamedText) {
    const RunResult s = run_lyra(gen_args({"--max-tokens", "40", "--seed", "5"}));
    const RunResult n = run_lyra(gen_args({"--max-tokens", "40", "--seed", "5", "--no-stream"}));
    ASSERT_EQ(s.code, 0) << s.err;
    EXPECT_EQ(s.out, n.out);
}

// --logit-bias -100 on the greedy text's first token: that token appears nowhere in the new
// text, and --json records the bias.
TEST(GenerateCli, LogitBiasBansAToken) {
    const auto plain = run_json(gen_args({"--max-tokens", "24", "--temperature", "0", "--json"}));
    const int first = plain["tokens"][0].get<int>();
    const auto banned = run_json(gen_args({"--max-tokens", "24", "--temperature", "0", "--json",
                                           "--logit-bias", std::to_string(first) + "=-100"}));
    for (const auto& t : banned["tokens"]) EXPECT_NE(t.get<int>(), first) << banned.dump();
    EXPECT_EQ(banned["options"]["logit_bias"][std::to_string(first)], -100.0);
    EXPECT_EQ(banned["sampler"].get<std::string>().rfind("logit-bias -> ", 0), 0u) << banned["sampler"];
}

TEST(GenerateCli, StopStringCutsTheOutput) {
    // Find a short piece of the seed-5 text and use it as the stop string: the output must be
    // everything before its first occurrence, and the finish reason "stop".
    const Args base = gen_args({"--max-tokens", "40", "--seed", "5", "--no-stream"});
    const RunResult full = run_lyra(base);
    ASSERT_EQ(full.code, 0) << full.err;
    const std::string text = full.out.substr(0, full.out.size() - 1);  // drop the newline
    ASSERT_GE(text.size(), 16u);
    std::string stop;
    for (size_t at = 8; at + 2 <= text.size() && stop.empty(); ++at) {
        const std::string cand = text.substr(at, 2);
        if (cand.find('\0') == std::string::npos) stop = cand;
    }
    ASSERT_FALSE(stop.empty());
    const std::string expect = text.substr(0, text.find(stop));

    Args with_stop = base;
    with_stop.insert(with_stop.end(), {"--stop", stop, "--stop", "\x01never\x02"});
    const RunResult cut = run_lyra(with_stop);
    ASSERT_EQ(cut.code, 0) << cut.err;
    EXPECT_EQ(cut.out, expect + "\n") << "repro: " << repro(with_stop);

    with_stop.push_back("--json");
    const RunResult j = run_lyra(with_stop);
    EXPECT_EQ(nlohmann::json::parse(j.out)["finish_reason"], "stop");
}

TEST(GenerateCli, GreedyIsReproducibleWithoutASeed) {
    const auto a = run_json(gen_args({"--max-tokens", "16", "--temperature", "0", "--json"}));
    const auto b = run_json(gen_args({"--max-tokens", "16", "--temperature", "0", "--json"}));
    EXPECT_EQ(a["tokens"], b["tokens"]);
    EXPECT_EQ(a["sampler"], "greedy");
}

TEST(GenerateCli, FindsTheShippedModelWithoutDashMFromAnotherDirectory) {
    TempDir cwd;
    const Args args = {"generate", "-p", "KING:", "--max-tokens", "4", "--seed", "1", "--json"};
    const RunResult r = run_lyra(args, cwd.path().string());
    ASSERT_EQ(r.code, 0) << r.err << "\nrepro: cd " << cwd.path() << " && " << repro(args);
    EXPECT_NE(nlohmann::json::parse(r.out)["model"].get<std::string>().find(
                  "tiny-shakespeare-char.gguf"),
              std::string::npos);
    EXPECT_TRUE(cwd.empty());
}

TEST(GenerateCli, RegexConstrainsEvenAnUntrainedModel) {
    // The constraint engine (issue #4) rules out every token that would leave the language, so
    // a random model still writes a full match, then ends (EOS is the only way out of "c").
    const auto j = run_json(gen_args({"--regex", "(ab)+c", "--max-tokens", "16", "--seed", "1",
                                      "--json"}));
    const std::string text = j["text"];
    ASSERT_GE(text.size(), 3u) << text;
    EXPECT_EQ(text.back(), 'c') << text;
    for (size_t i = 0; i + 1 < text.size(); ++i) EXPECT_EQ(text[i], i % 2 == 0 ? 'a' : 'b') << text;
}

TEST(GenerateCli, TriggerLeavesTextFreeUntilItAppears) {
    // Free Shakespeare until the model writes ':' (after a blank line it names the next speaker),
    // then the regex governs: a space, three digits, a newline, and (without --release-at-end)
    // the end.
    auto args = [](Args extra) {
        Args a = {"generate", "-m", shipped_model(), "-p", "ROMEO:\nI will.\n\n", "--threads", "1",
                  "--regex", " [0-9]{3}\n", "--trigger", ":", "--max-tokens", "100", "--seed", "1", "--json"};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    };
    const auto j = run_json(args({}));
    const std::string text = j["text"];
    const size_t colon = text.find(':');
    ASSERT_NE(colon, std::string::npos) << text;
    EXPECT_GT(colon, 0u) << text;  // a free name came first
    EXPECT_EQ(text.size(), colon + 6) << text;
    EXPECT_EQ(text[colon + 1], ' ') << text;
    for (size_t i = colon + 2; i < colon + 5 && i < text.size(); ++i)
        EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(text[i]))) << text;
    EXPECT_EQ(text.back(), '\n') << text;
    EXPECT_EQ(j["finish_reason"], "eos");
    // --release-at-end: after the match the text runs on freely.
    const auto k = run_json(args({"--release-at-end"}));
    const std::string free_after = k["text"];
    EXPECT_EQ(free_after.substr(0, text.size()), text) << free_after;
    EXPECT_GT(free_after.size(), text.size()) << free_after;
}

TEST(GenerateCli, FormFileShapesThePoemModelsLines) {
    // The shipped Chinese poetry model under a form file: an acrostic head, a class at a
    // position, two rhyming lines, nothing after the last line. Checked on the text read back.
    TempDir d;
    const std::string form = (d.path() / "form.json").string();
    std::ofstream(form) << R"({"allowed": "，。\n天风山花云春中人来时年家东同空红深心情声明清月日水江秋夜归青楼高长白雨雪山)"
                           R"(一不无何有自相知千万里山上下前后开落满生飞香远",)"
                           R"( "classes": {"flat": "天风山花云春中人来时年家东同空红深心情声明清"},)"
                           R"( "rhyme_groups": ["东同中风空红", "花家来开", "天年前边烟"],)"
                           R"( "lines": [{"units": 5, "fixed": {"0": "春"}},)"
                           R"(           {"units": 5, "rhyme": "A", "classes": {"1": "flat"}},)"
                           R"(           {"units": 5}, {"units": 5, "rhyme": "A"}]})";
    const std::string model = (std::filesystem::path(env_or_empty("LYRA_SOURCE_DIR")) / "models/poetry-zh.gguf").string();
    const std::u32string flat = U"天风山花云春中人来时年家东同空红深心情声明清";
    const std::vector<std::u32string> groups = {U"东同中风空红", U"花家来开", U"天年前边烟"};
    for (const char* seed : {"1", "2", "3"}) {
        const Args args = {"generate", "-m", model, "-p", "", "--form", form, "--seed", seed, "--max-tokens", "80",
                           "--threads", "1", "--json"};
        const auto j = run_json(args);
        const std::string text = j["text"];
        std::vector<std::u32string> lines(1);
        for (char32_t c : art::poetry::to_u32(text)) {
            if (c == U'\n') lines.emplace_back();
            else if (c != U'，' && c != U'。') lines.back() += c;
        }
        ASSERT_EQ(lines.size(), 4u) << text << "\nrepro: " << repro(args);
        for (const auto& l : lines) EXPECT_EQ(l.size(), 5u) << text;
        EXPECT_EQ(lines[0][0], U'春') << text;
        EXPECT_NE(flat.find(lines[1][1]), std::u32string::npos) << text;
        bool rhymes = false;
        for (const auto& g : groups)
            rhymes = rhymes || (g.find(lines[1][4]) != std::u32string::npos && g.find(lines[3][4]) != std::u32string::npos);
        EXPECT_TRUE(rhymes) << text;
        EXPECT_EQ(j["finish_reason"], "eos") << text;  // closed: the form's end is the text's end
    }
}

TEST(GenerateCli, SyllableFormCountsWithTheCmuDictionary) {
    // The shipped English verse model under a 5/7/5 syllable form counted with the CMU dictionary
    // (and its guess for words it lacks). The test recounts each line itself, word by word.
    TempDir d;
    const std::string form = (d.path() / "haiku.json").string();
    std::ofstream(form) << R"({"unit": "syllable", "dictionary": "cmu",)"
                           R"( "allowed": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ,'",)"
                           R"( "lines": [{"units": 5}, {"units": 7}, {"units": 5}]})";
    const std::string model = (std::filesystem::path(env_or_empty("LYRA_SOURCE_DIR")) / "models/verse-en.gguf").string();
    const auto dict = art::poetry::en::cmu_syllables();
    for (const char* seed : {"1", "2"}) {
        const Args args = {"generate", "-m", model, "-p", "", "--form", form, "--seed", seed, "--max-tokens", "200",
                           "--threads", "1", "--json"};
        const auto j = run_json(args);
        const std::string text = j["text"];
        std::vector<std::string> lines(1);
        for (char c : text) {
            if (c == '\n') lines.emplace_back();
            else lines.back() += c;
        }
        ASSERT_EQ(lines.size(), 3u) << text << "\nrepro: " << repro(args);
        for (size_t i = 0; i < 3; ++i) {
            // Every reading of every word: the totals the line can have.
            uint64_t totals = 1;
            std::string word;
            for (size_t k = 0; k <= lines[i].size(); ++k) {
                const char c = k < lines[i].size() ? lines[i][k] : ' ';
                if (std::isalnum(static_cast<unsigned char>(c)) || (c == '\'' && !word.empty())) {
                    word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                } else if (!word.empty()) {
                    const uint64_t counts = dict->counts(word);
                    uint64_t next = 0;
                    for (int s = 0; s < 64; ++s)
                        if ((totals >> s) & 1) next |= counts << s;
                    totals = next;
                    word.clear();
                }
            }
            const int target = i == 1 ? 7 : 5;
            EXPECT_TRUE((totals >> target) & 1) << "line " << i + 1 << ": '" << lines[i] << "'\n" << text;
        }
        EXPECT_EQ(j["finish_reason"], "eos") << text;
    }
}

// Each bad input: exactly one line on stderr, nothing on stdout, the contract's exit code,
// and no file left in the working directory.
struct BadCase {
    const char* name;
    std::vector<std::string> args;  // after "generate"
    int code;
    const char* says;  // a fragment the message must contain
};

// Keeps CTest's test names readable ("... # GetParam() = MaxTokensZero").
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class GenerateBadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(GenerateBadInput, OneStderrLineAndTheContractExitCode) {
    const BadCase& c = GetParam();
    TempDir cwd;
    std::filesystem::path not_gguf = cwd.path() / "notes.txt";
    std::ofstream(not_gguf) << "just some text, not a model\n";
    Args args = {"generate"};
    for (auto a : c.args) {
        if (a == "@NOT_GGUF") a = not_gguf.string();
        if (a == "@MODEL") a = shipped_model();
        args.push_back(a);
    }
    const RunResult r = run_lyra(args, cwd.path().string());
    EXPECT_EQ(r.code, c.code) << r.err << "\nrepro: " << repro(args);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
    std::filesystem::remove(not_gguf);
    EXPECT_TRUE(cwd.empty()) << "files left behind in " << cwd.path();
}

const std::string kLongPrompt(400, 'a');  // the shipped model's context is 256

INSTANTIATE_TEST_SUITE_P(
    Cases, GenerateBadInput,
    ::testing::Values(
        BadCase{"MissingModelFile", {"-m", "no-such-model.gguf", "-p", "x"}, 1, "no-such-model.gguf"},
        BadCase{"NotAGgufFile", {"-m", "@NOT_GGUF", "-p", "x"}, 1, "bad magic"},
        BadCase{"UnknownFlag", {"-m", "@MODEL", "-p", "x", "--no-such-flag"}, 2, "--no-such-flag"},
        BadCase{"PromptLongerThanContext", {"-m", "@MODEL", "-p", kLongPrompt}, 1, "context"},
        // A flag value out of its range is a usage error (exit 2).
        BadCase{"MaxTokensZero", {"-m", "@MODEL", "-p", "x", "--max-tokens", "0"}, 2, "--max-tokens"},
        BadCase{"MaxTokensNegative", {"-m", "@MODEL", "-p", "x", "--max-tokens", "-3"}, 2, "--max-tokens"},
        BadCase{"TopPOutOfRange", {"-m", "@MODEL", "-p", "x", "--top-p", "1.5"}, 2, "--top-p"},
        // The command line is well formed but the prompt's bytes are bad input (exit 1), like
        // a bad model file; the message names the byte offset.
        BadCase{"InvalidUtf8Prompt", {"-m", "@MODEL", "-p", "ab\xff" "cd"}, 1, "byte offset 2"},
        BadCase{"MissingPrompt", {"-m", "@MODEL"}, 2, "--prompt"},
        BadCase{"MalformedRegex", {"-m", "@MODEL", "-p", "x", "--regex", "(ab"}, 1, "regex"},
        BadCase{"TwoConstraints", {"-m", "@MODEL", "-p", "x", "--regex", "a", "--grammar", "g.gbnf"}, 2, "excludes"},
        BadCase{"TriggerWithoutConstraint", {"-m", "@MODEL", "-p", "x", "--trigger", ":"}, 2, "--trigger"},
        BadCase{"LogitBiasWithoutEquals", {"-m", "@MODEL", "-p", "x", "--logit-bias", "12"}, 2, "ID=BIAS"},
        BadCase{"LogitBiasOutOfRange", {"-m", "@MODEL", "-p", "x", "--logit-bias", "12=-101"}, 2, "ID=BIAS"},
        BadCase{"LogitBiasPastTheVocabulary", {"-m", "@MODEL", "-p", "x", "--logit-bias", "99999=1"}, 1,
                "outside the model's vocabulary"},
        BadCase{"LogitBiasTwice", {"-m", "@MODEL", "-p", "x", "--logit-bias", "5=1", "--logit-bias", "5=2"}, 1,
                "given twice"},
        BadCase{"FormFileMissing", {"-m", "@MODEL", "-p", "x", "--form", "no-form.json"}, 1, "no-form.json"},
        BadCase{"FormFileNotAForm", {"-m", "@MODEL", "-p", "x", "--form", "@NOT_GGUF"}, 1, "not valid JSON"},
        BadCase{"FormWithRegex", {"-m", "@MODEL", "-p", "x", "--form", "f.json", "--regex", "a"}, 2, "excludes"}),
    [](const ::testing::TestParamInfo<BadCase>& p) { return std::string(p.param.name); });

// Whole-number flags of every command share one bounded check: a word or a fraction is "expected
// an integer", a number outside the bounds says them, each in one stderr line with exit 2 (CLI11's
// Range said "Value abc not in range 0 to 65535" for a word).
TEST(Cli, IntegerFlagsSayWhatIsWrong) {
    const std::pair<Args, const char*> cases[] = {
        {{"serve", "--port", "abc"}, "--port: expected an integer, got 'abc'"},
        {{"serve", "--port", "70000"}, "--port: out of range; expected 0 to 65535, got 70000"},
        {{"serve", "--max-n", "1.5"}, "--max-n: expected an integer, got '1.5'"},
        {{"gallery", "list", "--limit", "0"}, "--limit: out of range; expected 1 to 1000, got 0"},
        {{"paint", "eval", "--count", "many"}, "--count: expected an integer, got 'many'"},
        {{"train", "--threads", "-1", "recipe.toml"}, "--threads: out of range; expected 0 to 1024, got -1"},
    };
    for (const auto& [args, message] : cases) {
        const RunResult r = run_lyra(args);
        EXPECT_EQ(r.code, 2) << r.err << "\nrepro: " << repro(args);
        EXPECT_NE(r.err.find(message), std::string::npos) << r.err << "\nrepro: " << repro(args);
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_EQ(r.err.find("not in range"), std::string::npos) << r.err;
    }
}

}  // namespace
}  // namespace lyra::e2e
