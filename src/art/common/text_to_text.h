// Text-to-text with an encoder-decoder model (t5; issue 10): the input is the encoder's source,
// the decoder writes the answer through the normal Generator (Model::prefill), and the answer is
// cleaned to one line of valid UTF-8. The planners use it for the tasks T5 was trained on by
// task prefix: abstractive summaries ("summarize: "), and for titles and keywords of a brief.
// Greedy by default, so the same model and input give the same answer. Thread-safety as the
// Model: any number of calls may share one model, each with its own pool.
// Throws Error(InvalidArgument) for a model that is not an encoder-decoder (load planners with
// ModelCache::encoder_decoder, which refuses them before loading), and the generator's errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"

namespace lyra::art {

struct TextToTextOptions {
    int max_tokens = 48;       // answer length cap in decoder tokens
    float temperature = 0.0f;  // 0 = greedy
    uint64_t seed = 0;         // used when temperature > 0
    size_t max_bytes = 400;    // the cleaned answer is cut (at a word) to this many bytes
};

// T5's own task prefix for summaries (Raffel et al. 2020, appendix D).
inline constexpr std::string_view kSummarizePrefix = "summarize: ";
// No stock T5 task writes titles or keywords; models fine-tuned for them are prompted so.
inline constexpr std::string_view kTitlePrefix = "headline: ";
inline constexpr std::string_view kKeywordsPrefix = "keywords: ";

// Throws Error(InvalidArgument) unless `general_architecture` (a GGUF's) is an encoder-decoder
// Lyra runs (t5); the message names `path`, the kind of model it is (encoder-only, decoder-only)
// and the kind needed. ModelCache::encoder_decoder calls it before loading.
void check_encoder_decoder(std::string_view general_architecture, std::string_view path);

// Runs `input` (task prefix included) through `m` and returns the cleaned answer (see
// clean_answer); "" when the model answers only end-of-sequence. An input longer than the
// model's context is cut at its end to fit (the source is what the encoder can read).
std::string text_to_text(const model::Model& m, std::string_view input, core::ThreadPool& pool,
                         const TextToTextOptions& o = {});

// One line of text: invalid UTF-8 dropped, every run of white space (new lines included) one
// space, trimmed, cut at the last space within max_bytes (or at max_bytes on a character
// boundary when there is none).
std::string clean_answer(std::string_view text, size_t max_bytes);

// The planner's tasks, each a fixed prefix and budget over text_to_text:
// an abstractive summary of `text` ("summarize: " + text, up to 48 tokens);
std::string t5_summary(const model::Model& m, std::string_view text, core::ThreadPool& pool);
// a title for a work from its brief ("headline: " + brief, up to 16 tokens), cleaned further by
// clean_title; "" when nothing usable came back;
std::string t5_title(const model::Model& m, std::string_view brief, core::ThreadPool& pool);
// up to `k` keywords of a brief ("keywords: " + brief), kept only where they are words of the
// brief (see words_of_brief): a model that answers anything else yields none.
std::vector<std::string> t5_keywords(const model::Model& m, std::string_view brief, size_t k,
                                     core::ThreadPool& pool);

// A title from a model's answer: its first clause (up to . ! ? ; : or a comma), at most eight
// words, no surrounding quotes, the first letter in capitals when it is an ASCII letter.
std::string clean_title(std::string_view answer);

// The distinct words of `answer` (runs of ASCII letters, lower-cased, three or more) that are
// also words of `brief`, in the answer's order, at most k: what makes a model's keyword answer
// safe to use.
std::vector<std::string> words_of_brief(std::string_view answer, std::string_view brief, size_t k);

}  // namespace lyra::art
