// Encoder critics (issue 10): a masked-LM encoder (BERT, RoBERTa, ALBERT; model/encoder.h)
// judges the candidates any art form writes, next to the form's own critics. The request's
// "critic" names the encoder GGUF (CLI --critic MODEL); each candidate then gets
//   critic_fluency    pseudo-log-likelihood per scored token, in nats (higher = more fluent),
//   critic_relevance  cosine of the candidate's and the theme's embeddings (when there is a theme),
//   critic_novelty    1 - the largest cosine to a sample of "critic_corpus" (a text file, one
//                     work per blank-line-separated block) (when a corpus is given),
// and critic_weight * (fluency + 2 relevance + novelty) is added to its ranking score, before
// the form calls rank_candidates. All candidates are judged together in batched encoder forwards. Relevance counts double because it is the one figure that
// ties a work to what the artist asked for; fluency of a tiny encoder moves over a few nats.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "art/common/art.h"
#include "model/encoder.h"

namespace lyra::art {

// The critic's figures for one text.
struct CriticFigures {
    double fluency = 0;     // nats per scored token
    double relevance = 0;   // valid when has_relevance
    double novelty = 0;     // valid when has_novelty
    bool has_relevance = false, has_novelty = false;
};

// The encoder's input for `text`, cut to the encoder's position table: [CLS] head… [SEP].
std::vector<model::TokenId> critic_tokens(const model::EncoderModel& enc, std::string_view text);

// Mean-pooled unit embeddings of up to `max_blocks` blank-line-separated blocks of the file at
// `path`, in file order. Throws Error(NotFound) when it cannot be read, Error(InvalidArgument)
// when it holds no text.
std::vector<std::vector<float>> corpus_embeddings(const model::EncoderModel& enc,
                                                  const std::string& path, size_t max_blocks,
                                                  core::ThreadPool& pool);

// What a request's candidates are judged against, embedded once per request rather than once
// per candidate: the theme (relevance) and the corpus works (novelty). An empty part is not
// judged.
struct CriticReference {
    std::vector<float> theme = {};
    std::vector<std::vector<float>> corpus = {};
};
CriticReference critic_reference(const model::EncoderModel& enc, std::string_view theme,
                                 std::vector<std::vector<float>> corpus, core::ThreadPool& pool);

// Judges one text against `ref`: judge_batch of one.
CriticFigures judge(const model::EncoderModel& enc, std::string_view text, const CriticReference& ref,
                    core::ThreadPool& pool);

// Judges each of `texts` against `ref`, the encoder running them as batches (every text's
// masked copies share the pseudo-log-likelihood forwards, the embeddings share theirs), so a
// reranker pays for n candidates far less than n times one. Figure i is texts[i]'s; it equals
// judge(texts[i]) up to float rounding (EncoderModel's batch contract).
std::vector<CriticFigures> judge_batch(const model::EncoderModel& enc,
                                       std::span<const std::string> texts,
                                       const CriticReference& ref, core::ThreadPool& pool);

// Extractive summary for planners (the story writer's recap of earlier scenes): the sentence of
// `text` (split after . ! ? and line ends) whose embedding is closest to the mean of all its
// sentences' embeddings — the most central one. "" when the text has no sentence.
std::string central_sentence(const model::EncoderModel& enc, std::string_view text, core::ThreadPool& pool);

// Up to `k` keywords of a brief: its distinct words (letters, three or more) whose embeddings lie
// closest to the whole brief's, best first.
std::vector<std::string> keywords(const model::EncoderModel& enc, std::string_view brief, size_t k,
                                  core::ThreadPool& pool);

// Adds the critic's figures (and weighted total) to every candidate of `r` when o.critic is set;
// does nothing otherwise. Throws the encoder's load errors (a decoder file given as critic is
// refused there with a message saying so).
void apply_encoder_critic(ArtResult& r, const CommonOptions& o, std::string_view theme,
                          Context& ctx);

}  // namespace lyra::art
