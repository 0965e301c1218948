// Tokenizer <-> GGUF tokenizer.ggml.* keys: write_gguf then from_gguf gives the same vocabulary,
// and defective keys give the right error.
#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.h"
#include "fixtures.h"
#include "model/format/gguf.h"
#include "model/tokenizer/char_vocab.h"

namespace lyra::model {
namespace {

using Ids = std::vector<TokenId>;

std::string temp_path(const std::string& name) {
    return testing::TempDir() + "/lyra_tok_" + std::to_string(getpid()) + "_" + name + ".gguf";
}

std::unique_ptr<Tokenizer> reload(const GgufWriter& w, const std::string& name) {
    const std::string path = temp_path(name);
    w.write(path);
    auto g = GgufFile::open(path);
    auto t = Tokenizer::from_gguf(*g);
    std::remove(path.c_str());
    return t;
}

ErrorKind load_error(const GgufWriter& w, const std::string& name) {
    try {
        reload(w, name);
    } catch (const Error& e) {
        std::remove(temp_path(name).c_str());
        return e.kind();
    }
    ADD_FAILURE() << "no error for " << name;
    return ErrorKind::InvalidArgument;
}

TEST(TokenizerGguf, RoundTripsSpmVocabulary) {
    Vocab v = test::spm_vocab();
    v.chat_template = "{{ messages }}";
    v.pad = 0;
    auto a = Tokenizer::from_vocab(v);
    GgufWriter w;
    a->write_gguf(w);
    auto b = reload(w, "spm");
    EXPECT_EQ(b->vocab().tokens, v.tokens);
    EXPECT_EQ(b->vocab().scores, v.scores);
    EXPECT_EQ(b->vocab().types, v.types);
    EXPECT_EQ(b->vocab().pad, 0);
    EXPECT_EQ(b->chat_template(), "{{ messages }}");
    EXPECT_TRUE(b->vocab().add_space_prefix);
    EXPECT_EQ(b->encode("hello"), (Ids{1, 259, 267, 263}));
}

TEST(TokenizerGguf, RoundTripsBpeVocabulary) {
    auto a = Tokenizer::from_vocab(test::bpe_vocab("qwen2"));
    GgufWriter w;
    a->write_gguf(w);
    auto b = reload(w, "bpe");
    EXPECT_EQ(b->kind(), "gpt2");
    EXPECT_EQ(b->vocab().pre, "qwen2");
    EXPECT_EQ(b->vocab().merges, a->vocab().merges);
    EXPECT_EQ(b->encode("hello world"), (Ids{258, 'o', 261, 'l', 'd'}));
}

TEST(TokenizerGguf, CharVocabularyRecordsNoSpacePrefix) {
    auto a = build_char_vocab("ab ba");
    GgufWriter w;
    a->write_gguf(w);
    auto b = reload(w, "char");
    EXPECT_FALSE(b->vocab().add_space_prefix);
    EXPECT_EQ(b->decode(b->encode("ab ab")), "ab ab");
    EXPECT_EQ(b->encode("ab", false).size(), 2u);
}

TEST(TokenizerGguf, LlamaDefaultsApplyWhenKeysAreAbsent) {
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>",
                                                 "\xE2\x96\x81"
                                                 "a"});
    auto t = reload(w, "defaults");
    EXPECT_EQ(t->bos(), 1);
    EXPECT_EQ(t->eos(), 2);
    EXPECT_EQ(t->encode("a"), (Ids{1, 3}));  // bos added, dummy prefix: "▁a"
}

TEST(TokenizerGguf, RejectsDefectiveKeys) {
    auto base = [] {
        GgufWriter w;
        w.set_string("tokenizer.ggml.model", "llama");
        w.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a"});
        return w;
    };
    {
        GgufWriter w;
        w.set_string("tokenizer.ggml.model", "rwkv");
        w.set_string_array("tokenizer.ggml.tokens", {"a"});
        EXPECT_EQ(load_error(w, "kind"), ErrorKind::Unsupported);
    }
    {
        GgufWriter w = base();
        w.set_f32_array("tokenizer.ggml.scores", {0, 0, 0});
        EXPECT_EQ(load_error(w, "scores"), ErrorKind::Corrupt);
    }
    {
        GgufWriter w = base();
        w.set_u32("tokenizer.ggml.eos_token_id", 4);
        EXPECT_EQ(load_error(w, "eos"), ErrorKind::Corrupt);
    }
    {
        GgufWriter w = base();
        w.set_i32_array("tokenizer.ggml.token_type", {1, 3, 3, 42});
        EXPECT_EQ(load_error(w, "type"), ErrorKind::Corrupt);
    }
    {
        GgufWriter w;
        w.set_string("tokenizer.ggml.model", "llama");
        EXPECT_EQ(load_error(w, "notokens"), ErrorKind::Corrupt);
    }
    {
        GgufWriter w;
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "ab"});
        w.set_string_array("tokenizer.ggml.merges", {"a c"});
        EXPECT_EQ(load_error(w, "merges"), ErrorKind::Corrupt);
    }
    {
        GgufWriter w;
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "ab"});
        EXPECT_EQ(load_error(w, "nomerges"), ErrorKind::Corrupt);
    }
}

}  // namespace
}  // namespace lyra::model
