// SessionShelf: the sessions (KV caches) of finished sequences, kept for the sequences that
// start next. A fresh Session's cache is a few MB even for a short completion (12 layers x 100
// positions x 768 x K and V in f16: 3.7 MB), and the kernel hands it out a zeroed 4 KiB page at
// a time: on the 2-core VM each page fault cost ~5 us, a new session 4.5 ms, and with 8 clients
// streaming 100-token completions one sequence starts every ~12 steps, ~0.4 ms a step, a tenth
// of the batched step. A kept session is cleared and handed out again instead: the positions a
// sequence reads are always ones it wrote, so what an earlier one left behind is never seen.
//
// The scheduler puts a finished sequence's session here and takes one for each joining
// sequence; it keeps at most `max_kept` and empties the shelf once it has had nothing to do
// for a while (SchedulerOptions::shelf_idle_ms), so an idle server holds no caches for long.
// Thread-safe: sequences that prefill on their own take theirs on pool workers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "core/dtype.h"
#include "model/model.h"

namespace lyra::gen {

class SessionShelf {
public:
    explicit SessionShelf(size_t max_kept) : max_kept_(max_kept) {}

    // A cleared session of `m` (n_past() 0) with kv_type and room for n_ctx positions: the kept
    // one with the least room that is enough, or a new one of exactly n_ctx when none is. A
    // session with more room than asked gives the same results: a sequence only reads positions
    // it wrote, and it ends (max_tokens) before it could use the extra room. *reused says which.
    model::Session take(const model::Model& m, int64_t n_ctx, core::DType kv_type, bool* reused);
    // Keeps s for a later take(); when max_kept are kept already, the one with the least room
    // goes (a big one serves every later request, a small one only small ones).
    void put(model::Session&& s);
    // Drops every kept session (their memory goes back to the system).
    void clear();
    size_t size() const;

private:
    mutable std::mutex mu_;
    std::vector<model::Session> kept_;
    size_t max_kept_;
};

}  // namespace lyra::gen
