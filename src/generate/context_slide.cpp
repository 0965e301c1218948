// Sliding a full session (context_slide.h).
#include "generate/context_slide.h"

#include <cstdint>

namespace lyra::gen {

bool slide_full_session(const model::Model& m, model::Session& s) {
    const int64_t keep = m.slide_keep();
    if (keep <= 0 || keep >= s.n_ctx()) return false;
    s.keep_last(keep);
    return true;
}

}  // namespace lyra::gen
