// Chat template families (chat_template.h). Each renderer follows the Jinja template published
// with the family's models; the template text is quoted above each one, abridged.
#include "model/chat_template.h"

#include <vector>

namespace lyra::model {

namespace {

bool contains(std::string_view s, std::string_view what) {
    return s.find(what) != std::string_view::npos;
}

// Python's str.strip() / Jinja's trim, for ASCII whitespace.
std::string strip(std::string_view s) {
    constexpr std::string_view ws = " \t\n\r\f\v";
    size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(ws);
    return std::string(s.substr(b, e - b + 1));
}

// Qwen2-style templates write their default system turn as a literal:
//   '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n'
// (with "\n" as a two-character Jinja escape). Returns that literal text, or "".
std::string find_default_system(std::string_view t) {
    constexpr std::string_view head = "<|im_start|>system\\n";
    size_t p = t.find(head);
    if (p == std::string_view::npos) return {};
    p += head.size();
    size_t e = t.find("<|im_end|>", p);
    if (e == std::string_view::npos) return {};
    std::string_view lit = t.substr(p, e - p);
    if (lit.empty() || contains(lit, "{") || contains(lit, "'") || contains(lit, "\"") ||
        contains(lit, "\\"))
        return {};  // not a plain literal (an expression or an escape we would have to expand)
    return std::string(lit);
}

// {% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']
//  + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n'
//  }}{% endif %}   (Qwen2 adds a default system turn when messages[0] is not a system turn)
std::string render_chatml(const ChatFormat& f, std::span<const ChatMessage> msgs, bool gen) {
    std::string out;
    if (!f.default_system.empty() && (msgs.empty() || msgs[0].role != "system"))
        out += "<|im_start|>system\n" + f.default_system + "<|im_end|>\n";
    for (const auto& m : msgs) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    if (gen) out += "<|im_start|>assistant\n";
    return out;
}

// {% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' +
//  message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content =
//  bos_token + content %}{% endif %}{{ content }} ... {% if add_generation_prompt %}
//  {{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}
std::string render_llama3(const ChatFormat& f, std::span<const ChatMessage> msgs, bool gen) {
    std::string out;
    for (size_t i = 0; i < msgs.size(); ++i) {
        if (i == 0) out += f.bos_token;
        out += "<|start_header_id|>" + msgs[i].role + "<|end_header_id|>\n\n" +
               strip(msgs[i].content) + "<|eot_id|>";
    }
    if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
    return out;
}

// Llama-2-chat: the system message (if messages[0] is one) goes into the first user turn as
// '<<SYS>>\n' + system + '\n<</SYS>>\n\n' + content; then per turn:
//  user:      bos_token + '[INST] ' + content.strip() + ' [/INST]'
//  assistant: ' ' + content.strip() + ' ' + eos_token
std::string render_llama2(const ChatFormat& f, std::span<const ChatMessage> msgs) {
    std::string out;
    std::string system;
    bool has_system = !msgs.empty() && msgs[0].role == "system";
    if (has_system) {
        system = msgs[0].content;
        msgs = msgs.subspan(1);
    }
    for (size_t i = 0; i < msgs.size(); ++i) {
        std::string content = msgs[i].content;
        if (i == 0 && has_system) content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content;
        // (appended piece by piece: GCC 12 warns falsely on "lit" + std::string chains)
        if (msgs[i].role == "user") {
            out += f.bos_token;
            out += "[INST] ";
            out += strip(content);
            out += " [/INST]";
        } else if (msgs[i].role == "assistant") {
            out += ' ';
            out += strip(content);
            out += ' ';
            out += f.eos_token;
        }
    }
    return out;
}

// Folds a leading system message into the first user turn ("system\n\nuser").
std::vector<ChatMessage> fold_system(std::span<const ChatMessage> msgs) {
    std::vector<ChatMessage> out(msgs.begin(), msgs.end());
    if (out.empty() || out[0].role != "system") return out;
    std::string system = out[0].content;
    out.erase(out.begin());
    if (!out.empty() && out[0].role == "user")
        out[0].content = system + "\n\n" + out[0].content;
    else
        out.insert(out.begin(), ChatMessage{"user", system});
    return out;
}

// Mistral-7B-Instruct: {{ bos_token }} then per turn
//  user: '[INST] ' + content + ' [/INST]'    assistant: content + eos_token
std::string render_mistral(const ChatFormat& f, std::span<const ChatMessage> in) {
    std::vector<ChatMessage> msgs = fold_system(in);
    std::string out = f.bos_token;
    for (const auto& m : msgs) {
        if (m.role == "user")
            out += "[INST] " + m.content + " [/INST]";
        else if (m.role == "assistant")
            out += m.content + f.eos_token;
    }
    return out;
}

// Gemma: {{ bos_token }} then per turn '<start_of_turn>' + role ('assistant' -> 'model') +
//  '\n' + message['content'] | trim + '<end_of_turn>\n'; add_generation_prompt:
//  '<start_of_turn>model\n'
std::string render_gemma(const ChatFormat& f, std::span<const ChatMessage> in, bool gen) {
    std::vector<ChatMessage> msgs = fold_system(in);
    std::string out = f.bos_token;
    for (const auto& m : msgs) {
        const std::string role = m.role == "assistant" ? "model" : m.role;
        out += "<start_of_turn>" + role + "\n" + strip(m.content) + "<end_of_turn>\n";
    }
    if (gen) out += "<start_of_turn>model\n";
    return out;
}

}  // namespace

const char* chat_family_name(ChatFamily family) {
    switch (family) {
        case ChatFamily::ChatML:
            return "chatml";
        case ChatFamily::Llama3:
            return "llama3";
        case ChatFamily::Llama2:
            return "llama2";
        case ChatFamily::Mistral:
            return "mistral";
        case ChatFamily::Gemma:
            return "gemma";
    }
    return "chatml";
}

std::vector<std::string> chat_end_of_turn(ChatFamily family) {
    switch (family) {
        case ChatFamily::ChatML:
            return {"<|im_end|>", "<|im_start|>"};
        case ChatFamily::Llama3:
            return {"<|eot_id|>", "<|start_header_id|>"};
        case ChatFamily::Gemma:
            return {"<end_of_turn>", "<start_of_turn>"};
        case ChatFamily::Llama2:
        case ChatFamily::Mistral:
            return {"</s>", "[INST]"};
    }
    return {};
}

ChatFormat detect_chat_format(std::string_view t) {
    ChatFormat f;
    f.recognised = true;
    if (contains(t, "<|im_start|>")) {
        f.family = ChatFamily::ChatML;
        f.eos_token = "<|im_end|>";
        f.default_system = find_default_system(t);
    } else if (contains(t, "<|start_header_id|>")) {
        f.family = ChatFamily::Llama3;
        f.bos_token = "<|begin_of_text|>";
        f.eos_token = "<|eot_id|>";
    } else if (contains(t, "<start_of_turn>")) {
        f.family = ChatFamily::Gemma;
        f.bos_token = "<bos>";
        f.eos_token = "<eos>";
    } else if (contains(t, "[INST]")) {
        f.family = contains(t, "<<SYS>>") ? ChatFamily::Llama2 : ChatFamily::Mistral;
        f.bos_token = "<s>";
        f.eos_token = "</s>";
    } else {
        f.family = ChatFamily::ChatML;
        f.eos_token = "<|im_end|>";
        f.recognised = false;
    }
    return f;
}

std::string render_chat(const ChatFormat& f, std::span<const ChatMessage> messages,
                        bool add_generation_prompt) {
    switch (f.family) {
        case ChatFamily::ChatML:
            return render_chatml(f, messages, add_generation_prompt);
        case ChatFamily::Llama3:
            return render_llama3(f, messages, add_generation_prompt);
        case ChatFamily::Llama2:
            return render_llama2(f, messages);
        case ChatFamily::Mistral:
            return render_mistral(f, messages);
        case ChatFamily::Gemma:
            return render_gemma(f, messages, add_generation_prompt);
    }
    return render_chatml(f, messages, add_generation_prompt);
}

RenderedChat apply_chat_template(std::string_view template_text,
                                 std::span<const ChatMessage> messages,
                                 bool add_generation_prompt) {
    ChatFormat f = detect_chat_format(template_text);
    return {render_chat(f, messages, add_generation_prompt), f.family, !f.recognised};
}

}  // namespace lyra::model
