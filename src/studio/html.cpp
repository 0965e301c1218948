// HTML helpers (html.h).
#include "studio/html.h"

#include <nlohmann/json.hpp>

namespace lyra::studio {

std::string valid_utf8(std::string_view s) {
    // The JSON serialiser's replace mode does exactly this; parsing its output back undoes the
    // quoting and escapes.
    return nlohmann::json::parse(nlohmann::json(std::string(s))
                                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
        .get<std::string>();
}

std::string html_escape(std::string_view raw) {
    const std::string valid = valid_utf8(raw);
    std::string out;
    out.reserve(valid.size());
    for (char c : valid) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            case '\n':
            case '\t': out += c; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                    out += "\xEF\xBF\xBD";
                } else {
                    out += c;
                }
        }
    }
    return out;
}

std::string html_page_head(std::string_view title) {
    return "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
           html_escape(title) +
           "</title>\n<style>\n"
           "body{font-family:Georgia,serif;max-width:56em;margin:2em auto;padding:0 1em;"
           "color:#222;background:#fbfaf7}\n"
           "pre{white-space:pre-wrap;background:#fff;border:1px solid #ddd;padding:1em}\n"
           "section{border-top:1px solid #ddd;margin-top:1.5em}\n"
           ".meta{font:0.8em monospace;color:#666}\n"
           ".note{background:#fff4d6;border:1px solid #e6cf8a;padding:0.6em 1em}\n"
           ".missing{color:#a33}\n"
           "table.scores td{padding:0 0.8em 0 0;font:0.85em monospace}\n"
           "img.art{max-width:22em;border:1px solid #ddd;background:#fff}\n"
           "</style>\n</head>\n<body>\n";
}

}  // namespace lyra::studio
