// Fine-tuning from a base GGUF (issue 3): recipe errors ([model] base with size keys or a
// [tokenizer] table, a missing base, a context past the base's, an architecture the trainer
// cannot train), and the run itself: a tiny llama trained from scratch on Shakespeare, then
// fine-tuned on folk tunes in ABC notation. The first step's loss equals the base's loss on that batch as the
// inference engine computes it (the weights were really loaded), the fine-tuned validation loss on
// the new corpus ends well below the base's, and the output keeps the base's tokenizer and
// records its name and sha256. A quantized base trains from its dequantized weights.
// LoRA: an adapter on the frozen base lowers the validation loss on the new corpus, resumes
// exactly, gives the same logits unmerged (training model) as merged (inference engine), and bad
// adapter files are single errors with no output written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/error.h"
#include "core/mmap.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "core/sha256.h"
#include "model/init.h"
#include "model/tokenizer/char_vocab.h"
#include "model/model.h"
#include "model/quantize.h"
#include "train/lora.h"
#include "train/recipe.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace lyra::train;

namespace {

std::string shared_dir() {
    const char* v = std::getenv("LYRA_SHARED_DIR");
    return v != nullptr ? v : "../shared";
}

// Mean cross-entropy of batch rows [B, T] under the inference engine (one session per row).
double inference_loss(const lyra::model::Model& m, const std::vector<int32_t>& tokens,
                      const std::vector<int32_t>& targets, int64_t B, int64_t T) {
    lyra::core::ThreadPool pool(1);
    const int64_t V = m.hparams().n_vocab;
    double total = 0.0;
    std::vector<float> logits;
    for (int64_t b = 0; b < B; ++b) {
        lyra::model::Session s(m);
        const std::vector<int32_t> row(tokens.begin() + b * T, tokens.begin() + (b + 1) * T);
        m.forward(s, row, pool, logits, true);
        for (int64_t t = 0; t < T; ++t) {
            const float* l = logits.data() + t * V;
            double mx = static_cast<double>(l[0]), sum = 0.0;
            for (int64_t v = 1; v < V; ++v) mx = std::max(mx, static_cast<double>(l[v]));
            for (int64_t v = 0; v < V; ++v) sum += std::exp(static_cast<double>(l[v]) - mx);
            total += mx + std::log(sum) - static_cast<double>(l[targets[static_cast<size_t>(b * T + t)]]);
        }
    }
    return total / static_cast<double>(B * T);
}

class FineTuneTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("lyra_finetune_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        std::string text = lyra::core::read_file(shared_dir() + "/data/tinyshakespeare/input.txt");
        text.resize(40000);
        std::ofstream(dir_ / "shakespeare.txt") << text;
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string path(const std::string& name) const { return (dir_ / name).string(); }
    static TrainOptions quiet() {
        TrainOptions o;
        o.log = [](const std::string&) {};
        return o;
    }

    // A tiny char-level llama trained from scratch on Shakespeare for `steps` steps.
    std::string train_base(int steps) const {
        const std::string toml =
            "output = \"" + path("base.gguf") + "\"\nname = \"tiny-base\"\nseed = 7\n" +
            "[data]\nfiles = [\"" + path("shakespeare.txt") + "\"]\n" +
            "[tokenizer]\nkind = \"char:0\"\n" +
            "[model]\narch = \"llama\"\nn_embd = 32\nn_layer = 2\nn_head = 4\nn_head_kv = 2\n" +
            "[train]\nbatch = 8\ncontext = 32\nsteps = " + std::to_string(steps) +
            "\nlr = 5e-3\nwarmup = 5\neval_interval = 0\neval_iters = 2\nthreads = 1\n"
            "[sample]\ntokens = 10\n";
        Trainer t(parse_recipe_string(toml, "base.toml"), quiet());
        EXPECT_TRUE(t.run().finished);
        return path("base.gguf");
    }

    // A fine-tuning recipe on ABC jigs (a corpus unlike anything the base saw).
    std::string finetune_recipe(const std::string& base, int steps, const std::string& extra = "") const {
        return "output = \"" + path("ft.gguf") + "\"\nname = \"tiny-jigs\"\nseed = 3\n" +
               "[data]\nfiles = [\"" + shared_dir() + "/data/nottingham-abc/jigs.abc\"]\n" +
               "[model]\nbase = \"" + base + "\"\n" + extra +
               "[train]\nbatch = 8\ncontext = 32\nsteps = " + std::to_string(steps) +
               "\nlr = 3e-3\nwarmup = 2\neval_interval = 0\neval_iters = 8\nthreads = 1\n"
               "[sample]\ntokens = 10\n";
    }

    fs::path dir_;
};

template <typename F>
lyra::Error expect_error(F&& f) {
    try {
        f();
    } catch (const lyra::Error& e) {
        return e;
    }
    ADD_FAILURE() << "expected a lyra::Error";
    return lyra::Error(lyra::ErrorKind::Io, "none");
}

bool names(const lyra::Error& e, const std::string& what) {
    return std::string(e.what()).find(what) != std::string::npos;
}

TEST_F(FineTuneTest, RecipeWithBaseRejectsSizeKeysTokenizerMissingFileAndLongContext) {
    lyra::model::InitOptions o;
    o.n_embd = 32;
    o.n_layer = 1;
    o.n_ctx = 16;
    lyra::model::init_model(o, *lyra::model::build_byte_vocab(), path("base.gguf"));
    const std::string base = path("base.gguf");

    auto e = expect_error([&] { parse_recipe_string(finetune_recipe(base, 1, "n_embd = 64\n"), "t.toml"); });
    EXPECT_EQ(e.kind(), lyra::ErrorKind::InvalidArgument);
    EXPECT_TRUE(names(e, "model.base") && names(e, "n_embd")) << e.what();

    e = expect_error([&] {
        parse_recipe_string(finetune_recipe(base, 1) + "[tokenizer]\nkind = \"bytes\"\n", "t.toml");
    });
    EXPECT_EQ(e.kind(), lyra::ErrorKind::InvalidArgument);
    EXPECT_TRUE(names(e, "[tokenizer]")) << e.what();

    e = expect_error([&] { parse_recipe_string(finetune_recipe(path("nope.gguf"), 1), "t.toml"); });
    EXPECT_EQ(e.kind(), lyra::ErrorKind::NotFound);
    EXPECT_TRUE(names(e, path("nope.gguf"))) << e.what();

    // context 32 > the base's 16
    e = expect_error([&] { parse_recipe_string(finetune_recipe(base, 1), "t.toml"); });
    EXPECT_EQ(e.kind(), lyra::ErrorKind::InvalidArgument);
    EXPECT_TRUE(names(e, "train.context") && names(e, "16")) << e.what();

    o.arch = lyra::model::Arch::Qwen2;
    o.n_ctx = 64;
    lyra::model::init_model(o, *lyra::model::build_byte_vocab(), path("qwen.gguf"));
    e = expect_error([&] { parse_recipe_string(finetune_recipe(path("qwen.gguf"), 1), "t.toml"); });
    EXPECT_EQ(e.kind(), lyra::ErrorKind::Unsupported);
    EXPECT_TRUE(names(e, "'qwen2'") && names(e, "llama") && names(e, "gpt2")) << e.what();
}

// Measured (2026-11-29, seeds 7 and 3, 100 + 100 steps, EOS between documents): the base's
// validation loss on the jigs 5.99, the fine-tuned model's 2.54. The margin 1.0 fails if fine-tuning does not learn the new
// corpus.
TEST_F(FineTuneTest, FineTunedModelLearnsTheNewCorpusFromTheBaseWeights) {
    constexpr double kMargin = 1.0;
    const std::string base = train_base(100);
    Trainer ft(parse_recipe_string(finetune_recipe(base, 100), "ft.toml"), quiet());
    const float base_val = ft.evaluate();  // the base's weights, untouched, on the jigs

    // Step 1's loss is the base's loss on that batch, as the inference engine sees the base.
    const float first = ft.step();
    const auto base_model = lyra::model::Model::load(base);
    const double want = inference_loss(*base_model, ft.last_tokens(), ft.last_targets(), 8, 32);
    EXPECT_NEAR(static_cast<double>(first), want, 1e-4 * want);

    const auto rep = ft.run();
    ASSERT_TRUE(rep.finished);
    const float ft_val = rep.eval_losses.back();
    std::printf("[finetune] base val loss on the jigs %.4f, step-1 loss %.4f (inference %.4f), "
                "fine-tuned val loss %.4f\n", static_cast<double>(base_val),
                static_cast<double>(first), want, static_cast<double>(ft_val));
    EXPECT_LT(static_cast<double>(ft_val), static_cast<double>(base_val) - kMargin);

    // The output keeps the base's tokenizer and metadata and records where it came from.
    const auto out = lyra::model::GgufFile::open(rep.model_path);
    const auto in = lyra::model::GgufFile::open(base);
    EXPECT_EQ(out->get_string("general.name"), "tiny-jigs");
    EXPECT_EQ(out->get_string("general.base_model.0.name"), "tiny-base");
    EXPECT_EQ(out->get_string("general.base_model.0.sha256"), lyra::core::sha256_file_hex(base));
    EXPECT_EQ(out->get_string_array("tokenizer.ggml.tokens"), in->get_string_array("tokenizer.ggml.tokens"));
    EXPECT_EQ(out->get_int("llama.context_length"), in->get_int("llama.context_length"));
    const std::string card = lyra::core::read_file(rep.card_path);
    EXPECT_TRUE(card.find("tiny-base") != std::string::npos &&
                card.find(lyra::core::sha256_file_hex(base)) != std::string::npos);
    EXPECT_NO_THROW(lyra::model::Model::load(rep.model_path));
}

TEST_F(FineTuneTest, QuantizedBaseTrainsFromItsDequantizedWeights) {
    const std::string base = train_base(5);
    lyra::model::quantize_file(base, path("base-q8.gguf"), lyra::core::DType::Q8_0);
    Trainer ft(parse_recipe_string(finetune_recipe(path("base-q8.gguf"), 2), "ft.toml"), quiet());
    const float first = ft.step();
    // The inference engine also rounds activations to 8 bits, hence the looser tolerance.
    const auto q = lyra::model::Model::load(path("base-q8.gguf"));
    const double want = inference_loss(*q, ft.last_tokens(), ft.last_targets(), 8, 32);
    EXPECT_NEAR(static_cast<double>(first), want, 1e-2 * want);
    EXPECT_TRUE(ft.run().finished);
}


std::string lora_table(const std::string& extra = "") {
    return "[lora]\nrank = 4\nalpha = 8\ndropout = 0.05\ntargets = [\"attn_q\", \"attn_k\", \"attn_v\", "
           "\"attn_output\", \"ffn_up\", \"ffn_gate\", \"ffn_down\"]\n" + extra;
}

// Measured (2026-11-29, same base as above): the base's validation loss on the jigs 5.83, with the
// LoRA adapter (rank 4 on all 7 block matrices, 100 steps, lr 1e-2) 4.79 — less than full
// fine-tuning's 2.80, as the frozen embeddings know few of ABC's characters. The margin 0.5 fails
// if the adapter learns nothing (B starts at zero, so the adapted model starts as the base).
TEST_F(FineTuneTest, LoraAdapterLearnsTheNewCorpusOnAFrozenBase) {
    constexpr double kMargin = 0.5;
    const std::string base = train_base(100);
    std::string toml = finetune_recipe(base, 100) + lora_table();
    toml.replace(toml.find("lr = 3e-3"), 9, "lr = 1e-2");
    Trainer ft(parse_recipe_string(toml, "lora.toml"), quiet());
    const float base_val = ft.evaluate();
    const float first = ft.step();
    const auto base_model = lyra::model::Model::load(base);
    // Dropout changes the first batch's loss, so compare with a generous bound only here.
    const double want = inference_loss(*base_model, ft.last_tokens(), ft.last_targets(), 8, 32);
    EXPECT_NEAR(static_cast<double>(first), want, 0.05 * want);
    const auto rep = ft.run();
    ASSERT_TRUE(rep.finished);
    const float lora_val = rep.eval_losses.back();
    std::printf("[lora] base val loss on the jigs %.4f, with the adapter %.4f (%lld adapter params)\n",
                static_cast<double>(base_val), static_cast<double>(lora_val), static_cast<long long>(rep.n_params));
    EXPECT_LT(static_cast<double>(lora_val), static_cast<double>(base_val) - kMargin);

    // The adapter file: llama.cpp's keys and tensor names, nothing of the base.
    const auto f = lyra::model::GgufFile::open(rep.model_path);
    EXPECT_EQ(f->get_string("general.type"), "adapter");
    EXPECT_EQ(f->get_string("adapter.type"), "lora");
    EXPECT_EQ(f->get_float("adapter.lora.alpha"), 8.0);
    ASSERT_NE(f->find_tensor("blk.1.ffn_gate.weight.lora_b"), nullptr);
    EXPECT_EQ(f->find_tensor("blk.1.ffn_gate.weight.lora_a")->tensor.dim(0), 4);
    EXPECT_EQ(f->find_tensor("token_embd.weight"), nullptr);

    // Base + adapter (the factored training forward) vs the merged model in the inference engine.
    const std::string merged = path("merged.gguf");
    EXPECT_EQ(merge_lora(base, rep.model_path, 1.0f, merged), 14);
    const auto m = lyra::model::Model::load(merged);
    const std::vector<int32_t> ids = ft.tokenizer().encode("X:1\nT:Jig\nK:G\n|:GAB", false, false);
    lyra::core::ThreadPool pool(1);
    lyra::model::Session sess(*m);
    std::vector<float> logits;
    m->forward(sess, ids, pool, logits, true);
    ft.model().forward(pool, ids.data(), nullptr, 1, static_cast<int64_t>(ids.size()));
    double max_diff = 0.0;
    for (size_t i = 0; i < logits.size(); ++i)
        max_diff = std::max(max_diff, std::fabs(static_cast<double>(logits[i] - ft.model().logits()[i])));
    std::printf("[lora] base + adapter vs merged: max |logit diff| %.3g over %zu logits\n", max_diff, logits.size());
    EXPECT_LT(max_diff, 1e-4);
    // --lora at load time is the same merge.
    const auto applied = load_model_with_lora(base, rep.model_path, 1.0f);
    lyra::model::Session s2(*applied);
    std::vector<float> logits2;
    applied->forward(s2, ids, pool, logits2, true);
    EXPECT_EQ(logits, logits2);
}

TEST_F(FineTuneTest, LoraRunResumesWithIdenticalLosses) {
    const std::string base = train_base(5);
    const std::string toml = finetune_recipe(base, 8) + lora_table();
    auto recipe = [&](bool with_ckpt) {
        std::string t = toml;
        if (with_ckpt) t.replace(t.find("threads = 1\n"), 12, "threads = 1\ncheckpoint_interval = 2\n");
        return parse_recipe_string(t, "lora.toml");
    };
    const auto full = Trainer(recipe(false), quiet()).run();
    TrainOptions stop = quiet();
    stop.stop_after = 5;
    Trainer(recipe(true), stop).run();
    TrainOptions resume = quiet();
    resume.resume = true;
    const auto resumed = Trainer(recipe(true), resume).run();
    EXPECT_TRUE(resumed.resumed);
    EXPECT_EQ(resumed.train_losses, full.train_losses);
}

// Issue 3, LoRA memory: the frozen base has no gradient or optimizer storage at all. The state
// beside the weights is exactly 13 bytes per trained value (gradient, AdamW m and v as F32, the
// decay flag) — for the adapter only — against the same 13 bytes per model value for full
// fine-tuning of the same base.
TEST_F(FineTuneTest, LoraRunKeepsNoGradientOrOptimizerStateForTheFrozenBase) {
    const std::string base = train_base(1);
    constexpr size_t kPerValue = 3 * sizeof(float) + 1;
    Trainer full(parse_recipe_string(finetune_recipe(base, 2), "full.toml"), quiet());
    const TrainReport full_rep = full.run();
    ASSERT_TRUE(full_rep.finished);
    EXPECT_EQ(full.state_bytes(), static_cast<size_t>(full_rep.n_params) * kPerValue);

    Trainer lora(parse_recipe_string(finetune_recipe(base, 2) + lora_table(), "lora.toml"), quiet());
    EXPECT_TRUE(lora.model().grads().empty());
    const TrainReport lora_rep = lora.run();
    ASSERT_TRUE(lora_rep.finished);
    EXPECT_EQ(lora.model().grad_bytes(), 0u) << "the frozen base allocated gradients";
    EXPECT_TRUE(lora.model().grads().empty());
    EXPECT_EQ(lora.state_bytes(), static_cast<size_t>(lora_rep.n_params) * kPerValue);
    const double ratio = static_cast<double>(lora.state_bytes()) / static_cast<double>(full.state_bytes());
    std::printf("[lora] gradient + optimizer state: full fine-tuning %zu bytes, LoRA %zu bytes (%.3f)\n",
                full.state_bytes(), lora.state_bytes(), ratio);
    // 4,864 adapter values against the tiny base's 45,024 (rank 4 on all 7 matrices of a 32-wide
    // model is a large adapter for its size; before the fix the base's gradients alone were 1.0×).
    EXPECT_LT(ratio, 0.2);
}

// The frozen base still passes the activation gradient back through its matrices (dx = dy·W) and
// only dW is skipped: adapter gradients in the first layer (which reach it only through the
// second layer's frozen matrices, norms and attention) match central finite differences of the
// loss, with no gradient storage for the base.
TEST(LoraFrozenBase, AdapterGradientsMatchFiniteDifferences) {
    TrainConfig cfg;
    cfg.arch = lyra::model::Arch::Llama;
    cfg.n_vocab = 19;
    cfg.n_ctx = 8;
    cfg.n_embd = 16;
    cfg.n_layer = 2;
    cfg.n_head = 4;
    cfg.n_head_kv = 2;
    TrainModel model(cfg);
    model.init_random(11);
    LoraAdapter lora(model, {.rank = 2, .alpha = 4.0f, .dropout = 0.0f,
                             .targets = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate",
                                         "ffn_up", "ffn_down"}});
    lyra::core::Rng rng(5);
    for (float& v : lora.params()) v = rng.normal() * 0.3f;
    constexpr int64_t B = 2, T = 6;
    std::vector<int32_t> tokens(B * T), targets(B * T);
    for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = static_cast<int32_t>(rng.next_u64() % 19);
        targets[i] = static_cast<int32_t>(rng.next_u64() % 19);
    }
    lyra::core::ThreadPool pool(1);
    model.set_adapter(&lora);
    model.zero_grad(pool);
    lora.zero_grad();
    model.forward(pool, tokens.data(), targets.data(), B, T);
    model.backward(pool);
    EXPECT_TRUE(model.grads().empty());
    EXPECT_EQ(model.grad_bytes(), 0u);
    const std::vector<float> g(lora.grads().begin(), lora.grads().end());
    auto loss = [&] { return static_cast<double>(model.forward(pool, tokens.data(), targets.data(), B, T)); };
    double worst = 0.0;
    int checked = 0;
    for (const auto& p : lora.param_info()) {
        // The entry with the largest gradient of each A and B, where float rounding of the loss
        // matters least.
        size_t at = p.offset;
        for (size_t i = p.offset; i < p.offset + p.numel; ++i)
            if (std::fabs(g[i]) > std::fabs(g[at])) at = i;
        const float keep = lora.params()[at];
        constexpr float h = 1e-2f;
        lora.params()[at] = keep + h;
        const double up = loss();
        lora.params()[at] = keep - h;
        const double down = loss();
        lora.params()[at] = keep;
        const double fd = (up - down) / (2.0 * static_cast<double>(h));
        const double err = std::fabs(fd - static_cast<double>(g[at])) / std::max(1e-3, std::fabs(fd));
        EXPECT_LT(err, 2e-2) << p.name << ": analytic " << g[at] << ", finite difference " << fd;
        worst = std::max(worst, err);
        ++checked;
    }
    EXPECT_EQ(checked, 28);
    std::printf("[lora] frozen base: %d adapter gradients vs finite differences, worst rel diff %.3g\n",
                checked, worst);
}

