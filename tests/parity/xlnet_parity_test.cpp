// XLNet parity (issue 10): tiny random-init XLNetLMHeadModel / XLNetModel directories
// (tests/unit/format/make_xlnet_fixture.py) are imported with import_hf, run by Lyra and compared
// with tests/parity/xlnet_reference.py, a float64 PyTorch XLNet in HF's layout. Per config:
//   two-stream:  14 tokens in three segments with a random factorization order (perm_mask) and
//                5 targets (target_mapping): the content stream [14, C] and the query stream's
//                logits; then 6 more tokens with the first call's mems (the last mem_len of
//                them), a second random order and 3 targets.
//   generation:  the logits of each prefix of a 12-token prompt in the bidirectional order
//                (everything recomputed, a dummy position no one sees), and in the causal order
//                (batched, then a 5-token second chunk with the prompt's memory).
//   greedy:      32 tokens equal to the reference's in both orders, straight through
//                Model::forward and through gen::generate (temperature 0, a text prompt), and in
//                the causal order also through a 24-position session that slides (keep_last).
// Tolerance: max|diff| <= 1e-4 x max|reference| for every figure (Lyra f32 vs the reference
// f64; observed below 2e-6 relative). One config also runs the reference with a detail broken
// on purpose (r_s_bias dropped; relative positions negated) and requires the comparison to miss
// by more than 100x the tolerance, so that the check sees those details.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "generate/generator.h"
#include "model/format/hf_import.h"
#include "model/model.h"
#include "model/xlnet.h"

namespace fs = std::filesystem;
using lyra::model::Model;
using lyra::model::Session;

namespace {

constexpr double kTol = 1e-4;  // relative to the largest reference value

struct XlnetCase {
    const char* name;
    const char* fixture_args;
    bool mutations = false;  // also prove the check sees r_s_bias and the position sign
};
void PrintTo(const XlnetCase& c, std::ostream* os) { *os << c.name; }

std::vector<float> read_f32(const std::string& path, size_t n) {
    std::vector<float> v(n);
    std::ifstream f(path, std::ios::binary);
    f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
    EXPECT_TRUE(f.good()) << "short reference output " << path;
    return v;
}

std::vector<int32_t> read_ids(const std::string& path) {
    std::ifstream f(path);
    std::vector<int32_t> ids;
    for (int32_t t = 0; f >> t;) ids.push_back(t);
    return ids;
}

// max|a - b| / max|b|
double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double diff = 0.0, scale = 1e-30;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
        scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
    }
    return a.size() == b.size() ? diff / scale : 1e30;
}

int32_t argmax(std::span<const float> row) {
    return static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

// A random factorization order as HF's perm_mask: i may not see j when j comes at or after i
// in the order (a content row still sees itself), and the last n_targets in the order are the
// targets. Segment ids split the tokens in three (XLNet's <cls> segment is 2).
struct TwoStreamCall {
    std::vector<int32_t> tokens, segments, targets;
    std::vector<uint8_t> mask;
};

TwoStreamCall random_call(std::mt19937& rng, int T, int n_targets, int64_t V, bool segments) {
    TwoStreamCall c;
    std::uniform_int_distribution<int32_t> tok(7, static_cast<int32_t>(V - 1));
    for (int i = 0; i < T; ++i) c.tokens.push_back(tok(rng));
    if (segments)
        for (int i = 0; i < T; ++i) c.segments.push_back(i < T / 2 ? 0 : i + 1 < T ? 1 : 2);
    std::vector<int> order(static_cast<size_t>(T));
    for (int i = 0; i < T; ++i) order[static_cast<size_t>(i)] = i;
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<int> rank(static_cast<size_t>(T));
    for (int i = 0; i < T; ++i) rank[static_cast<size_t>(order[static_cast<size_t>(i)])] = i;
    for (int i = 0; i < T; ++i)
        for (int j = 0; j < T; ++j) c.mask.push_back(rank[static_cast<size_t>(j)] >= rank[static_cast<size_t>(i)] ? 1 : 0);
    for (int i = T - n_targets; i < T; ++i) c.targets.push_back(order[static_cast<size_t>(i)]);
    return c;
}

nlohmann::json to_json(const TwoStreamCall& c) {
    const int T = static_cast<int>(c.tokens.size());
    nlohmann::json mask = nlohmann::json::array();
    for (int i = 0; i < T; ++i)
        mask.push_back(std::vector<int>(c.mask.begin() + i * T, c.mask.begin() + (i + 1) * T));
    return {{"tokens", c.tokens},
            {"segments", c.segments.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.segments)},
            {"perm_mask", mask},
            {"targets", c.targets}};
}

