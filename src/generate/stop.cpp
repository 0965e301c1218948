// StopStrings (stop.h).
#include "generate/stop.h"

#include <algorithm>

namespace lyra::gen {

const char* finish_reason_name(FinishReason r) {
    switch (r) {
        case FinishReason::Stop: return "stop";
        case FinishReason::Length: return "length";
        case FinishReason::Eos: return "eos";
        case FinishReason::Cancelled: return "cancelled";
    }
    return "?";
}

StopStrings::StopStrings(std::vector<std::string> stops) {
    for (auto& s : stops) {
        if (!s.empty()) stops_.push_back(std::move(s));
    }
}

std::string StopStrings::push(std::string_view text) {
    if (stopped_) return {};
    held_.append(text);

    // 1. A complete stop string anywhere in the held text: cut just before the earliest one.
    size_t cut = std::string::npos;
    for (const auto& s : stops_) {
        const size_t at = held_.find(s);
        if (at != std::string::npos && (cut == std::string::npos || at < cut)) {
            cut = at;
            matched_ = s;
        }
    }
    if (cut != std::string::npos) {
        std::string out = held_.substr(0, cut);
        held_.clear();
        stopped_ = true;
        return out;
    }

    // 2. Otherwise hold back the longest tail that is a proper prefix of some stop string.
    size_t hold = 0;
    for (const auto& s : stops_) {
        const size_t max_len = std::min(s.size() - 1, held_.size());
        for (size_t len = max_len; len > hold; --len) {
            if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
                hold = len;
                break;
            }
        }
    }
    std::string out = held_.substr(0, held_.size() - hold);
    held_.erase(0, held_.size() - hold);
    return out;
}

std::string StopStrings::flush() {
    std::string out;
    out.swap(held_);
    return out;
}

}  // namespace lyra::gen
