// Prompt formats (art/common/prompt_format.h): which format a model gets, the chat prompts
// against ChatML and Llama 3 renderings spelled out here, fitting to the context (both
// formats), the generator settings, and the refusals.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "art/common/prompt_format.h"
#include "core/error.h"
#include "e2e/cli_runner.h"
#include "fixtures/error_of.h"
#include "fixtures/random_byte_model.h"

namespace lyra::art {
namespace {

namespace fs = std::filesystem;

const fs::path& g_dir() {
    static e2e::TempDir dir;  // removed with the models in it when the program exits
    return dir.path();
}

constexpr const char* kChatML = test::kChatMLTemplate;
constexpr const char* kLlama3 =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{{ content }}{% endfor %}";

// A random llama over a byte vocabulary carrying `chat_template` ("" = none), context n_ctx.
std::shared_ptr<const model::Model> model_with(const std::string& chat_template, int64_t n_ctx = 512) {
    const std::string name = "m-" + std::to_string(std::hash<std::string>{}(chat_template)) + "-" + std::to_string(n_ctx);
    return test::random_byte_model((g_dir() / (name + ".gguf")).string(), {.chat_template = chat_template, .n_ctx = n_ctx});
}

using test::error_of;

const PromptParts kParts{.system = "You narrate.",
                         .head = {"The keep.\n", "Lore: a key.\n"},
                         .tail = "Player: look\nNarrator:",
                         .ask = "Player: look\nNarrate what happens.",
                         .reply_start = ""};

TEST(PromptFormat, AutoIsChatForARecognisedTemplateElsePlain) {
    const auto chatml = model_with(kChatML), llama3 = model_with(kLlama3);
    const auto none = model_with(""), odd = model_with("{{ messages }}");
    EXPECT_EQ(Prompter(*chatml, "auto").format(), PromptFormat::Chat);
    EXPECT_EQ(Prompter(*chatml, "auto").family(), "chatml");
    EXPECT_EQ(Prompter(*llama3, "auto").family(), "llama3");
    EXPECT_EQ(Prompter(*none, "auto").format(), PromptFormat::Plain);
    EXPECT_EQ(Prompter(*none, "auto").family(), "");
    EXPECT_EQ(Prompter(*odd, "auto").format(), PromptFormat::Plain);  // unrecognised: plain
    EXPECT_EQ(Prompter(*chatml, "plain").format(), PromptFormat::Plain);
    // chat with an unrecognised template renders ChatML, as /v1/chat/completions does
    EXPECT_EQ(Prompter(*odd, "chat").family(), "chatml");
    EXPECT_STREQ(Prompter(*chatml, "chat").name(), "chat");
}

TEST(PromptFormat, ChatPromptIsTheTemplatesRendering) {
    const auto chatml = model_with(kChatML);
    const Prompter p(*chatml, "auto");
    EXPECT_EQ(p.build(kParts, 16),
              "<|im_start|>system\nYou narrate.<|im_end|>\n"
              "<|im_start|>user\nThe keep.\nLore: a key.\nPlayer: look\nNarrate what happens.<|im_end|>\n"
              "<|im_start|>assistant\n");
    PromptParts cont = kParts;
    cont.reply_start = "You see";
    EXPECT_EQ(p.build(cont, 16).substr(p.build(kParts, 16).size()), "You see");  // the reply is continued

    const auto llama3 = model_with(kLlama3);
    EXPECT_EQ(Prompter(*llama3, "chat").build(kParts, 16),
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou narrate.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nThe keep.\nLore: a key.\nPlayer: look\n"
              "Narrate what happens.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(PromptFormat, PlainPromptIsHeadThenTailAsBefore) {
    const auto chatml = model_with(kChatML);
    EXPECT_EQ(Prompter(*chatml, "plain").build(kParts, 16), "The keep.\nLore: a key.\nPlayer: look\nNarrator:");
    // too long for the context: the oldest head line goes first, then the front of the rest
    // (a byte vocabulary: one token per byte, plus BOS)
    const auto small = model_with("", 40);
    const Prompter p(*small, "auto");
    int dropped = -1;
    EXPECT_EQ(p.build(kParts, 1, &dropped), "Lore: a key.\nPlayer: look\nNarrator:");  // 35 bytes + BOS <= 38
    EXPECT_EQ(dropped, 1);
    EXPECT_EQ(p.build(kParts, 1), fit_plain_prompt(small->tokenizer(), 40, kParts.head, kParts.tail, 1));
    const std::string cut = p.build(kParts, 20);
    EXPECT_EQ(cut, std::string("Player: look\nNarrator:").substr(22 - cut.size()));
    EXPECT_LE(p.count_tokens(cut), 40 - 20 - 1);
}

TEST(PromptFormat, ChatPromptFitsDroppingHeadLinesThenCuttingTheUserMessage) {
    const auto chatml = model_with(kChatML, 160);
    const Prompter p(*chatml, "chat");
    const std::string full = p.build(kParts, 0);
    const int n = static_cast<int>(full.size());
    ASSERT_EQ(p.count_tokens(full), n);  // one token per byte, no BOS (the template has none)
    int dropped = -1;
    // room for all but 5 bytes: the first head line (10 bytes) goes
    const std::string one = p.build(kParts, 160 - 1 - (n - 5), &dropped);
    EXPECT_EQ(dropped, 1);
    EXPECT_EQ(one.size(), full.size() - 10);
    EXPECT_NE(one.find("user\nLore: a key.\nPlayer: look"), std::string::npos) << one;
    // no head left and still too long: the user message loses its front, the markers stay
    const std::string tight = p.build(kParts, 160 - 1 - 100, &dropped);
    EXPECT_EQ(dropped, 2);
    EXPECT_EQ(p.count_tokens(tight), 100);
    EXPECT_EQ(tight.rfind("<|im_start|>system\nYou narrate.<|im_end|>\n<|im_start|>user\n", 0), 0u) << tight;
    EXPECT_TRUE(tight.ends_with("happens.<|im_end|>\n<|im_start|>assistant\n")) << tight;
    // with a reply start, its front goes before the user message's: the request stays whole
    PromptParts cont = kParts;
    cont.reply_start = "You see a door.";
    const std::string r = p.build(cont, 160 - 1 - (n - 23 + 15 - 5), &dropped);
    EXPECT_EQ(dropped, 2);
    EXPECT_TRUE(r.ends_with("<|im_start|>user\nPlayer: look\nNarrate what happens.<|im_end|>\n"
                            "<|im_start|>assistant\nee a door.")) << r;  // "You s" cut
}

// Earlier exchanges are user/assistant messages between the system and the user message in
// chat; they go first (oldest first) when the prompt does not fit; plain prompts ignore them.
TEST(PromptFormat, ExchangesAreEarlierMessagesInChatAndIgnoredInPlain) {
    PromptParts parts = kParts;
    parts.exchanges = {{"Player: take key\nNarrate what happens.", "You take it."},
                       {"Player: north\nNarrate what happens.", "You go north."}};
    const auto chatml = model_with(kChatML, 600);
    const Prompter p(*chatml, "chat");
    const std::string full = p.build(parts, 0);
    EXPECT_EQ(full,
              "<|im_start|>system\nYou narrate.<|im_end|>\n"
              "<|im_start|>user\nPlayer: take key\nNarrate what happens.<|im_end|>\n"
              "<|im_start|>assistant\nYou take it.<|im_end|>\n"
              "<|im_start|>user\nPlayer: north\nNarrate what happens.<|im_end|>\n"
              "<|im_start|>assistant\nYou go north.<|im_end|>\n"
              "<|im_start|>user\nThe keep.\nLore: a key.\nPlayer: look\nNarrate what happens.<|im_end|>\n"
              "<|im_start|>assistant\n");
    // a little too long: the oldest exchange goes, the head lines stay
    const int n = static_cast<int>(full.size());
    int dropped = -1;
    const std::string less = p.build(parts, 600 - 1 - (n - 5), &dropped);
    EXPECT_EQ(dropped, 0);
    EXPECT_EQ(less.find("take key"), std::string::npos) << less;
    EXPECT_NE(less.find("<|im_start|>assistant\nYou go north.<|im_end|>\n"), std::string::npos) << less;
    EXPECT_NE(less.find("user\nThe keep.\nLore: a key."), std::string::npos) << less;
    // both exchanges gone before the first head line
    const std::string fewer = p.build(parts, 600 - 1 - (p.count_tokens(p.build(kParts, 0)) - 3), &dropped);
    EXPECT_EQ(dropped, 1);
    EXPECT_EQ(fewer.find("north"), std::string::npos) << fewer;
    // a form can rank head lines before the exchanges (the play's title and lore): they go first
    parts.head_before_exchanges = 1;
    const std::string ranked = p.build(parts, 600 - 1 - (n - 5), &dropped);
    EXPECT_EQ(dropped, 1);
    EXPECT_EQ(ranked.find("The keep."), std::string::npos) << ranked;
    EXPECT_NE(ranked.find("<|im_start|>assistant\nYou take it.<|im_end|>\n"), std::string::npos) << ranked;
    parts.head_before_exchanges = 0;
    // plain: byte for byte the prompt without exchanges
    EXPECT_EQ(Prompter(*chatml, "plain").build(parts, 16), Prompter(*chatml, "plain").build(kParts, 16));
    EXPECT_EQ(Prompter(*chatml, "plain").build(parts, 16), "The keep.\nLore: a key.\nPlayer: look\nNarrator:");
}

TEST(PromptFormat, GeneratorSettingsFollowTheFormat) {
    const auto chatml = model_with(kChatML);
    gen::GenerateOptions o;
    o.stop = {"\n"};
    Prompter(*chatml, "plain").apply(o);
    EXPECT_TRUE(o.add_bos);
    EXPECT_FALSE(o.parse_special);
    EXPECT_EQ(o.stop, std::vector<std::string>{"\n"});
    Prompter(*chatml, "chat").apply(o);
    EXPECT_FALSE(o.add_bos);  // the template writes its own BOS text
    EXPECT_TRUE(o.parse_special);
    EXPECT_EQ(o.stop, (std::vector<std::string>{"\n", "<|im_end|>", "<|im_start|>"}));
    struct AnyToken : gen::Constraint {
        void apply(gen::CandidateSet&) override {}
        void accept(model::TokenId) override {}
    } any;
    gen::GenerateOptions c;  // under a constraint the grammar decides where the reply ends
    c.constraint = &any;
    Prompter(*chatml, "chat").apply(c);
    EXPECT_TRUE(c.stop.empty());
}

// A vocabulary where ChatML's markers are control tokens (as in Qwen's): the chat prompt is
// counted and fed with each marker as one token, and the model's <|im_end|> ends its turn.
TEST(PromptFormat, ChatMarkersAreSpecialTokensWhenTheVocabularyHasThem) {
    model::Vocab v = model::build_byte_vocab()->vocab();
    v.chat_template = kChatML;
    for (const char* t : {"<|im_start|>", "<|im_end|>"}) {
        v.tokens.push_back(t);
        v.types.push_back(model::TokenType::Control);
        v.scores.push_back(0.0f);
    }
    const std::string path = (g_dir() / "special.gguf").string();
    model::InitOptions o;
    o.n_embd = 32;
    o.n_layer = 1;
    o.n_head = 2;
    o.n_ctx = 512;
    model::init_model(o, *model::Tokenizer::from_vocab(v), path);
    const auto m = std::shared_ptr<const model::Model>(model::Model::load(path));
    const Prompter p(*m, "auto");
    ASSERT_TRUE(p.chat());
    const std::string prompt = p.build(kParts, 16);
    // 3 <|im_start|> (system, user, assistant) and 2 <|im_end|>: one token each, the rest bytes
    const size_t markers = 5, marker_bytes = 3 * 12 + 2 * 10;
    EXPECT_EQ(p.count_tokens(prompt), static_cast<int64_t>(prompt.size() - marker_bytes + markers));
    EXPECT_TRUE(m->tokenizer().is_eog(m->tokenizer().find_token("<|im_end|>")));
    gen::GenerateOptions g;
    g.max_tokens = 2;
    g.temperature = 0;
    g.threads = 1;
    p.apply(g);
    const gen::GenerateResult r = gen::generate(*m, prompt, g);
    EXPECT_EQ(r.timings.n_prompt, p.count_tokens(prompt));  // the generator encodes it alike
    g.parse_special = false;
    g.add_bos = true;
    EXPECT_EQ(gen::generate(*m, prompt, g).timings.n_prompt, static_cast<int64_t>(prompt.size()) + 1);
}

TEST(PromptFormat, RefusesChatWithoutTemplateAndUnknownValues) {
    const auto none = model_with("");
    const std::string e = error_of([&] { (void)Prompter(*none, "chat"); });
    EXPECT_NE(e.find("no chat template"), std::string::npos) << e;
    EXPECT_NE(e.find(none->path()), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    const std::string u = error_of([&] { (void)Prompter(*none, "xml"); });
    EXPECT_EQ(u, "prompt_format: unknown value 'xml'; expected one of auto, plain, chat");
}

}  // namespace
}  // namespace lyra::art
