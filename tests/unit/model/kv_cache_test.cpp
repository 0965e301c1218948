// The f16 KV cache (issue 2): a Session may keep K and V as IEEE half instead of f32. Every
// decoder that caches keys and values (llama, qwen2, gpt2, gptneo, the t5 decoder's self- and
// cross-attention, transfo-xl's memory, xlnet's content stream in both factorization orders) must
// give logits close to its f32-cache logits and the same greedy choice wherever the f32 choice is
// not a near tie; the cache must take half the bytes; truncate and keep_last must work on f16 rows.
// Also per-session state beside the cache: transfo-xl's and xlnet's kept W_r·pe(d) rows must not
// carry one text's rounding into the next.
//
// Tolerance: max |logit_f16 - logit_f32| <= 1e-2 * max |logit_f32| over every row (f16 keeps 11
// significant bits, so each cached element moves by at most 2^-11 relative; over these 2-3 layer
// models the logits move by about 1e-4 .. 2e-3 of their scale). Greedy: the argmax must agree at
// every step where the f32 top-two gap exceeds twice that tolerance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "model/format/hf_import.h"
#include "model/model.h"
#include "model_test_util.h"

namespace lyra::model {
namespace {

using testing::TempDir;

constexpr double kRelTol = 1e-2;

TokenId argmax(const float* row, int64_t n) {
    return static_cast<TokenId>(std::max_element(row, row + n) - row);
}

// The logit rows of a prefill of `prompt` and then one forward per token of `feed`, in a fresh
// session of the given KV type.
std::vector<std::vector<float>> run_rows(const Model& m, core::DType kv,
                                         const std::vector<TokenId>& prompt,
                                         const std::vector<TokenId>& feed, int64_t n_ctx = 0) {
    core::ThreadPool pool(2);
    Session s(m, n_ctx, kv);
    EXPECT_EQ(s.kv_type(), kv);
    std::vector<float> logits;
    std::vector<std::vector<float>> rows;
    m.prefill(s, prompt, pool, logits);
    rows.push_back(logits);
    for (TokenId t : feed) {
        m.forward(s, std::span(&t, 1), pool, logits);
        rows.push_back(logits);
    }
    return rows;
}

// Greedy decoding with an f32 cache picks `steps` tokens; the `kv` cache (f16 unless said) is fed
// the same tokens (so both see the same text) and must stay within `tol` of the largest logit at
// every row and pick the same argmax wherever the f32 choice is clear. Returns the largest
// relative logit difference seen.
double expect_f16_close_to_f32(const Model& m, const std::vector<TokenId>& prompt, int steps,
                               core::DType kv = core::DType::F16, double tol = kRelTol) {
    const int64_t V = m.hparams().n_vocab;
    core::ThreadPool pool(2);
    std::vector<TokenId> greedy;
    {
        Session s(m, 0, core::DType::F32);
        std::vector<float> logits;
        m.prefill(s, prompt, pool, logits);
        for (int i = 0; i < steps; ++i) {
            greedy.push_back(argmax(logits.data(), V));
            m.forward(s, std::span(&greedy.back(), 1), pool, logits);
        }
    }
    const auto r32 = run_rows(m, core::DType::F32, prompt, greedy);
    const auto r16 = run_rows(m, kv, prompt, greedy);
    double worst = 0.0;
    int clear_steps = 0;
    for (size_t r = 0; r < r32.size(); ++r) {
        const auto& a = r32[r];
        const auto& b = r16[r];
        EXPECT_EQ(a.size(), b.size());
        double scale = 0.0, diff = 0.0;
        for (size_t i = 0; i < a.size(); ++i) {
            scale = std::max(scale, std::fabs(static_cast<double>(a[i])));
            diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
        }
        EXPECT_LE(diff, tol * scale) << "row " << r;
        worst = std::max(worst, diff / std::max(scale, 1e-30));
        // The last row of the prefill and each step's row: the greedy choice.
        std::vector<float> top(a.end() - V, a.end());
        std::partial_sort(top.begin(), top.begin() + 2, top.end(), std::greater<>());
        if (static_cast<double>(top[0] - top[1]) > 2 * tol * scale) {
            ++clear_steps;
            EXPECT_EQ(argmax(a.data() + a.size() - V, V), argmax(b.data() + b.size() - V, V))
                << "row " << r;
        }
    }
    EXPECT_GT(clear_steps, 0) << "no step had a clear greedy choice; the check saw nothing";
    // The type must actually have been used: identical logits would mean the cache stayed f32.
    EXPECT_GT(worst, 0.0) << kv_type_name(kv) << " logits are bit-identical to f32 ones";
    return worst;
}

// ---- decoders built by `lyra model init` ---------------------------------------------------

class KvF16Init : public ::testing::TestWithParam<Arch> {};

TEST_P(KvF16Init, LogitsStayCloseAndGreedyAgrees) {
    TempDir dir;
    auto o = testing::small_options(GetParam());
    o.n_ctx = 64;
    o.init_std = 0.2f;  // larger weights: logits with clear winners
    const auto m = Model::load(testing::write_small_model(dir, o));
    const std::vector<TokenId> prompt = {1,  17, 42, 99, 7,  3,  250, 64,
                                         12, 5,  33, 80, 81, 82, 9,   10};
    const double worst = expect_f16_close_to_f32(*m, prompt, 24);
    std::printf("[ %s ] f16 KV: max |dlogit| / max |logit| = %.2e\n", arch_name(GetParam()), worst);
}

INSTANTIATE_TEST_SUITE_P(Decoders, KvF16Init,
                         ::testing::Values(Arch::Llama, Arch::Qwen2, Arch::Gpt2),
                         [](const auto& p) { return std::string(arch_name(p.param)); });

// The Q8_0 cache: int8 with a scale per 32 elements moves an element by up to 1/254 of its
// block's largest, about 30 times f16's step, so the logits get a looser bound (5e-2 of their
// scale; these random models, with large weights for clear winners, land at 2-4e-2) and the
// greedy check looks at steps clear by twice that.
// Heads of 32 (the cache needs a head dimension that is a multiple of 32).
class KvQ8Init : public ::testing::TestWithParam<Arch> {};

TEST_P(KvQ8Init, LogitsStayCloseAndGreedyAgrees) {
    TempDir dir;
    auto o = testing::small_options(GetParam());
    o.n_ctx = 64;
    o.n_head = 2;
    o.n_head_kv = GetParam() == Arch::Gpt2 ? 2 : 1;
    o.init_std = 0.2f;
    const auto m = Model::load(testing::write_small_model(dir, o));
    ASSERT_EQ(m->hparams().head_dim, 32);
    const std::vector<TokenId> prompt = {1,  17, 42, 99, 7,  3,  250, 64,
                                         12, 5,  33, 80, 81, 82, 9,   10};
    const double worst = expect_f16_close_to_f32(*m, prompt, 24, core::DType::Q8_0, 5e-2);
    std::printf("[ %s ] q8_0 KV: max |dlogit| / max |logit| = %.2e\n", arch_name(GetParam()), worst);
}

INSTANTIATE_TEST_SUITE_P(Decoders, KvQ8Init,
                         ::testing::Values(Arch::Llama, Arch::Qwen2, Arch::Gpt2),
                         [](const auto& p) { return std::string(arch_name(p.param)); });

// ---- decoders imported from random Hugging Face models (torch via $LYRA_PYTHON) -----------

// Runs tests/unit/format/<script> [lead] <dir>/hf [args]; returns the HF directory ("" outside
// ctest).
std::string make_fixture(const TempDir& dir, const std::string& script, const std::string& lead,
                         const std::string& args) {
    const char* src = std::getenv("LYRA_SOURCE_DIR");
    const char* py = std::getenv("LYRA_PYTHON");
    if (!src || !py) return {};
    const std::string hf = dir.file("hf");
    const std::string cmd = std::string(py) + " " + src + "/tests/unit/format/" + script + " " +
                            lead + " " + hf + " " + args + " > /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return hf;
}

struct HfCase {
    const char* name;
    const char* script;
    const char* lead;  // positional arguments before the output directory
    const char* args;
    const char* factorization;  // xlnet only
};
void PrintTo(const HfCase& c, std::ostream* os) {
    *os << c.name;
}

// The case's fixture imported into dir and loaded; null outside ctest (no fixture script).
std::unique_ptr<Model> import_case(const TempDir& dir, const HfCase& c) {
    const std::string hf = make_fixture(dir, c.script, c.lead, c.args);
    if (hf.empty()) return nullptr;
    const std::string out = dir.file("m.gguf");
    import_hf(hf, out, std::nullopt, {.factorization = c.factorization});
    return Model::load(out);
}

class KvF16Imported : public ::testing::TestWithParam<HfCase> {};

TEST_P(KvF16Imported, LogitsStayCloseAndGreedyAgrees) {
    const HfCase& c = GetParam();
    TempDir dir;
    const auto m = import_case(dir, c);
    ASSERT_TRUE(m) << "run through ctest (LYRA_SOURCE_DIR and LYRA_PYTHON unset)";
    // Ids from every transfo-xl cluster (split at 40 and 120), folded into smaller vocabularies.
    std::vector<TokenId> prompt = {5, 9, 41, 3, 120, 7, 60, 11, 6, 13, 8, 100};
    for (TokenId& t : prompt) t %= static_cast<TokenId>(m->hparams().n_vocab);
    // transfo-xl and causal xlnet go past their memory (mem_len 12 / 10) within these steps.
    const double worst = expect_f16_close_to_f32(*m, prompt, 16);
    std::printf("[ %s ] f16 KV: max |dlogit| / max |logit| = %.2e\n", c.name, worst);
    // A Q8_0 cache where the heads allow it (KvQ8Init's bound), a clear refusal where not.
    if (m->hparams().head_dim % 32 == 0) {
        const double q8 = expect_f16_close_to_f32(*m, prompt, 16, core::DType::Q8_0, 5e-2);
        std::printf("[ %s ] q8_0 KV: max |dlogit| / max |logit| = %.2e\n", c.name, q8);
    } else {
        EXPECT_THROW(Session(*m, 0, core::DType::Q8_0), Error) << "head dim " << m->hparams().head_dim;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Imported, KvF16Imported,
    ::testing::Values(HfCase{"gptneo", "make_hf_fixture.py", "gpt_neo",
                             "--layers 3 --window 5 --attention-types local,global,local", ""},
                      HfCase{"t5", "make_t5_fixture.py", "", "--seed 1", ""},
                      HfCase{"t5_gated", "make_t5_fixture.py", "",
                             "--feed-forward-proj gated-gelu --seed 2", ""},
                      HfCase{"transfo_xl", "make_transfo_xl_fixture.py", "", "--seed 1", ""},
                      HfCase{"xlnet_causal", "make_xlnet_fixture.py", "", "--seed 1", "causal"},
                      HfCase{"xlnet_bidirectional", "make_xlnet_fixture.py", "",
                             "--mem-len 0 --seed 2", "bidirectional"},
                      // 32-wide heads, which a Q8_0 cache takes (the others check its refusal).
                      HfCase{"gptneo_h32", "make_hf_fixture.py", "gpt_neo",
                             "--heads 2 --layers 3 --window 5 --attention-types local,global,local", ""},
                      HfCase{"t5_h32", "make_t5_fixture.py", "", "--d-kv 32 --seed 3", ""},
                      HfCase{"transfo_xl_h32", "make_transfo_xl_fixture.py", "", "--d-head 32 --seed 3", ""},
                      HfCase{"xlnet_causal_h32", "make_xlnet_fixture.py", "", "--heads 1 --seed 3", "causal"},
                      HfCase{"xlnet_bidirectional_h32", "make_xlnet_fixture.py", "",
                             "--heads 1 --mem-len 0 --seed 4", "bidirectional"}),
    [](const auto& p) { return std::string(p.param.name); });

// Transformer-XL and XLNet keep their W_r·pe(d) rows in the session across calls (a decode step
// computes one new distance; keep_relative_rows). A row's last bits depend on how many rows its
// matmul had, so rows left by an earlier text must not leak into the next one: after clear(),
// the same text gives the logits of a fresh session, bit for bit, and so do the decode steps
// after it.
class RelativeRowsSession : public ::testing::TestWithParam<HfCase> {};

TEST_P(RelativeRowsSession, AClearedSessionGivesAFreshSessionsLogits) {
    const HfCase& c = GetParam();
    TempDir dir;
    const auto m = import_case(dir, c);
    ASSERT_TRUE(m) << "run through ctest (LYRA_SOURCE_DIR and LYRA_PYTHON unset)";
    core::ThreadPool pool(2);
    std::vector<TokenId> text;  // 40 tokens: the second prompt's rows take the GEMM (>= 32 rows)
    for (int i = 0; i < 40; ++i) text.push_back(static_cast<TokenId>((i * 29 + 3) % m->hparams().n_vocab));
    std::vector<float> logits, want;
    Session used(*m), fresh(*m);
    m->forward(used, std::span(text).first(4), pool, logits);
    for (size_t i = 4; i < 44; ++i) {  // one distance row at a time (the dot kernels)
        const TokenId t = text[i % text.size()];
        m->forward(used, std::span(&t, 1), pool, logits);
    }
    used.clear();
    for (Session* s : {&fresh, &used}) {
        std::vector<float> rows;
        m->forward(*s, text, pool, rows, true);
        for (int i = 0; i < 4; ++i) {
            const TokenId t = text[static_cast<size_t>(i)];
            m->forward(*s, std::span(&t, 1), pool, logits);
            rows.insert(rows.end(), logits.begin(), logits.end());
        }
        if (s == &fresh) {
            want = rows;
            continue;
        }
        ASSERT_EQ(rows.size(), want.size());
        EXPECT_EQ(0, std::memcmp(rows.data(), want.data(), rows.size() * sizeof(float)));
    }
}

INSTANTIATE_TEST_SUITE_P(
    Imported, RelativeRowsSession,
    ::testing::Values(HfCase{"transfo_xl", "make_transfo_xl_fixture.py", "", "--mem-len 40 --tgt-len 40 --seed 3", ""},
                      HfCase{"xlnet_causal", "make_xlnet_fixture.py", "", "--mem-len 40 --seed 3", "causal"}),
    [](const auto& p) { return std::string(p.param.name); });

// ---- the session ------------------------------------------------------------------------

TEST(KvF16Session, TakesHalfTheBytes) {
    TempDir dir;
    const auto m =
        Model::load(testing::write_small_model(dir, testing::small_options(Arch::Llama)));
    const HParams& hp = m->hparams();
    const auto per_type = [&](size_t elem) {
        return static_cast<size_t>(2 * hp.n_layer * 20 * hp.n_head_kv * hp.head_dim) * elem;
    };
    const Session s32(*m, 20, core::DType::F32), s16(*m, 20, core::DType::F16);
    EXPECT_EQ(s32.kv_bytes(), per_type(4));
    EXPECT_EQ(s16.kv_bytes(), per_type(2));
    EXPECT_EQ(s32.kv_bytes(), 2 * s16.kv_bytes());
}

TEST(KvF16Session, CachedRowsAreTheProjectionsRoundedToHalf) {
    // The f32 session's cache rows, rounded with half.h's fp32_to_fp16, are the f16 session's.
    TempDir dir;
    const auto m =
        Model::load(testing::write_small_model(dir, testing::small_options(Arch::Qwen2)));
    core::ThreadPool pool(1);
    std::vector<float> logits;
    Session s32(*m, 16, core::DType::F32), s16(*m, 16, core::DType::F16);
    const std::vector<TokenId> prompt = {3, 1, 4, 1, 5, 9, 2, 6};
    m->forward(s32, prompt, pool, logits);
    m->forward(s16, prompt, pool, logits);
    const int64_t n = static_cast<int64_t>(prompt.size()), D = s32.head_dim();
    // Layer 0's keys depend only on the prompt; deeper layers see f16 attention below them.
    for (int64_t h = 0; h < m->hparams().n_head_kv; ++h)
        for (int64_t p = 0; p < n; ++p) {
            const auto* k32 = static_cast<const float*>(s32.k_view(0).head(h).row(p));
            const auto* k16 = static_cast<const uint16_t*>(s16.k_view(0).head(h).row(p));
            const auto* v32 = static_cast<const float*>(s32.v_view(0).head(h).row(p));
            const auto* v16 = static_cast<const uint16_t*>(s16.v_view(0).head(h).row(p));
            for (int64_t i = 0; i < D; ++i) {
                ASSERT_EQ(k16[i], core::fp32_to_fp16(k32[i])) << "k head " << h << " pos " << p << " elem " << i;
                ASSERT_EQ(v16[i], core::fp32_to_fp16(v32[i])) << "v head " << h << " pos " << p << " elem " << i;
            }
        }
}

TEST(KvSession, EachHeadsPositionsAreContiguous) {
    // store_k/store_v split each [kv_dim] row into its heads; head h's positions follow one
    // another head_dim elements apart (what makes a head's pass over its keys stream), and
    // head h + 1 starts n_ctx positions later, so appending never moves a row.
    TempDir dir;
    const auto m = Model::load(testing::write_small_model(dir, testing::small_options(Arch::Llama)));
    const int64_t Hkv = m->hparams().n_head_kv, D = m->hparams().head_dim, n_ctx = 12;
    ASSERT_GT(Hkv, 1);
    for (const core::DType type : {core::DType::F32, core::DType::F16}) {
        Session s(*m, n_ctx, type);
        const int64_t kv_dim = s.kv_dim(), stride = kv_dim + 3;  // padded source rows
        std::vector<float> rows(static_cast<size_t>(5 * stride));
        for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<float>(i) * 0.25f;  // exact in f16
        s.store_k(1, 2, rows.data(), 5, stride);
        s.store_v(1, 7, rows.data(), 5, stride);
        const size_t es = type == core::DType::F16 ? 2 : 4;
        for (int64_t h = 0; h < Hkv; ++h) {
            const core::KvView k = s.k_view(1).head(h), v = s.v_view(1).head(h);
            EXPECT_EQ(static_cast<const uint8_t*>(k.row(1)) - static_cast<const uint8_t*>(k.row(0)),
                      static_cast<ptrdiff_t>(D * es));
            if (h + 1 < Hkv) {
                EXPECT_EQ(static_cast<const uint8_t*>(s.k_view(1).head(h + 1).row(0)) -
                              static_cast<const uint8_t*>(k.row(0)),
                          static_cast<ptrdiff_t>(n_ctx * D * es));
            }
            for (int64_t i = 0; i < 5; ++i)
                for (int64_t e = 0; e < D; ++e) {
                    const float want = rows[static_cast<size_t>(i * stride + h * D + e)];
                    const auto got = [&](const core::KvView& view, int64_t pos) {
                        return type == core::DType::F16
                                   ? core::fp16_to_fp32(static_cast<const uint16_t*>(view.row(pos))[e])
                                   : static_cast<const float*>(view.row(pos))[e];
                    };
                    ASSERT_EQ(got(k, 2 + i), want) << "k head " << h << " row " << i << " elem " << e;
                    ASSERT_EQ(got(v, 7 + i), want) << "v head " << h << " row " << i << " elem " << e;
                }
        }
    }
}

TEST(KvF16Session, TruncateAndReplayGiveTheSameLogits) {
    // The generator's candidates rewind to the prompt (truncate) and decode again.
    TempDir dir;
    const auto m = Model::load(testing::write_small_model(dir, testing::small_options(Arch::Gpt2)));
    core::ThreadPool pool(2);
    Session s(*m, 24, core::DType::F16);
    std::vector<float> first, again;
    m->forward(s, std::vector<TokenId>{4, 8, 15, 16}, pool, first);
    m->forward(s, std::vector<TokenId>{23, 42}, pool, first);
    s.truncate(4);
    m->forward(s, std::vector<TokenId>{23, 42}, pool, again);
    ASSERT_EQ(first.size(), again.size());
    EXPECT_EQ(0, std::memcmp(first.data(), again.data(), first.size() * sizeof(float)));
}

TEST(KvF16Session, KeepLastMovesTheHalfRows) {
    TempDir dir;
    const auto m =
        Model::load(testing::write_small_model(dir, testing::small_options(Arch::Llama)));
    core::ThreadPool pool(1);
    std::vector<float> logits;
    Session s(*m, 16, core::DType::F16);
    m->forward(s, std::vector<TokenId>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, pool, logits);
    const int64_t D = s.head_dim(), L = m->hparams().n_layer, Hkv = m->hparams().n_head_kv;
    // Positions 6..9 of every (layer, head) must become its positions 0..3.
    std::vector<std::vector<uint16_t>> tail_k, tail_v;
    for (int64_t l = 0; l < L; ++l)
        for (int64_t h = 0; h < Hkv; ++h) {
            const auto* k = static_cast<const uint16_t*>(s.k_view(l).head(h).row(6));
            const auto* v = static_cast<const uint16_t*>(s.v_view(l).head(h).row(6));
            tail_k.emplace_back(k, k + 4 * D);
            tail_v.emplace_back(v, v + 4 * D);
        }
    s.keep_last(4);
    EXPECT_EQ(s.n_past(), 4);
    size_t at = 0;
    for (int64_t l = 0; l < L; ++l)
        for (int64_t h = 0; h < Hkv; ++h, ++at) {
            const auto* k = static_cast<const uint16_t*>(s.k_view(l).head(h).row(0));
            const auto* v = static_cast<const uint16_t*>(s.v_view(l).head(h).row(0));
            EXPECT_EQ(std::vector<uint16_t>(k, k + 4 * D), tail_k[at]) << "layer " << l << " head " << h;
            EXPECT_EQ(std::vector<uint16_t>(v, v + 4 * D), tail_v[at]) << "layer " << l << " head " << h;
        }
}

TEST(KvSession, ACopiedPrefixDecodesLikeTheSessionItCameFrom) {
    // The batching scheduler's prompt cache: a request whose prompt was prefilled before copies
    // those rows into its own session (of another context length) and decodes from there.
    TempDir dir;
    const auto m = Model::load(testing::write_small_model(dir, testing::small_options(Arch::Llama)));
    core::ThreadPool pool(2);
    for (const core::DType type : {core::DType::F32, core::DType::F16}) {
        Session src(*m, 24, type);
        std::vector<float> prompt_logits, a, b;
        m->forward(src, std::vector<TokenId>{4, 8, 15, 16, 23}, pool, prompt_logits);
        Session dst(*m, 12, type);
        m->forward(dst, std::vector<TokenId>{99, 98}, pool, b);  // stale rows the copy replaces
        dst.copy_prefix(src, 5);
        EXPECT_EQ(dst.n_past(), 5);
        m->forward(src, std::vector<TokenId>{42, 7}, pool, a, true);
        m->forward(dst, std::vector<TokenId>{42, 7}, pool, b, true);
        ASSERT_EQ(a.size(), b.size());
        EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << core::dtype_name(type);
        // A shorter prefix, then the rest of the same text: a row's arithmetic does not depend
        // on which forward it shares, so the last logits are src's last ones.
        Session part(*m, 16, type);
        part.copy_prefix(src, 3);
        EXPECT_EQ(part.n_past(), 3);
        m->forward(part, std::vector<TokenId>{16, 23, 42, 7}, pool, b);
        const int64_t V = m->hparams().n_vocab;
        ASSERT_EQ(static_cast<int64_t>(a.size()), 2 * V);
        ASSERT_EQ(static_cast<int64_t>(b.size()), V);
        EXPECT_EQ(0, std::memcmp(a.data() + V, b.data(), static_cast<size_t>(V) * sizeof(float)))
            << core::dtype_name(type);
    }
}

TEST(KvSession, APromptContinuesAnotherPromptsRowsWhereTheArithmeticAgrees) {
    // The prompt cache's shared beginnings: a kept prompt's first n rows are copied into a new
    // prompt's session and only the rest runs. Model::same_row_arithmetic says when that gives
    // the bits of a whole prefill: for quantized weights always, for float weights when the kept
    // prompt, the new prompt and the rest are all on one side of the GEMM's 32 rows.
    struct Case {
        int64_t shared, kept, prompt;
        bool float_exact;  // what same_row_arithmetic answers for float weights
    };
    const std::vector<Case> cases = {
        {10, 20, 25, true},   // every count under 32: the dot-product kernels throughout
        {40, 70, 80, true},   // every count from 32: the GEMM throughout (the rest is 40)
        {40, 70, 60, false},  // the rest, 20 rows, takes the dot-product kernels
        {10, 40, 25, false},  // the kept prompt's rows came from the GEMM
    };
    for (const Arch arch : {Arch::Llama, Arch::Gpt2})
        for (const core::DType type : {core::DType::F32, core::DType::Q4_0}) {
            TempDir dir;
            InitOptions o = testing::small_options(arch, type);
            o.n_ctx = 96;
            const auto m = Model::load(testing::write_small_model(dir, o));
            const std::string what = std::string(arch_name(arch)) + " " + std::string(core::dtype_name(type));
            core::ThreadPool pool(2);
            for (const Case& c : cases) {
                const auto rows_agree = m->same_row_arithmetic(c.kept, c.prompt) &&
                                        m->same_row_arithmetic(c.prompt, c.prompt - c.shared);
                EXPECT_EQ(rows_agree, type == core::DType::Q4_0 || c.float_exact) << what << " kept " << c.kept;
                // Two texts that share their first `shared` tokens.
                std::vector<TokenId> kept, prompt;
                for (int64_t i = 0; i < c.kept; ++i) kept.push_back(static_cast<TokenId>(3 + (i * 37) % 200));
                prompt.assign(kept.begin(), kept.begin() + c.shared);
                for (int64_t i = c.shared; i < c.prompt; ++i) prompt.push_back(static_cast<TokenId>(5 + (i * 53) % 190));
                ASSERT_NE(prompt[static_cast<size_t>(c.shared)], kept[static_cast<size_t>(c.shared)]);
                std::vector<float> whole, split;
                Session cold(*m, 0, core::DType::F16), from(*m, 0, core::DType::F16), part(*m, 0, core::DType::F16);
                m->forward(cold, prompt, pool, whole);
                m->forward(from, kept, pool, split);
                part.copy_prefix(from, c.shared);
                m->forward(part, std::span<const TokenId>(prompt).subspan(static_cast<size_t>(c.shared)), pool, split);
                ASSERT_EQ(whole.size(), split.size());
                const bool same = std::memcmp(whole.data(), split.data(), whole.size() * sizeof(float)) == 0;
                // The refused splits do change bits (were that to stop, the rule could be lifted).
                EXPECT_EQ(same, rows_agree) << what << ": " << c.shared << " of " << c.kept << " rows, then "
                                            << c.prompt - c.shared;
                if (!rows_agree) continue;
                // And the next token decodes alike from both.
                const TokenId next = 9;
                m->forward(cold, std::span(&next, 1), pool, whole);
                m->forward(part, std::span(&next, 1), pool, split);
                EXPECT_EQ(0, std::memcmp(whole.data(), split.data(), whole.size() * sizeof(float))) << what;
            }
        }
}

TEST(KvSessionDeathTest, CopyPrefixRefusesAnotherTypeOrTooManyPositions) {
    TempDir dir;
    const auto m = Model::load(testing::write_small_model(dir, testing::small_options(Arch::Llama)));
    core::ThreadPool pool(1);
    std::vector<float> logits;
    Session src(*m, 8, core::DType::F32);
    m->forward(src, std::vector<TokenId>{1, 2, 3}, pool, logits);
    Session f16(*m, 8, core::DType::F16), small(*m, 2, core::DType::F32), ok(*m, 8, core::DType::F32);
    EXPECT_DEATH(f16.copy_prefix(src, 3), "different shapes or KV types");
    EXPECT_DEATH(ok.copy_prefix(src, 4), "copy_prefix of 4 positions from 3");
    EXPECT_DEATH(small.copy_prefix(src, 3), "copy_prefix of 3 positions from 3 into 2");
}

TEST(KvF16Session, RefusesOtherTypes) {
    TempDir dir;
    const auto m =
        Model::load(testing::write_small_model(dir, testing::small_options(Arch::Llama)));
    try {
        Session s(*m, 8, core::DType::Q4_0);
        ADD_FAILURE() << "a Q4_0 KV cache was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find("expected f32, f16 or q8_0"), std::string::npos) << e.what();
    }
    // Q8_0 needs whole 32-element blocks in a head's row; this model's heads are 16 wide.
    ASSERT_EQ(m->hparams().head_dim, 16);
    try {
        Session s(*m, 8, core::DType::Q8_0);
        ADD_FAILURE() << "a Q8_0 KV cache of 16-wide heads was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find("multiple of 32; this model's is 16"), std::string::npos) << e.what();
    }
    EXPECT_EQ(parse_kv_type("f16"), core::DType::F16);
    EXPECT_EQ(parse_kv_type("f32"), core::DType::F32);
    EXPECT_EQ(parse_kv_type("q8_0"), core::DType::Q8_0);
    try {
        (void)parse_kv_type("q4_0");
        ADD_FAILURE() << "kv type q4_0 was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find("kv type 'q4_0'"), std::string::npos) << e.what();
    }
    EXPECT_STREQ(kv_type_name(core::DType::F16), "f16");
    EXPECT_STREQ(kv_type_name(core::DType::Q8_0), "q8_0");
}

// A model with 32-wide heads, which a Q8_0 cache can hold.
std::unique_ptr<Model> q8_ready_model(const TempDir& dir, Arch arch) {
    auto o = testing::small_options(arch);
    o.n_head = 2;
    o.n_head_kv = arch == Arch::Gpt2 ? 2 : 1;
    return Model::load(testing::write_small_model(dir, o));
}

TEST(KvQ8Session, TakesNineThirtySecondsOfTheF32Bytes) {
    TempDir dir;
    const auto m = q8_ready_model(dir, Arch::Llama);
    const HParams& hp = m->hparams();
    const auto elems = static_cast<size_t>(2 * hp.n_layer * 20 * hp.n_head_kv * hp.head_dim);
    const Session s32(*m, 20, core::DType::F32), s8(*m, 20, core::DType::Q8_0);
    EXPECT_EQ(s8.kv_bytes(), elems + elems / 32 * sizeof(float));  // int8 + a float per 32
    EXPECT_EQ(s8.kv_bytes() * 32, s32.kv_bytes() * 9);
    EXPECT_EQ(Session::kv_bytes_for(*m, 20, core::DType::Q8_0), s8.kv_bytes());
}

TEST(KvQ8Session, CachedRowsAreTheProjectionsQuantizedPer32) {
    // Layer 0's rows of the f32 session (the same inputs in both), quantized with quantize_kv_q8
    // head by head, are the Q8_0 session's, scales included; and copy_prefix and keep_last carry
    // every layer's int8 rows and scales along.
    TempDir dir;
    const auto m = q8_ready_model(dir, Arch::Qwen2);
    core::ThreadPool pool(1);
    std::vector<float> logits;
    Session s32(*m, 16, core::DType::F32), s8(*m, 16, core::DType::Q8_0);
    const std::vector<TokenId> prompt = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
    m->forward(s32, prompt, pool, logits);
    m->forward(s8, prompt, pool, logits);
    const int64_t D = s8.head_dim(), L = m->hparams().n_layer, Hkv = m->hparams().n_head_kv;
    ASSERT_GT(L, 1);
    // Row r of every (layer, head, K or V): its int8 values, then its scales as bytes.
    using Rows = std::vector<std::vector<int8_t>>;
    const auto rows_of = [&](const Session& s, int64_t first, int64_t n) {
        Rows out;
        for (int64_t l = 0; l < L; ++l)
            for (int64_t h = 0; h < Hkv; ++h)
                for (const bool key : {true, false}) {
                    const core::KvView v = (key ? s.k_view(l) : s.v_view(l)).head(h);
                    for (int64_t r = first; r < first + n; ++r) {
                        const auto* q = static_cast<const int8_t*>(v.row(r));
                        const auto* d = reinterpret_cast<const int8_t*>(v.row_scales(r));
                        out.emplace_back(q, q + D).insert(out.back().end(), d, d + D / 32 * 4);
                    }
                }
        return out;
    };
    for (int64_t h = 0; h < Hkv; ++h)
        for (const bool key : {true, false}) {
            const core::KvView f = (key ? s32.k_view(0) : s32.v_view(0)).head(h);
            const core::KvView g = (key ? s8.k_view(0) : s8.v_view(0)).head(h);
            for (int64_t r = 0; r < 10; ++r) {
                std::vector<int8_t> q(static_cast<size_t>(D));
                std::vector<float> d(static_cast<size_t>(D / 32));
                core::quantize_kv_q8(static_cast<const float*>(f.row(r)), D, q.data(), d.data());
                const auto* gq = static_cast<const int8_t*>(g.row(r));
                EXPECT_EQ(std::vector<int8_t>(gq, gq + D), q) << "head " << h << " row " << r;
                EXPECT_EQ(std::vector<float>(g.row_scales(r), g.row_scales(r) + D / 32), d) << "head " << h;
            }
        }
    const Rows tail = rows_of(s8, 6, 4);
    Session copy(*m, 12, core::DType::Q8_0);
    copy.copy_prefix(s8, 7);
    EXPECT_EQ(rows_of(copy, 0, 7), rows_of(s8, 0, 7));
    s8.keep_last(4);
    EXPECT_EQ(rows_of(s8, 0, 4), tail);
    // Decoding on from the copy gives what decoding on from the source gives.
    Session again(*m, 16, core::DType::Q8_0);
    std::vector<float> a, b;
    m->forward(again, std::vector<TokenId>(prompt.begin(), prompt.begin() + 7), pool, a);
    m->forward(again, std::vector<TokenId>{8, 8}, pool, a);
    m->forward(copy, std::vector<TokenId>{8, 8}, pool, b);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

}  // namespace
}  // namespace lyra::model
