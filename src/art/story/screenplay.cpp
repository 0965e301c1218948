// Fountain scene grammar and HTML formatting (screenplay.h).
#include "art/story/screenplay.h"

#include <cctype>
#include <sstream>

#include <fmt/format.h>

#include "art/common/text.h"
#include "generate/constraint/grammar.h"

namespace lyra::art::story {

namespace {

std::string upper(const std::string& s) {
    std::string out = s;
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

bool all_caps_line(const std::string& s) {
    bool letter = false;
    for (unsigned char c : s) {
        if (std::islower(c)) return false;
        if (std::isupper(c)) letter = true;
    }
    return letter;
}

}  // namespace

std::string scene_heading(const std::string& place, bool interior, bool night) {
    return fmt::format("{} {} - {}", interior ? "INT." : "EXT.", upper(place), night ? "NIGHT" : "DAY");
}

std::string scene_gbnf(const std::string& heading, const std::vector<std::string>& cues, bool last,
                       int min_blocks, int max_blocks) {
    namespace c = gen::constraint;
    std::string cue_alts;
    for (const std::string& name : cues) {
        if (!cue_alts.empty()) cue_alts += " | ";
        cue_alts += fmt::format("\"{}\"", c::gbnf_escape(upper(name)));
    }
    std::string g = fmt::format("root ::= \"{}\" block{{{},{}}} trans\n", c::gbnf_escape(heading + "\n\n"),
                                min_blocks, max_blocks);
    g += cues.empty() ? "block ::= action\n" : "block ::= action | dialogue\n";
    g += "action ::= [A-Z] [a-z]{1,9} (\" \" [a-z]{1,9}){2,9} \".\\n\\n\"\n";
    if (!cues.empty()) {
        g += "dialogue ::= cue \"\\n\" paren? speech \"\\n\\n\"\n";
        g += "cue ::= " + cue_alts + "\n";
        g += "paren ::= \"(\" [a-z]{3,9} (\" \" [a-z]{2,9})? \")\\n\"\n";
        g += "speech ::= [A-Z] [a-z]{0,9} (\" \" [a-z]{1,9}){1,9} [.!?]\n";
    }
    g += last ? "trans ::= \"FADE OUT.\\n\"\n" : "trans ::= \"CUT TO:\\n\"\n";
    return g;
}

std::string fountain_to_html(const std::string& title, const std::string& fountain) {
    std::string body;
    std::istringstream in(fountain);
    std::string line;
    std::vector<std::string> lines;
    while (std::getline(in, line)) lines.push_back(line);
    bool in_dialogue = false;
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string& l = lines[i];
        if (l.empty()) {
            in_dialogue = false;
            continue;
        }
        const std::string e = xml_escape(l);
        if (l.rfind("INT.", 0) == 0 || l.rfind("EXT.", 0) == 0) {
            body += "<p class=\"heading\">" + e + "</p>\n";
        } else if (l == "CUT TO:" || l == "FADE OUT." || (all_caps_line(l) && l.size() > 3 && l.substr(l.size() - 3) == "TO:")) {
            body += "<p class=\"transition\">" + e + "</p>\n";
        } else if (in_dialogue && l.front() == '(') {
            body += "<p class=\"parenthetical\">" + e + "</p>\n";
        } else if (in_dialogue) {
            body += "<p class=\"dialogue\">" + e + "</p>\n";
        } else if (all_caps_line(l) && i + 1 < lines.size() && !lines[i + 1].empty()) {
            body += "<p class=\"character\">" + e + "</p>\n";
            in_dialogue = true;
        } else {
            body += "<p class=\"action\">" + e + "</p>\n";
        }
    }
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + xml_escape(title) +
           "</title>\n<style>\n"
           "body{font-family:'Courier Prime','Courier New',monospace;font-size:12pt;max-width:6in;margin:1in auto;line-height:1.2}\n"
           "h1{text-align:center;font-size:12pt;text-transform:uppercase;margin-bottom:3em}\n"
           ".heading{font-weight:bold;margin-top:2em}\n"
           ".character{margin:1em 0 0 2in}\n"
           ".parenthetical{margin:0 0 0 1.5in}\n"
           ".dialogue{margin:0 1.5in 0 1in}\n"
           ".transition{text-align:right;margin-top:1em}\n"
           "p{margin:1em 0 0 0}\n.dialogue,.parenthetical{margin-top:0}\n"
           "</style></head><body>\n<h1>" + xml_escape(title) + "</h1>\n" + body + "</body></html>\n";
}

}  // namespace lyra::art::story
