// Stories and screenplays, planned then written (issue #8, docs/story.md).
// Stages, each prompted with the earlier ones:
//   premise -> bible (setting, characters: names drafted by the model under a name grammar)
//           -> outline (acts -> scenes: title, place, characters chosen from the bible by a
//              JSON-schema constraint, one-line summary)
//           -> prose per scene (short), or a screenplay scene per outline scene under a
//              Fountain grammar (screenplay.h); form "outline" stops after the outline.
// Earlier scenes enter later prompts as summaries (the outline's line plus a recap of the prose),
// oldest dropped first when the prompt would overflow the model's context, and the bible is
// re-injected at the top of every prompt. A planner (request key "planner": a t5 GGUF,
// art/common/text_to_text.h) writes the recaps abstractively, titles the work and picks the
// premise's keywords; without one the recap is extractive (the encoder critic's most central
// sentence, or the first sentence) and the title is the setting's.
// Every stage is written to the output directory (bible.json, outline.json with the title,
// outline.md, scene-NN.txt or .fountain, recaps.json, story.md or screenplay.fountain +
// screenplay.html) so a user can edit outline.json and regenerate from it ("from_outline"), and
// prompts.json keeps every prompt the decoder saw, by stage.
// Prompts are plain continuations or, for an instruct model, rendered through its chat template
// (request key "prompt_format", art/common/prompt_format.h): a system message with the planner's
// or the writer's role, a user message with the same context, the reply under the same schemas
// and grammars.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "art/common/art.h"

namespace lyra::art::story {

using nlohmann::json;

struct Character {
    std::string name = {};
    std::string role = {};  // "protagonist", "antagonist", "ally", ...
};

struct Bible {
    std::string premise = {};
    std::string genre = {};
    std::string pov = {};     // "first", "third"
    std::string setting = {};  // a place name
    std::vector<std::string> places = {};  // where scenes happen
    std::vector<Character> characters = {};
    json to_json() const;
    static Bible from_json(const json& j, const std::string& where);  // throws Error(Corrupt)
    std::string summary() const;  // one paragraph for prompts
};

struct Scene {
    int act = 1;
    int number = 1;  // across the whole story, from 1
    std::string title = {};
    std::string place = {};
    bool interior = true;
    bool night = false;
    std::vector<std::string> characters = {};
    std::string summary = {};
};

struct Outline {
    int acts = 3;
    std::vector<Scene> scenes = {};
    json to_json() const;
    static Outline from_json(const json& j, const Bible& bible, const std::string& where);
    std::string to_markdown(const Bible& bible) const;
};

// The story form's entry point (registry name "story"). Request keys: premise, form
// (short|screenplay|outline), length (words, 50..20000), genre, pov (first|third), acts (1..5),
// from_outline (path to an edited outline.json), planner (t5 GGUF path; another kind of model is
// refused with Error(InvalidArgument) before anything is written), prompt_format (auto|plain|chat;
// recorded as resolved), plus the common keys.
ArtResult run_story(const json& request, Context& ctx);

}  // namespace lyra::art::story