TEST_F(FineTuneTest, LoraRecipeErrorsNameTheKey) {
    const std::string base = train_base(1);
    auto e = expect_error([&] {
        std::string t = finetune_recipe(base, 1) + lora_table();
        t.replace(t.find("base = "), 0, "n_embd = 32\nn_layer = 1\nn_head = 4\n#");  // from scratch
        parse_recipe_string(t, "t.toml");
    });
    EXPECT_TRUE(names(e, "[lora] needs a base model")) << e.what();
    e = expect_error([&] { parse_recipe_string(finetune_recipe(base, 1) + lora_table("scale = 2\n"), "t.toml"); });
    EXPECT_TRUE(names(e, "lora.scale: unknown key")) << e.what();
    e = expect_error([&] {
        std::string t = finetune_recipe(base, 1) + lora_table();
        t.replace(t.find("\"ffn_down\""), 10, "\"attn_qkv\"");
        Trainer(parse_recipe_string(t, "t.toml"), quiet());
    });
    EXPECT_EQ(e.kind(), lyra::ErrorKind::InvalidArgument);
    EXPECT_TRUE(names(e, "lora.targets: 'attn_qkv'") && names(e, "ffn_gate")) << e.what();
}

// Writes an adapter file with the given tensors (all f32 zeros of the given shapes).
void write_adapter(const std::string& path, const std::string& arch,
                   const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors,
                   const std::string& type = "adapter") {
    lyra::model::GgufWriter w;
    w.set_string("general.architecture", arch);
    w.set_string("general.type", type);
    w.set_string("adapter.type", "lora");
    w.set_f32("adapter.lora.alpha", 8.0f);
    std::vector<float> zeros(4096, 0.0f);
    for (const auto& [name, shape] : tensors) {
        lyra::core::Tensor t;
        for (int64_t d : shape) t.shape[static_cast<size_t>(t.n_dims++)] = d;
        t.data = zeros.data();
        w.add_tensor(name, t);
    }
    w.write(path);
}

