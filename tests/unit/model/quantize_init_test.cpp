// Random init, whole-file quantization and the `lyra model` commands.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/mmap.h"
#include "core/quant.h"
#include "model/info.h"
#include "model/quantize.h"
#include "model_test_util.h"

namespace lyra::model {
namespace {

using testing::TempDir;
using testing::small_options;
using testing::write_small_model;

std::vector<float> last_logits(const Model& m) {
    core::ThreadPool pool(2);
    Session s(m);
    std::vector<float> logits;
    const std::vector<TokenId> prompt = {1, 72, 101, 108, 108, 111};
    m.forward(s, prompt, pool, logits);
    return logits;
}

double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double d = 0.0, s = 1e-30;
    for (size_t i = 0; i < a.size(); ++i) {
        d = std::max(d, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
        s = std::max(s, std::fabs(static_cast<double>(b[i])));
    }
    return d / s;
}

TEST(ModelInit, SameSeedGivesIdenticalFilesAndOtherSeedsDiffer) {
    TempDir dir;
    auto o = small_options(Arch::Llama);
    const auto a = write_small_model(dir, o, "a.gguf");
    const auto b = write_small_model(dir, o, "b.gguf");
    o.seed = 8;
    const auto c = write_small_model(dir, o, "c.gguf");
    const auto bytes = [](const std::string& p) { return core::read_file(p); };
    EXPECT_EQ(bytes(a), bytes(b));
    EXPECT_NE(bytes(a), bytes(c));
}

TEST(ModelInit, RejectsImpossibleShapes) {
    const auto kind = [](InitOptions o) {
        try {
            resolve_init_options(o);
        } catch (const Error& e) {
            return e.kind();
        }
        return ErrorKind::Io;  // "no error"
    };
    auto o = small_options(Arch::Llama);
    o.n_embd = 66;  // not divisible by 4 heads
    EXPECT_EQ(kind(o), ErrorKind::InvalidArgument);
    o = small_options(Arch::Llama);
    o.n_head_kv = 3;
    EXPECT_EQ(kind(o), ErrorKind::InvalidArgument);
    o = small_options(Arch::Gpt2);
    o.n_head_kv = 2;  // gpt2 has no GQA
    EXPECT_EQ(kind(o), ErrorKind::InvalidArgument);
    o = small_options(Arch::Qwen2);
    o.n_ff = -5;
    EXPECT_EQ(kind(o), ErrorKind::InvalidArgument);
    o = small_options(Arch::Llama);
    o.n_ff = 0;
    EXPECT_EQ(resolve_init_options(o).n_ff, 192);  // 8/3 * 64 rounded up to 32
}

TEST(ModelInit, WritesStandardMetadataAndWeightStatistics) {
    TempDir dir;
    auto o = small_options(Arch::Gpt2);
    o.bias_std = 0.0f;
    const auto m = Model::load(write_small_model(dir, o));
    const auto& g = m->gguf();
    EXPECT_EQ(g.get_string("general.architecture"), "gpt2");
    EXPECT_EQ(g.get_string("general.name"), "lyra-random");
    EXPECT_EQ(g.get_int("gpt2.context_length"), 32);
    EXPECT_TRUE(g.has("tokenizer.ggml.tokens"));
    const auto* norm = g.find_tensor("blk.0.attn_norm.weight");
    const auto* bias = g.find_tensor("blk.1.ffn_up.bias");
    ASSERT_TRUE(norm && bias);
    for (int64_t i = 0; i < 64; ++i) EXPECT_EQ(norm->tensor.f32()[i], 1.0f);
    for (int64_t i = 0; i < 128; ++i) EXPECT_EQ(bias->tensor.f32()[i], 0.0f);
    // token_embd ~ N(0, 0.05): the sample std of 260*64 values is within a few percent.
    const auto* emb = g.find_tensor("token_embd.weight");
    double ss = 0.0;
    for (int64_t i = 0; i < emb->tensor.numel(); ++i) ss += static_cast<double>(emb->tensor.f32()[i]) * static_cast<double>(emb->tensor.f32()[i]);
    EXPECT_NEAR(std::sqrt(ss / static_cast<double>(emb->tensor.numel())), 0.05, 0.003);
}

TEST(ModelQuantize, RoundTripKeepsTheModelAndTypesOnlyMatrices) {
    TempDir dir;
    const auto f32 = write_small_model(dir, small_options(Arch::Qwen2));
    const auto q8 = dir.file("q8.gguf");
    const QuantizeReport r = quantize_file(f32, q8, core::DType::Q8_0);
    EXPECT_TRUE(r.notes.empty());
    const auto a = Model::load(f32), b = Model::load(q8);
    for (const auto& t : b->gguf().tensors()) {
        const bool matrix = t.tensor.n_dims == 2;
        EXPECT_EQ(t.tensor.dtype, matrix ? core::DType::Q8_0 : core::DType::F32) << t.name;
    }
    EXPECT_EQ(b->gguf().get_int("general.file_type"), 7);
    EXPECT_EQ(a->n_params(), b->n_params());
    EXPECT_LT(r.bytes_out * 3, r.bytes_in);  // 34 bytes per 32 weights instead of 128
    // q8_0 weights keep the logits within ~1% of the f32 model's.
    EXPECT_LT(rel_diff(last_logits(*b), last_logits(*a)), 2e-2);
    // And back to f32: every tensor holds exactly the values the q8_0 file dequantizes to.
    const auto back = dir.file("back.gguf");
    quantize_file(q8, back, core::DType::F32);
    const auto c = Model::load(back);
    for (const auto& t : b->gguf().tensors()) {
        const auto* u = c->gguf().find_tensor(t.name);
        ASSERT_TRUE(u) << t.name;
        EXPECT_EQ(u->tensor.dtype, core::DType::F32);
        std::vector<float> want(static_cast<size_t>(t.tensor.numel()));
        for (int64_t row = 0; row < t.tensor.rows(); ++row)
            core::dequantize_row(t.tensor.dtype, t.tensor.row(row), want.data() + row * t.tensor.cols(),
                                 t.tensor.cols());
        EXPECT_EQ(std::vector<float>(u->tensor.f32(), u->tensor.f32() + u->tensor.numel()), want) << t.name;
    }
}

TEST(ModelQuantize, KQuantFallsBackToQ8WhenRowsDoNotFitAndSaysSo) {
    TempDir dir;
    const auto f32 = write_small_model(dir, small_options(Arch::Llama));  // rows of 64 and 128
    const QuantizeReport r = quantize_file(f32, dir.file("k.gguf"), core::DType::Q4_K);
    ASSERT_FALSE(r.notes.empty());
    EXPECT_NE(r.notes[0].find("q8_0"), std::string::npos) << r.notes[0];
    EXPECT_EQ(r.tensors_per_type.count(core::DType::Q4_K), 0u);
    EXPECT_GT(r.tensors_per_type.at(core::DType::Q8_0), 0);
}

TEST(ModelQuantize, RefusesToOverwriteItsInput) {
    TempDir dir;
    const auto f32 = write_small_model(dir, small_options(Arch::Llama));
    EXPECT_THROW(quantize_file(f32, f32, core::DType::Q8_0), Error);
}

TEST(ModelInfo, SummarisesShapeTypesAndTokenizer) {
    TempDir dir;
    const auto path = write_small_model(dir, small_options(Arch::Llama, core::DType::Q8_0));
    const ModelInfo i = inspect_model(path);
    EXPECT_EQ(i.hparams.n_layer, 2);
    EXPECT_EQ(i.tensor_types.at("q8_0"), 2 * 7 + 2);  // 7 matrices per layer, embd, output
    EXPECT_EQ(i.tensor_types.at("f32"), 2 * 2 + 1);
    EXPECT_EQ(i.tokenizer_kind, "llama");
    EXPECT_FALSE(i.has_chat_template);
    EXPECT_GT(i.file_bytes, 0u);
    const std::string j = info_json(i);
    EXPECT_NE(j.find("\"architecture\":\"llama\""), std::string::npos) << j;
    EXPECT_NE(j.find("\"n_params\":"), std::string::npos) << j;
}

// ---- the `lyra model` command, as a user runs it ----

struct CmdResult {
    int code;
    std::string out;
};

CmdResult lyra(const std::string& args) {
    const char* bin = std::getenv("LYRA_BIN");
    if (!bin) return {-1, "LYRA_BIN unset; run through ctest"};
    const std::string cmd = std::string(bin) + " " + args + " 2>&1";
    std::FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    const int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(ModelCommand, InitQuantizeInfoRoundTrip) {
    TempDir dir;
    const auto f = dir.file("m.gguf"), q = dir.file("q.gguf");
    CmdResult r = lyra("model init --arch llama --dim 64 --layers 2 --heads 4 --kv-heads 2 --ffn 128 --ctx 64 "
                 "--tokenizer bytes -o " + f);
    ASSERT_EQ(r.code, 0) << r.out;
    r = lyra("model quantize " + f + " " + q + " --type q4_0");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("q4_0 x16"), std::string::npos) << r.out;
    r = lyra("model info " + q + " --json");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("\"q4_0\":16"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"n_head_kv\":2"), std::string::npos) << r.out;
    r = lyra("model info " + q);
    EXPECT_NE(r.out.find("architecture:  llama"), std::string::npos) << r.out;
}

TEST(ModelCommand, BadValuesGiveOneClearLineAndTheRightExitCode) {
    TempDir dir;
    const auto out = dir.file("x.gguf");
    CmdResult r = lyra("model init --arch llama --dim 66 --layers 1 --heads 4 --tokenizer bytes -o " + out);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("dim 66 is not divisible by heads 4"), std::string::npos) << r.out;
    r = lyra("model init --arch llama --dim 64 --layers 1 --heads 4 --ffn 0 --tokenizer bytes -o " + out);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("--ffn is 0"), std::string::npos) << r.out;
    r = lyra("model init --arch rwkv --dim 64 --layers 1 --heads 4 --tokenizer bytes -o " + out);
    EXPECT_EQ(r.code, 2) << r.out;
    r = lyra("model init --arch llama --dim 64 --layers 1 --heads 4 --tokenizer char:/no/such.txt -o " + out);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("/no/such.txt"), std::string::npos) << r.out;
    r = lyra("model quantize /no/such.gguf " + out + " --type q8_0");
    EXPECT_EQ(r.code, 1);
    r = lyra("model quantize a b --type q3_k");
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

