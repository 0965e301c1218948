// Chat templates: each family's rendering compared with the prompt text written out by hand
// from that family's published Jinja template.
#include "model/chat_template.h"

#include <gtest/gtest.h>

namespace lyra::model {
namespace {

// Template strings as shipped in the models' tokenizer_config.json (abridged to the parts
// that carry the markers; Lyra recognises, it does not execute Jinja).
constexpr std::string_view kQwen2 =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
constexpr std::string_view kChatML =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";
constexpr std::string_view kLlama3 =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | "
    "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
    "{% endif %}{{ content }}{% endfor %}";
constexpr std::string_view kLlama2 =
    "{% if messages[0]['role'] == 'system' %}...{% set content = '<<SYS>>\\n' + system_message "
    "+ '\\n<</SYS>>\\n\\n' + message['content'] %}...{{ bos_token + '[INST] ' + content.strip() "
    "+ ' [/INST]' }}";
constexpr std::string_view kMistral =
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ message['content'] + eos_token}}{% endif %}{% endfor %}";
constexpr std::string_view kGemma =
    "{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + role + '\\n' + "
    "message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}";

const std::vector<ChatMessage> kConversation = {
    {"system", "Be brief."},
    {"user", " Hi! "},
    {"assistant", "Hello.\n"},
    {"user", "A poem?"},
};

TEST(ChatTemplate, RecognisesFamiliesByMarkers) {
    EXPECT_EQ(detect_chat_format(kQwen2).family, ChatFamily::ChatML);
    EXPECT_EQ(detect_chat_format(kLlama3).family, ChatFamily::Llama3);
    EXPECT_EQ(detect_chat_format(kLlama2).family, ChatFamily::Llama2);
    EXPECT_EQ(detect_chat_format(kMistral).family, ChatFamily::Mistral);
    EXPECT_EQ(detect_chat_format(kGemma).family, ChatFamily::Gemma);
    EXPECT_TRUE(detect_chat_format(kGemma).recognised);
    EXPECT_EQ(detect_chat_format(kQwen2).default_system, "You are a helpful assistant.");
    EXPECT_EQ(detect_chat_format(kChatML).default_system, "");
}

TEST(ChatTemplate, RendersChatML) {
    auto r = apply_chat_template(kChatML, kConversation, true);
    EXPECT_FALSE(r.fell_back);
    EXPECT_EQ(r.text,
              "<|im_start|>system\nBe brief.<|im_end|>\n"
              "<|im_start|>user\n Hi! <|im_end|>\n"
              "<|im_start|>assistant\nHello.\n<|im_end|>\n"
              "<|im_start|>user\nA poem?<|im_end|>\n"
              "<|im_start|>assistant\n");
}

TEST(ChatTemplate, RendersQwen2DefaultSystemTurn) {
    std::vector<ChatMessage> msgs = {{"user", "Hi"}};
    EXPECT_EQ(apply_chat_template(kQwen2, msgs, false).text,
              "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
              "<|im_start|>user\nHi<|im_end|>\n");
    // With a system turn of its own, no default is added.
    EXPECT_EQ(apply_chat_template(kQwen2, kConversation, false).text.find("helpful"),
              std::string::npos);
}

TEST(ChatTemplate, RendersLlama3WithTrimmedContent) {
    auto r = apply_chat_template(kLlama3, kConversation, true);
    EXPECT_EQ(r.text,
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nA poem?<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, RendersLlama2WithSystemBlockInFirstTurn) {
    auto r = apply_chat_template(kLlama2, kConversation, true);
    EXPECT_EQ(r.text,
              "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n Hi! [/INST] Hello. </s>"
              "<s>[INST] A poem? [/INST]");
    std::vector<ChatMessage> no_system = {{"user", "Hi"}};
    EXPECT_EQ(apply_chat_template(kLlama2, no_system, true).text, "<s>[INST] Hi [/INST]");
}

TEST(ChatTemplate, RendersMistralWithoutSystemBlock) {
    auto r = apply_chat_template(kMistral, kConversation, true);
    EXPECT_EQ(r.text, "<s>[INST] Be brief.\n\n Hi!  [/INST]Hello.\n</s>[INST] A poem? [/INST]");
}

TEST(ChatTemplate, RendersGemmaWithModelRole) {
    auto r = apply_chat_template(kGemma, kConversation, true);
    EXPECT_EQ(r.text,
              "<bos><start_of_turn>user\nBe brief.\n\n Hi!<end_of_turn>\n"
              "<start_of_turn>model\nHello.<end_of_turn>\n"
              "<start_of_turn>user\nA poem?<end_of_turn>\n"
              "<start_of_turn>model\n");
}

TEST(ChatTemplate, FallsBackToChatMLForUnknownTemplates) {
    std::vector<ChatMessage> msgs = {{"user", "Hi"}};
    for (std::string_view t : {std::string_view("{{ messages }}"), std::string_view("")}) {
        auto r = apply_chat_template(t, msgs, true);
        EXPECT_TRUE(r.fell_back);
        EXPECT_EQ(r.family, ChatFamily::ChatML);
        EXPECT_EQ(r.text, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }
}

}  // namespace
}  // namespace lyra::model
