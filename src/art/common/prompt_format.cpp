// Plain and chat prompts for story and play (prompt_format.h).
#include "art/common/prompt_format.h"

#include <algorithm>

#include "art/common/text.h"
#include "core/error.h"

namespace lyra::art {

const char* prompt_format_name(PromptFormat f) { return f == PromptFormat::Chat ? "chat" : "plain"; }

std::string fit_plain_prompt(const model::Tokenizer& tok, int64_t n_ctx,
                             const std::vector<std::string>& head, const std::string& tail,
                             int reserve, int* dropped) {
    const int64_t budget = n_ctx - reserve - 1;
    auto count = [&](const std::string& s) { return static_cast<int64_t>(tok.encode(s, true).size()); };
    size_t first = 0;
    std::string text;
    while (true) {
        text.clear();
        for (size_t i = first; i < head.size(); ++i) text += head[i];
        text += tail;
        if (count(text) <= budget || first >= head.size()) break;
        ++first;  // drop the oldest/least important head line first
    }
    // still too long: keep the end of the tail (where the model continues); every token is at
    // least one byte, so cutting `over` bytes never cuts too much
    while (count(text) > budget && text.size() > 1) {
        text = drop_front_utf8(text, static_cast<size_t>(std::max<int64_t>(1, count(text) - budget)));
    }
    if (dropped != nullptr) *dropped = static_cast<int>(first);
    return text.empty() ? std::string("\n") : text;
}

Prompter::Prompter(const model::Model& model, std::string_view choice) : model_(&model) {
    if (choice != "auto" && choice != "plain" && choice != "chat") {
        throw_error(ErrorKind::InvalidArgument, "prompt_format: unknown value '{}'; expected one of auto, plain, chat", choice);
    }
    const std::string tmpl = model.chat_template().value_or("");
    chat_ = model::detect_chat_format(tmpl);
    if (choice == "chat") {
        if (tmpl.empty()) {
            throw_error(ErrorKind::InvalidArgument,
                        "prompt_format chat: model '{}' has no chat template (tokenizer.chat_template); "
                        "expected an instruct model that carries one, or prompt_format plain or auto",
                        model.path());
        }
        format_ = PromptFormat::Chat;
    } else if (choice == "auto") {
        format_ = !tmpl.empty() && chat_.recognised ? PromptFormat::Chat : PromptFormat::Plain;
    }
}

std::string Prompter::family() const { return chat() ? model::chat_family_name(chat_.family) : ""; }

int64_t Prompter::count_tokens(std::string_view prompt) const {
    return static_cast<int64_t>(model_->tokenizer().encode(prompt, !chat(), chat()).size());
}

std::string Prompter::build(const PromptParts& p, int reserve, int* dropped) const {
    const int64_t n_ctx = model_->hparams().n_ctx;
    if (!chat()) return fit_plain_prompt(model_->tokenizer(), n_ctx, p.head, p.tail, reserve, dropped);

    const int64_t budget = n_ctx - reserve - 1;
    std::string system = p.system, user, reply = p.reply_start;
    size_t first_exchange = 0;
    auto render = [&] {
        std::vector<model::ChatMessage> msgs = {{"system", system}};
        for (size_t i = first_exchange; i < p.exchanges.size(); ++i) {
            msgs.push_back({"user", p.exchanges[i].first});
            msgs.push_back({"assistant", p.exchanges[i].second});
        }
        msgs.push_back({"user", user});
        return model::render_chat(chat_, msgs, true) + reply;
    };
    size_t first = 0;
    std::string text;
    while (true) {
        user.clear();
        for (size_t i = first; i < p.head.size(); ++i) user += p.head[i];
        user += p.ask;
        text = render();
        if (count_tokens(text) <= budget) break;
        if (first < std::min(p.head_before_exchanges, p.head.size())) {
            ++first;
        } else if (first_exchange < p.exchanges.size()) {
            ++first_exchange;  // the oldest exchange first
        } else if (first < p.head.size()) {
            ++first;
        } else {
            break;
        }
    }
    // Still too long (a tiny context): cut the front of the reply start (the oldest of the text
    // being continued; its end is where the model goes on), then of the user message (the
    // request is at its end), then of the system message; never the template's own markers.
    for (std::string* part : {&reply, &user, &system}) {
        while (count_tokens(text) > budget && !part->empty()) {
            const int64_t over = count_tokens(text) - budget;
            *part = drop_front_utf8(*part, static_cast<size_t>(std::max<int64_t>(1, over)));
            text = render();
        }
    }
    if (dropped != nullptr) *dropped = static_cast<int>(first);
    return text;
}

void Prompter::apply(gen::GenerateOptions& o) const {
    if (!chat()) return;
    o.add_bos = false;
    o.parse_special = true;
    if (o.constraint == nullptr) {
        for (std::string& s : model::chat_end_of_turn(chat_.family)) o.stop.push_back(std::move(s));
    }
}

}  // namespace lyra::art