TEST(ModelCommand, ImportWritesALoadableModelAndFailsCleanly) {
    TempDir dir;
    const char* src = std::getenv("LYRA_SOURCE_DIR");
    const char* py = std::getenv("LYRA_PYTHON");
    ASSERT_TRUE(src && py) << "run through ctest";
    const auto hf = dir.file("hf"), out = dir.file("q.gguf");
    const std::string make = std::string(py) + " " + src + "/tests/unit/format/make_hf_fixture.py qwen2 " + hf +
                             " --kv-heads 2 > /dev/null";
    ASSERT_EQ(std::system(make.c_str()), 0) << make;
    CmdResult r = lyra("model import " + hf + " -o " + out + " --type bf16");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("qwen2"), std::string::npos) << r.out;
    const ModelInfo i = inspect_model(out);
    EXPECT_EQ(i.hparams.arch, Arch::Qwen2);
    EXPECT_EQ(i.hparams.n_head_kv, 2);
    EXPECT_GT(i.tensor_types.at("bf16"), 0);
    r = lyra("model import " + dir.file("nothing") + " -o " + dir.file("n.gguf"));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_FALSE(std::filesystem::exists(dir.file("n.gguf")));
    r = lyra("model import " + hf + " -o " + dir.file("n.gguf") + " --type q4_0");
    EXPECT_EQ(r.code, 2) << r.out;
}

