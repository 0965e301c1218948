// What a generation loop does when a sequence's session is full: slide it, when the model allows,
// or end. One function so that the Generator, the batching Scheduler and classifier-free
// guidance's second session (guidance.h) all slide alike. Its own header because guidance.h sits
// below generator.h (which includes it) and needs nothing else from there.
// Stateless; touches only the session it is given.
#pragma once

#include "model/model.h"

namespace lyra::gen {

// A full session's way on: a model that reads only its last slide_keep() positions, by distance
// (Transformer-XL's memory), keeps them moved to the front (Session::keep_last) and returns
// true; any other model cannot go on and returns false, leaving s as it was (the sequence ends:
// finish "length"), as does a session too short to hold more than slide_keep() positions.
bool slide_full_session(const model::Model& m, model::Session& s);

}  // namespace lyra::gen