class XlnetParity : public ::testing::TestWithParam<XlnetCase> {
protected:
    void SetUp() override {
        src_ = std::getenv("LYRA_SOURCE_DIR");
        py_ = std::getenv("LYRA_PYTHON");
        ASSERT_TRUE(src_ && py_) << "run through ctest (LYRA_SOURCE_DIR and LYRA_PYTHON unset)";
        dir_ = fs::temp_directory_path() / fmt::format("lyra_xlnet_{}_{}", GetParam().name, getpid());
        fs::create_directories(dir_);
        hf_ = (dir_ / "hf").string();
        make_ = fmt::format("{} {}/tests/unit/format/make_xlnet_fixture.py {} {}", py_, src_, hf_,
                            GetParam().fixture_args);
        ASSERT_EQ(std::system(make_.c_str()), 0) << make_;
    }
    void TearDown() override {
        if (!HasFailure()) fs::remove_all(dir_);
    }
    std::unique_ptr<Model> import_as(const std::string& order) {
        const std::string gguf = (dir_ / (order + ".gguf")).string();
        lyra::model::import_hf(hf_, gguf, std::nullopt, {.factorization = order});
        return Model::load(gguf);
    }
    // Runs the reference on `job`; returns the output prefix.
    std::string reference(const nlohmann::json& job, const std::string& tag) {
        const std::string job_path = (dir_ / (tag + ".json")).string(), out = (dir_ / tag).string();
        std::ofstream(job_path) << job.dump();
        cmd_ = fmt::format("{} {}/tests/parity/xlnet_reference.py {} {} {}", py_, src_, hf_, job_path, out);
        EXPECT_EQ(std::system(cmd_.c_str()), 0) << cmd_;
        return out;
    }
    std::string repro() const { return " repro: " + make_ + " && " + cmd_; }

    const char *src_ = nullptr, *py_ = nullptr;
    fs::path dir_;
    std::string hf_, make_, cmd_;
};