TEST(ModelCommand, TokenizerCanBeCopiedFromAnotherModel) {
    TempDir dir;
    const auto text = dir.file("t.txt"), a = dir.file("a.gguf"), b = dir.file("b.gguf");
    core::write_file_atomic(text, "hello world");
    ASSERT_EQ(lyra("model init --arch llama --dim 32 --layers 1 --heads 2 --ctx 16 --tokenizer char:" + text +
                   " -o " + a).code, 0);
    const CmdResult r = lyra("model init --arch qwen2 --dim 32 --layers 1 --heads 2 --ctx 16 --tokenizer " + a +
                             " -o " + b);
    ASSERT_EQ(r.code, 0) << r.out;
    const auto ma = Model::load(a), mb = Model::load(b);
    EXPECT_EQ(mb->tokenizer().n_vocab(), ma->tokenizer().n_vocab());
    EXPECT_EQ(mb->tokenizer().encode("hello"), ma->tokenizer().encode("hello"));
}

TEST(ModelCommand, CharTokenizerTakesTheTopCharactersOfAFile) {
    TempDir dir;
    const auto text = dir.file("t.txt"), out = dir.file("c.gguf");
    core::write_file_atomic(text, "abracadabra");
    CmdResult r = lyra("model init --arch gpt2 --dim 32 --layers 1 --heads 2 --ctx 16 --tokenizer char:" + text +
                 ":3 -o " + out);
    ASSERT_EQ(r.code, 0) << r.out;
    const auto m = Model::load(out);
    EXPECT_EQ(m->hparams().n_vocab, build_char_vocab("abracadabra", 3)->n_vocab());
}

}  // namespace
}  // namespace lyra::model
