// Prompt formats for the forms that prompt a decoder with gathered context (story, play), so
// any instruct GGUF model a user brings can be the narrator and the planner (issue #8):
//   plain: text continuation, as a base model reads it: context lines, then a cue the model
//          continues ("Setting: ", "Player: go north\nNarrator:").
//   chat:  the model's own chat template (model/chat_template.h): a system message with the
//          role and its rules, a user message with the same context and the request, then the
//          assistant turn opened (optionally with the start of the reply already written, which
//          the model continues). A constraint (JSON schema, screenplay grammar) applies to the
//          assistant's reply as it does to a plain continuation, and free text also stops at
//          the template's end-of-turn markers.
// Request key "prompt_format": "auto" (default: chat when the model file carries a recognised
// tokenizer.chat_template, plain otherwise), "plain" or "chat". Plain prompts are exactly what
// the forms wrote before chat existed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "generate/generator.h"
#include "model/chat_template.h"
#include "model/model.h"

namespace lyra::art {

enum class PromptFormat { Plain, Chat };

const char* prompt_format_name(PromptFormat f);  // "plain", "chat"

// One stage's prompt, in the pieces each format needs.
struct PromptParts {
    std::string system = {};             // chat: the role and its rules (kept whole)
    std::vector<std::string> head = {};  // context lines (both formats), dropped oldest first
                                         // when the prompt does not fit
    std::string tail = {};               // plain: the closing cue the model continues (kept)
    std::string ask = {};                // chat: the request closing the user message (kept)
    std::string reply_start = {};        // chat: the start of the assistant's reply, continued
    // chat: earlier exchanges (user message, assistant reply), oldest first, rendered as
    // messages between the system message and the user message. Plain prompts ignore them: a
    // form puts its earlier turns into `head` there.
    std::vector<std::pair<std::string, std::string>> exchanges = {};
    // chat: when the prompt does not fit, the first `head_before_exchanges` head lines go
    // first, then the exchanges (oldest first), then the other head lines; so the priorities
    // match a plain prompt whose head holds those lines before its earlier turns.
    size_t head_before_exchanges = 0;
};

// Fits a plain prompt into `n_ctx - reserve - 1` tokens: head lines dropped oldest first, then
// the front of what is left cut (the model continues the end). `dropped` (optional) receives
// how many head lines were left out. Never empty ("\n" at least).
std::string fit_plain_prompt(const model::Tokenizer& tok, int64_t n_ctx,
                             const std::vector<std::string>& head, const std::string& tail,
                             int reserve, int* dropped = nullptr);

// Builds prompts in one format for one model. Copyable; holds the Model by pointer (the caller
// keeps it alive). Thread-compatible (const methods only).
class Prompter {
public:
    // `choice` is the request's "auto", "plain" or "chat". Throws Error(InvalidArgument) for
    // another value, and for "chat" when the model file has no tokenizer.chat_template (naming
    // the file). "chat" with a template Lyra does not recognise renders ChatML, as the server's
    // /v1/chat/completions does; "auto" takes plain there.
    Prompter(const model::Model& model, std::string_view choice);

    PromptFormat format() const { return format_; }
    bool chat() const { return format_ == PromptFormat::Chat; }
    const char* name() const { return prompt_format_name(format_); }
    // The chat family rendered ("chatml", "llama3", ...), or "" for plain.
    std::string family() const;

    // The prompt for `p`, leaving `reserve` tokens of the context for the reply. Chat: head
    // lines and exchanges are dropped in the order PromptParts describes, then the front of the reply start, of the user message
    // and of the system message is cut, until the rendered prompt fits. `dropped` as in
    // fit_plain_prompt.
    std::string build(const PromptParts& p, int reserve, int* dropped = nullptr) const;
    // Tokens of a built prompt, counted as the generator will encode it.
    int64_t count_tokens(std::string_view prompt) const;
    // Chat: no BOS of the tokenizer's own (the template writes it), special-token text parsed,
    // and, without a constraint, the end-of-turn markers added to the stop strings. Plain:
    // leaves `o` as it is.
    void apply(gen::GenerateOptions& o) const;

private:
    const model::Model* model_;
    PromptFormat format_ = PromptFormat::Plain;
    model::ChatFormat chat_ = {};
};

}  // namespace lyra::art
