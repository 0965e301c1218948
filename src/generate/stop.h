// Stop rules: when a generation ends, and which text it may show. StopStrings holds text back
// while it could still be the start of a stop string (stop strings can span token boundaries),
// and cuts the output just before the first stop string it finds (the stop string itself is
// never shown). Plain value type; one per generation stream; never throws after construction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lyra::gen {

enum class FinishReason {
    Stop,       // a stop string matched
    Length,     // max_tokens reached (or the context filled up)
    Eos,        // the model produced an end-of-generation token
    Cancelled,  // the streaming callback asked to stop
};
const char* finish_reason_name(FinishReason r);  // "stop" | "length" | "eos" | "cancelled"

class StopStrings {
public:
    // Empty strings in `stops` are ignored.
    explicit StopStrings(std::vector<std::string> stops = {});

    // Takes the next piece of decoded text; returns the part that is now safe to show.
    // After a stop string matched, stopped() is true and later pushes return "".
    std::string push(std::string_view text);
    // End of generation without a match: everything still held back.
    std::string flush();

    bool stopped() const { return stopped_; }
    const std::string& matched() const { return matched_; }  // the stop string that matched
    size_t held_bytes() const { return held_.size(); }

private:
    std::vector<std::string> stops_;
    std::string held_;
    std::string matched_;
    bool stopped_ = false;
};

}  // namespace lyra::gen
