// Helpers for the constraint tests: tiny random-weight models (byte or character vocabularies)
// written to a per-test temp directory, grammar files from grammars/, and a constrained
// generation loop over the library's Generator.
#pragma once

// GCC 12 reports a false -Wrestrict on short string concatenations (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

#include <unistd.h>

#include <cstdio>
#include <vector>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/thread_pool.h"
#include "generate/constraint/constraint.h"
#include "generate/generator.h"
#include "generate/sampler.h"
#include "model/init.h"
#include "model/model.h"
#include "model/tokenizer/char_vocab.h"
#include "model/tokenizer/vocab.h"

namespace lyra::gen::constraint::testing {

// Builds `c` from `logits` through `s` as SamplerChain::sample does for its first sampler: the
// sampler's own build (a constraint's bit rows applied while the set is written), else a plain
// reset and apply. Returns whether the build path was taken.
inline bool build_like_the_chain(Sampler& s, CandidateSet& c, std::span<const float> logits) {
    if (s.build(c, logits)) return true;
    c.reset(logits);
    s.apply(c);
    return false;
}

class TempDir {
public:
    // Named after the running test, or `name` (for suite-level fixtures, where there is none).
    explicit TempDir(const std::string& name = "") {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        const std::string tag = info != nullptr
                                    ? std::string(info->test_suite_name()) + "_" + info->name()
                                    : name;
        path_ = std::filesystem::temp_directory_path() /
                ("lyra_constraint_" + tag + "_" + std::to_string(getpid()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot read " << p;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::string grammar_file(const std::string& name) {
    // LYRA_SOURCE_DIR (set by ctest) first: __FILE__ is relative when ccache rewrites paths.
    const char* src = std::getenv("LYRA_SOURCE_DIR");
    const auto root = src ? std::filesystem::path(src)
                          : std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "..";
    return read_text(root / "grammars" / name);
}

// A llama model of dim 64 / 2 layers / 4 heads with random weights. init_std sets how peaked
// its next-token distributions are (larger = stronger, arbitrary preferences).
inline std::unique_ptr<model::Model> tiny_model(const TempDir& dir, const model::Tokenizer& tok,
                                                float init_std, uint64_t seed = 11) {
    model::InitOptions o;
    o.arch = model::Arch::Llama;
    o.n_embd = 64;
    o.n_layer = 2;
    o.n_head = 4;
    o.n_ctx = 512;
    o.seed = seed;
    o.init_std = init_std;
    const std::string path = dir.file("m" + std::to_string(seed) + ".gguf");
    model::init_model(o, tok, path);
    return model::Model::load(path);
}

// `n` sampled generations (seeds 0..n-1, temperature 1, no truncation) under a constraint with
// a status() (FormConstraint): each must end on its own, without a dead end. Returns the texts.
template <class C>
std::vector<std::string> sample_under(const model::Model& m, C& c, int n, int max_tokens, const std::string& prompt) {
    std::vector<std::string> out;
    core::ThreadPool pool(1);
    Generator gen(m, pool);
    for (int i = 0; i < n; ++i) {
        c.reset();
        const auto r = gen.run(prompt, {.max_tokens = max_tokens, .temperature = 1.0f, .top_k = 0, .top_p = 1.0f,
                                        .min_p = 0.0f, .seed = static_cast<uint64_t>(i), .threads = 1, .constraint = &c});
        EXPECT_NE(c.status(), ConstraintStatus::DeadEnd) << r.candidates[0].text;
        EXPECT_EQ(r.candidates[0].finish, FinishReason::Eos) << r.candidates[0].text;
        out.push_back(r.candidates[0].text);
    }
    return out;
}

// Text mixing ASCII and CJK, so the character vocabulary has multi-byte tokens.
inline std::string mixed_corpus() {
    return "{\"name\": \"李白\", \"age\": 61, \"tags\": [\"诗\", \"酒\"], \"ok\": true, "
           "\"x\": -3.25e+2, \"esc\": \"a\\\"b\\\\c\\n\", \"none\": null} 床前明月光，疑是地上霜。"
           "(1 + 2) * 3 / 4 - 5.5 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789";
}

// A SentencePiece-style vocabulary: <unk> <s> </s>, the 256 byte tokens, then `pieces` (multi-
// character strings; a ' ' is stored as "▁" as SentencePiece does).
inline std::unique_ptr<model::Tokenizer> piece_vocab(const std::vector<std::string>& pieces,
                                                     bool with_bytes = true) {
    model::Vocab v = model::default_vocab("llama");
    v.add_space_prefix = false;
    auto add = [&](std::string text, model::TokenType type, float score) {
        v.tokens.push_back(std::move(text));
        v.types.push_back(type);
        v.scores.push_back(score);
    };
    add("<unk>", model::TokenType::Unknown, 0.0f);
    add("<s>", model::TokenType::Control, 0.0f);
    add("</s>", model::TokenType::Control, 0.0f);
    if (with_bytes) {
        for (int b = 0; b < 256; ++b) {
            char name[8];
            std::snprintf(name, sizeof name, "<0x%02X>", b);
            add(name, model::TokenType::Byte, 0.0f);
        }
    }
    for (size_t i = 0; i < pieces.size(); ++i) {
        std::string p;
        for (char c : pieces[i]) p += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
        add(std::move(p), model::TokenType::Normal, -static_cast<float>(i));
    }
    return model::Tokenizer::from_vocab(std::move(v));
}

}  // namespace lyra::gen::constraint::testing