TEST_F(FineTuneTest, BadAdapterFilesAreOneClearErrorAndWriteNothing) {
    const std::string base = train_base(1);  // llama, width 32, 2 layers, kv width 16
    struct Case {
        const char* what;
        std::string arch, type;
        std::vector<std::pair<std::string, std::vector<int64_t>>> tensors;
        lyra::ErrorKind kind;
        const char* message;
    };
    const std::vector<Case> cases = {
        {"unknown tensor", "llama", "adapter",
         {{"blk.7.attn_q.weight.lora_a", {4, 32}}, {"blk.7.attn_q.weight.lora_b", {32, 4}}},
         lyra::ErrorKind::Corrupt, "adapts 'blk.7.attn_q.weight', which is not a weight matrix"},
        {"shapes disagree", "llama", "adapter",
         {{"blk.0.attn_k.weight.lora_a", {4, 32}}, {"blk.0.attn_k.weight.lora_b", {32, 4}}},
         lyra::ErrorKind::Corrupt, "'blk.0.attn_k.weight' is [16, 32] in the base"},
        {"half a pair", "llama", "adapter", {{"blk.0.attn_q.weight.lora_a", {4, 32}}},
         lyra::ErrorKind::Corrupt, "only one of .lora_a and .lora_b"},
        {"not a lora tensor", "llama", "adapter", {{"blk.0.attn_q.weight", {32, 32}}},
         lyra::ErrorKind::Corrupt, "not a .lora_a or .lora_b tensor"},
        {"a model, not an adapter", "llama", "model", {{"blk.0.attn_q.weight.lora_a", {4, 32}}},
         lyra::ErrorKind::Corrupt, "not a LoRA adapter"},
        {"another architecture", "gpt2", "adapter", {{"blk.0.attn_q.weight.lora_a", {4, 32}}},
         lyra::ErrorKind::Unsupported, "made for architecture 'gpt2'"},
    };
    for (const Case& c : cases) {
        write_adapter(path("bad.gguf"), c.arch, c.tensors, c.type);
        const auto e = expect_error([&] { merge_lora(base, path("bad.gguf"), 1.0f, path("out.gguf")); });
        EXPECT_EQ(e.kind(), c.kind) << c.what << ": " << e.what();
        EXPECT_TRUE(names(e, c.message) && names(e, path("bad.gguf"))) << c.what << ": " << e.what();
        EXPECT_FALSE(fs::exists(path("out.gguf"))) << c.what;
        EXPECT_THROW(load_model_with_lora(base, path("bad.gguf"), 1.0f), lyra::Error) << c.what;
    }
    const auto e = expect_error([&] { merge_lora(base, path("missing.gguf"), 1.0f, path("out.gguf")); });
    EXPECT_EQ(e.kind(), lyra::ErrorKind::NotFound) << e.what();
}

}  // namespace
