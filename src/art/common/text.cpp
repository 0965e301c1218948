#include "art/common/text.h"

#include <algorithm>

#include "generate/generator.h"

namespace lyra::art {

std::string drop_front_utf8(std::string_view s, size_t n) {
    n = std::min(n, s.size());
    while (n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) ++n;
    return std::string(s.substr(n));
}

std::string drop_invalid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    // find_invalid_utf8 reports the first byte that cannot start or continue a character; the
    // bytes before it are valid, so copy them, skip that one byte and look again from there.
    while (auto bad = gen::find_invalid_utf8(s)) {
        out.append(s.substr(0, *bad));
        s.remove_prefix(*bad + 1);
    }
    out.append(s);
    return out;
}

size_t utf8_char_at(std::string_view s, size_t i, uint32_t& cp) {
    if (i >= s.size()) return 0;
    const auto lead = static_cast<unsigned char>(s[i]);
    const size_t len = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return 0;
    uint32_t c = len == 1 ? lead : lead & (0x7Fu >> len);
    for (size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) return 0;
        c = (c << 6) | (b & 0x3Fu);
    }
    // the shortest form only, no surrogates, nothing past U+10FFFF
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < kMin[len] || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) return 0;
    cp = c;
    return len;
}

std::string xml_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace lyra::art
