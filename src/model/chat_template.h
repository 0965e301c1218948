// Chat templates: recognises the family of a model's tokenizer.chat_template (a Jinja string)
// by its markers and renders {role, content} messages to the prompt text exactly as that
// family's published template does (ChatML/Qwen, Llama 3, Llama 2, Mistral, Gemma). Lyra does
// not run Jinja; an unrecognised template falls back to ChatML and says so (`fell_back`).
// The rendered text contains special-token text (e.g. "<|im_start|>", the BOS "<s>"): encode it
// with parse_special = true and add_bos = false. Pure functions; thread-safe; never throw.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lyra::model {

struct ChatMessage {
    std::string role;  // "system", "user", "assistant" (others pass through where allowed)
    std::string content;
};

enum class ChatFamily { ChatML, Llama3, Llama2, Mistral, Gemma };

struct ChatFormat {
    ChatFamily family = ChatFamily::ChatML;
    bool recognised = false;     // false: unknown or empty template, ChatML used instead
    std::string bos_token;       // text the template writes as bos_token ("" for ChatML)
    std::string eos_token;       // text the template writes as eos_token
    std::string default_system;  // ChatML/Qwen: system message added when none is given
};

// "chatml", "llama3", "llama2", "mistral", "gemma".
const char* chat_family_name(ChatFamily family);

// Recognises `template_text` by its markers: "<|im_start|>" ChatML, "<|start_header_id|>"
// Llama 3, "<start_of_turn>" Gemma, "[INST]" with "<<SYS>>" Llama 2, "[INST]" alone Mistral.
// A ChatML template that writes a literal default system message (Qwen2's "You are a helpful
// assistant.") gets it as default_system.
ChatFormat detect_chat_format(std::string_view template_text);

// Renders the conversation. add_generation_prompt appends the header of an assistant turn
// (ChatML, Llama 3, Gemma; Llama 2 and Mistral have none: their prompt ends with " [/INST]").
// Llama 2, Mistral and Gemma templates take no system turn of their own; a system message
// is folded into the first user turn (Llama 2 inside <<SYS>>...<</SYS>>; Mistral and Gemma
// as "system\n\nuser", as llama.cpp does, since their templates would raise an error).
std::string render_chat(const ChatFormat& format, std::span<const ChatMessage> messages,
                        bool add_generation_prompt);

// The markers that end an assistant turn in this family, first the end-of-turn token's text
// and then the next turn's opening: stop strings for a reply, so a model whose vocabulary
// lacks them as control tokens still stops at the end of its turn.
std::vector<std::string> chat_end_of_turn(ChatFamily family);

struct RenderedChat {
    std::string text;
    ChatFamily family = ChatFamily::ChatML;
    bool fell_back = false;  // the template was not recognised; ChatML was used
};
// detect_chat_format + render_chat.
RenderedChat apply_chat_template(std::string_view template_text,
                                 std::span<const ChatMessage> messages, bool add_generation_prompt);

}  // namespace lyra::model