TEST_P(XlnetParity, TwoStreamGenerationAndGreedyMatchPyTorch) {
    const XlnetCase& c = GetParam();
    const auto bi = import_as("bidirectional");
    const auto causal = import_as("causal");
    const int64_t V = bi->hparams().n_vocab, C = bi->hparams().n_embd;
    ASSERT_EQ(bi->hparams().arch, lyra::model::Arch::Xlnet);
    ASSERT_FALSE(bi->hparams().xlnet.causal);
    ASSERT_TRUE(causal->hparams().xlnet.causal);

    std::mt19937 rng(42);
    const TwoStreamCall s1 = random_call(rng, 14, 5, V, true);
    const TwoStreamCall s2 = random_call(rng, 6, 3, V, true);
    std::vector<int32_t> prompt, chunk2;
    for (int i = 0; i < 12; ++i) prompt.push_back(static_cast<int32_t>(7 + (i * 37 + 5) % (V - 7)));
    for (int i = 0; i < 5; ++i) chunk2.push_back(static_cast<int32_t>(7 + (i * 53 + 11) % (V - 7)));
    nlohmann::json job = {{"two_stream", {to_json(s1), to_json(s2)}}, {"prompt", prompt},
                          {"chunk2", chunk2}, {"greedy", 32}};
    const std::string ref = reference(job, "ref");

    lyra::core::ThreadPool pool(2);
    // ---- the full two-stream forward: perm_mask, target_mapping, segments, mems ----
    Session ts(*bi, 64);
    std::vector<std::vector<float>> got;
    double worst = 0.0;
    for (const auto* call : {&s1, &s2}) {
        const size_t k = got.size() / 2;
        const auto out = lyra::model::xlnet_two_stream(
            *bi, ts, {.tokens = call->tokens, .segments = call->segments, .perm_mask = call->mask,
                      .targets = call->targets}, pool);
        const double dc = rel_diff(out.content, read_f32(fmt::format("{}.ts{}.content", ref, k),
                                                         call->tokens.size() * static_cast<size_t>(C)));
        const double dl = rel_diff(out.logits, read_f32(fmt::format("{}.ts{}.logits", ref, k),
                                                        call->targets.size() * static_cast<size_t>(V)));
        std::printf("xlnet %-20s two-stream call %zu (%s): content rel %.2e, query-stream logits rel "
                    "%.2e (tol %.0e)\n", c.name, k + 1, k ? "with mems" : "3 segments", dc, dl, kTol);
        EXPECT_LT(dc, kTol) << repro();
        EXPECT_LT(dl, kTol) << repro();
        worst = std::max({worst, dc, dl});
        got.push_back(out.content);
        got.push_back(out.logits);
    }

    // ---- generation logits, both orders ----
    Session sb(*bi, 64);
    std::vector<float> logits;
    bi->forward(sb, prompt, pool, logits, true);
    const double d_bi = rel_diff(logits, read_f32(ref + ".bi.logits", prompt.size() * static_cast<size_t>(V)));
    Session sc(*causal, 64);
    causal->forward(sc, prompt, pool, logits, true);
    const double d_c1 = rel_diff(logits, read_f32(ref + ".causal.logits", prompt.size() * static_cast<size_t>(V)));
    causal->forward(sc, chunk2, pool, logits, true);
    const double d_c2 = rel_diff(logits, read_f32(ref + ".causal2.logits", chunk2.size() * static_cast<size_t>(V)));
    std::printf("xlnet %-20s generation logits rel: bidirectional %.2e, causal %.2e, causal with "
                "memory %.2e\n", c.name, d_bi, d_c1, d_c2);
    EXPECT_LT(d_bi, kTol) << repro();
    EXPECT_LT(d_c1, kTol) << repro();
    EXPECT_LT(d_c2, kTol) << repro();

    // ---- greedy, 32 tokens, one forward() per token ----
    for (const auto* m : {bi.get(), causal.get()}) {
        const bool is_causal = m->hparams().xlnet.causal;
        const std::vector<int32_t> want = read_ids(ref + (is_causal ? ".causal.greedy" : ".bi.greedy"));
        Session g(*m, 64);
        std::vector<float> row;
        m->forward(g, prompt, pool, row);
        std::vector<int32_t> cont;
        for (int i = 0; i < 32; ++i) {
            cont.push_back(argmax(row));
            m->forward(g, std::span(&cont.back(), 1), pool, row);
        }
        EXPECT_EQ(cont, want) << (is_causal ? "causal" : "bidirectional") << " greedy differs;" << repro();
        std::printf("xlnet %-20s greedy 32 tokens, %s order: %s\n", c.name,
                    is_causal ? "causal" : "bidirectional", cont == want ? "equal" : "DIFFER");
        // The causal order in a session that slides when full, as the Generator does.
        if (const int64_t keep = m->slide_keep(); keep > 0) {
            Session small(*m, 24);
            m->forward(small, prompt, pool, row);
            std::vector<int32_t> slid;
            int n_slides = 0;
            for (int i = 0; i < 32; ++i) {
                slid.push_back(argmax(row));
                if (small.n_free() == 0) {
                    small.keep_last(keep);
                    ++n_slides;
                }
                m->forward(small, std::span(&slid.back(), 1), pool, row);
            }
            EXPECT_GT(n_slides, 1);
            EXPECT_EQ(slid, want) << "causal greedy through a sliding 24-position session differs";
            std::printf("xlnet %-20s greedy in a sliding 24-position session (%d slides): %s\n",
                        c.name, n_slides, slid == want ? "equal" : "DIFFER");
        }
    }

    // ---- the generation path: a text prompt through gen::generate ----
    const std::string text = "once upon a time the story";
    const std::vector<int32_t> ids = bi->tokenizer().encode(text, true);
    ASSERT_FALSE(ids.empty());
    EXPECT_NE(ids.back(), bi->tokenizer().find_token("<cls>")) << "a prompt must not end in <sep> <cls>";
    const std::string gen_ref = reference({{"prompt", ids}, {"greedy", 32}}, "gen");
    for (const auto* m : {bi.get(), causal.get()}) {
        const bool is_causal = m->hparams().xlnet.causal;
        std::vector<int32_t> want = read_ids(gen_ref + (is_causal ? ".causal.greedy" : ".bi.greedy"));
        // Generation ends at </s>; the reference runs on regardless.
        if (auto eos = std::find(want.begin(), want.end(), 2); eos != want.end()) want.erase(eos + 1, want.end());
        lyra::gen::GenerateOptions opt;
        opt.temperature = 0.0f;
        opt.max_tokens = 32;
        opt.threads = 2;
        // Exact greedy parity with PyTorch needs the f32 KV cache (the generator's default is f16).
        opt.kv_type = lyra::core::DType::F32;
        const auto result = lyra::gen::generate(*m, text, opt);
        ASSERT_EQ(result.candidates.size(), 1u);
        EXPECT_EQ(result.candidates[0].tokens, want)
            << "Generator greedy differs (" << (is_causal ? "causal" : "bidirectional") << ");" << repro();
    }

    // ---- the check sees the details: break one in the reference, the comparison must fail ----
    if (c.mutations) {
        for (const char* mutate : {"r_s_bias", "pos_sign"}) {
            job["mutate"] = mutate;
            job["greedy"] = 0;
            const std::string bad = reference(job, std::string("bad_") + mutate);
            double miss = 0.0;
            miss = std::max(miss, rel_diff(got[0], read_f32(bad + ".ts0.content", got[0].size())));
            miss = std::max(miss, rel_diff(got[1], read_f32(bad + ".ts0.logits", got[1].size())));
            std::printf("xlnet %-20s reference with %s broken: two-stream miss %.2e (must exceed %.0e)\n",
                        c.name, mutate, miss, 100 * kTol);
            EXPECT_GT(miss, 100 * kTol) << mutate << " does not change the two-stream outputs";
        }
    }
    std::printf("xlnet %-20s worst two-stream rel diff %.2e\n", c.name, worst);
}

INSTANTIATE_TEST_SUITE_P(
    Hf, XlnetParity,
    ::testing::Values(
        // erf GELU, one r_w/r_r/r_s bias and segment embedding per layer, tied head, memory 10.
        XlnetCase{"gelu_untie_r", "--ff-activation gelu --mem-len 10 --seed 1", true},
        // ReLU, untie_r false with the shared TensorFlow-layout biases, clamp_len 3 (shorter than
        // most distances), no memory limit (HF keeps every position as mems).
        XlnetCase{"relu_shared_r_clamp", "--ff-activation relu --shared-r --clamp-len 3 --mem-len 0 --seed 2"},
        // Three layers, gelu_new, a separate lm_loss.weight, memory 6.
        XlnetCase{"gelu_new_untied", "--ff-activation gelu_new --untied --layers 3 --mem-len 6 --seed 3"},
        // A bare XLNetModel (no "transformer." prefix, no lm_loss: tied head, no bias), swish,
        // eight heads of 4.
        XlnetCase{"swish_bare", "--ff-activation swish --bare --heads 8 --mem-len 8 --seed 4"}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
