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

}  // namespace lyra::art
