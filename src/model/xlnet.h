// XLNet's full two-stream forward (HF XLNetLMHeadModel called with perm_mask, target_mapping
// and token_type_ids), beside the two generation orders Model::forward runs (HParams::Xlnet).
// The content stream h sees what the permutation mask allows plus itself; the query stream g
// starts from mask_emb at each target position and sees what the mask allows, not itself; the
// LM head reads g. The session's cached positions are HF's mems. Not thread-safe per Session;
// the Model may be shared. Throws lyra::Error(InvalidArgument) for a model that is not XLNet or
// inputs whose sizes disagree, Error(ContextFull) when the tokens do not fit the session.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"

namespace lyra::model {

struct TwoStreamInput {
    std::span<const TokenId> tokens;    // T tokens at positions s.n_past() ...
    std::span<const int32_t> segments;  // T segment ids (HF token_type_ids; mems count as 0);
                                        // empty: no segment term
    std::span<const uint8_t> perm_mask;  // T*T, [i*T + j] != 0: i may not attend to j (HF
                                         // perm_mask); empty: every token sees every token
    std::span<const int32_t> targets;   // the token (0..T-1) each query-stream row predicts:
                                        // HF target_mapping with one 1 per row; empty: none
};

struct TwoStreamOutput {
    std::vector<float> content;  // [T, n_embd]: the last layer's content stream
    std::vector<float> logits;   // [targets, n_vocab]: the LM head on the query stream
};

// Runs `in` with the last xlnet.memory_length cached positions (all when 0) as mems, appends
// the tokens' content keys/values to the session (HF's cache_mem) and advances it.
TwoStreamOutput xlnet_two_stream(const Model& m, Session& s, const TwoStreamInput& in,
                                 core::ThreadPool& pool);

}  // namespace lyra::model
