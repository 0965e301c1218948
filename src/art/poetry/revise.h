// Revision by infilling (issue 10): `lyra poem --revise FILE --line N --pos P --critic MODEL`
// (and a "revise" request through the API). The chosen character (Chinese forms: the P-th
// CJK character of line N, punctuation not counted) or word (English forms: the P-th word)
// is masked; the masked-LM encoder named by "critic" proposes replacements; every proposal is
// checked against the poem's form (length, rhyme, tone, acrostic: check_poem) and kept only if
// it adds no fault — so a poem that keeps its form stays fully valid; the survivors are ranked
// by the masked LM's log-probability of the replacement plus the critic's fluency of the whole
// revised poem (and relevance to "theme" when given).
// Request keys: "revise" (the poem text), "line", "pos" (1-based), "form" (required), "rhyme",
// "acrostic", "theme", "critic" (required), "n" (proposals returned, default 5), "critic_weight".
#pragma once

#include <nlohmann/json.hpp>

#include "art/common/art.h"

namespace lyra::art::poetry {

// The result: text = the best revised poem; candidates = the proposals, best first, each with
// scores {"replacement", "original", "mlm_logprob", "critic_fluency", ["critic_relevance"],
// "faults"}. Throws Error(InvalidArgument) for a line/pos outside the poem or a poem the form
// does not know, Error(NotFound) when no proposal keeps the form (saying how many were tried).
ArtResult revise_poem(const nlohmann::json& request, Context& ctx);

}  // namespace lyra::art::poetry
