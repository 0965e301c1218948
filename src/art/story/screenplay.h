// Screenplays in Fountain (https://fountain.io): the grammar a scene is generated under and the
// HTML page a screenplay is formatted as.
// A scene is: a scene heading ("INT. HALL - NIGHT"), then blocks separated by blank lines:
// action (a sentence), or dialogue (a character cue in capitals from the bible, an optional
// parenthetical "(quietly)", one line of speech), and a transition at the end ("CUT TO:").
#pragma once

#include <string>
#include <vector>

namespace lyra::art::story {

// "INT. GREAT HALL - NIGHT"
std::string scene_heading(const std::string& place, bool interior, bool night);

// GBNF for one scene with the given heading; cues are the characters' names in capitals.
// `last` ends with "FADE OUT." instead of "CUT TO:". blocks: how many action/dialogue blocks
// (min..max).
std::string scene_gbnf(const std::string& heading, const std::vector<std::string>& cues, bool last,
                       int min_blocks, int max_blocks);

// A Fountain document as an HTML page (screenplay layout: headings, centred cues and
// dialogue, parentheticals, right-aligned transitions). Text is HTML-escaped.
std::string fountain_to_html(const std::string& title, const std::string& fountain);

}  // namespace lyra::art::story
