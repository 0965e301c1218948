// Classifier-free guidance (CFG; Ho & Salimans 2022, applied to language models by Sanchez et
// al. 2023): at each step the model also reads the same generated tokens after a neutral prompt
// (the "unconditioned" context), and the sampler chain sees
//     log_softmax(cond) + g * (log_softmax(cond) - log_softmax(uncond)),
// which pushes the choice towards what the real prompt makes more likely than the neutral one
// (issue 7: a small drawing model's weak tie between its subject line and the shapes).
// A Guidance owns the unconditioned Session and is driven in lockstep with the caller's own
// session: one batched forward (Model::decode_batch) decodes both rows, so a step costs about
// one forward of two rows, not two forwards. Not thread-safe (one per generation stream). The
// model's own distribution (Completion.token_logprobs) stays the conditioned one.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"

namespace lyra::gen {

using model::TokenId;

// out[i] = lc[i] + scale * (lc[i] - lu[i]) with lc = log_softmax(cond), lu = log_softmax(uncond)
// (max-subtracted, sums in double). A token the conditioned row rules out (-inf) stays out; one
// only the unconditioned row rules out keeps its conditioned value (the difference would be +inf
// and swamp every other token). cond and uncond have the same size; out is resized to it.
void combine_guidance(std::span<const float> cond, std::span<const float> uncond, float scale,
                      std::vector<float>& out);

// Throws Error(InvalidArgument) unless scale is a finite number >= 0 (0 = off).
void check_guidance_scale(float scale);

class Guidance {
public:
    Guidance(const model::Model& model, core::ThreadPool& pool);

    // Reads the neutral prompt into a fresh session with room for max_tokens more positions
    // (capped by the model's context) and keeps its last logits for every candidate.
    // `prompt` is already tokens (BOS included where the vocabulary wants one).
    void prefill(std::span<const TokenId> prompt, int max_tokens, core::DType kv_type);
    // Back to the end of the neutral prompt for a new candidate (no second prefill unless the
    // last candidate slid it out of a sliding model's cache); guidance is on again.
    void begin_candidate();

    // One lockstep step: `token` (the one just sampled) goes into both `cond` at its next
    // position and the unconditioned session, in one Model::decode_batch; cond_logits receives
    // the conditioned row (bit for bit what Model::forward(cond, {token}) gives) and logits()
    // the unconditioned one. When the unconditioned session is full and the model cannot slide
    // it, guidance turns off for the rest of the candidate (active() false) and only `cond` is
    // decoded. The caller makes room in `cond` first.
    void decode(model::Session& cond, TokenId token, std::vector<float>& cond_logits);

    // The logits the sampler chain should see for this step: combine_guidance(cond_logits,
    // logits(), scale) in a buffer this object reuses, or cond_logits itself when not active().
    std::span<const float> guide(std::span<const float> cond_logits, float scale);

    bool active() const { return active_; }
    std::span<const float> logits() const { return logits_; }  // the unconditioned row
    const model::Session& session() const { return *session_; }

private:
    const model::Model& model_;
    core::ThreadPool& pool_;
    std::vector<TokenId> prompt_;
    int max_tokens_ = 0;
    core::DType kv_type_ = core::DType::F16;
    std::optional<model::Session> session_;
    std::vector<TokenId> cached_;        // what prefill left in the cache (Model::prefill)
    std::vector<float> prompt_logits_;   // the neutral prompt's last row
    std::vector<float> logits_;          // the current unconditioned row
    std::vector<float> batch_;           // decode_batch's [2, n_vocab]
    std::vector<float> combined_;        // guide()'s output
    bool active_ = false;
    bool slid_ = false;
};

}  // namespace lyra::gen
