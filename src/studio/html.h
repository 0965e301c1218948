// Small HTML helpers shared by the pages the studio writes (the demo page, the gallery export).
#pragma once

#include <string>
#include <string_view>

namespace lyra::studio {

// `s` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

// Escapes text for HTML element content and attribute values. C0 control bytes (which an
// untrained model can emit) and invalid UTF-8 become U+FFFD; newlines and tabs are kept.
std::string html_escape(std::string_view s);

// The head of a standalone page (doctype, charset, title, a small shared stylesheet) up to and
// including <body>.
std::string html_page_head(std::string_view title);

}  // namespace lyra::studio
