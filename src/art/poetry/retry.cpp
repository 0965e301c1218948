// Generate-check-regenerate for poems (retry.h).
#include "art/poetry/retry.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "art/poetry/en/en_poem.h"
#include "art/poetry/en/forms.h"
#include "art/poetry/en/verse_constraint.h"
#include "art/poetry/forms.h"
#include "art/poetry/gu.h"
#include "art/poetry/poem.h"
#include "core/error.h"

namespace lyra::art::poetry {

namespace {

using json = nlohmann::json;

// The poem at the start of a continuation: up to a blank line or the next prompt header, with
// the spaces and newlines around it trimmed.
std::string cut_poem(std::string text) {
    for (const char* end : {"\n\n", "\xE5\xBD\xA2\xE5\xBC\x8F:", "form:"}) {  // "形式:"
        const size_t at = text.find(end);
        if (at != std::string::npos && at > 0) text.resize(at);
    }
    const auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
    while (!text.empty() && space(text.back())) text.pop_back();
    size_t start = 0;
    while (start < text.size() && space(text[start])) ++start;
    return text.substr(start);
}

}  // namespace

int retry_budget(int n) { return std::max(8, 4 * n); }

ArtResult write_poem_by_retry(const json& request, const CompleteFn& complete) {
    check_keys(request,
               {"form", "theme", "title", "acrostic", "rhyme", "lines", "tone_rhyme", "stanzas",
                "pattern"},
               "poem");
    const CommonOptions common = parse_common(request);
    const std::string form = get_string(request, "form");
    const std::string title = get_string(request, "title", get_string(request, "theme"));
    const std::string acrostic = get_string(request, "acrostic");
    const bool english = en::is_form(form);
    const std::string rhyme = get_string(request, "rhyme", "pingshui");
    std::string prompt;
    int max_tokens = 0;
    // A 古体 poem is held to the shape asked for (default 8 lines; zayan its pattern), not its own.
    GuOptions gu = GuOptions::from_request(request);
    if (english) {
        // find_zh_form_for refuses the 古体 keys for the other Chinese forms; English ones too,
        // as the local path does (en::write_poem knows no such keys).
        refuse_gu_options(gu, form);
        prompt = en::make_prompt(form, title);
        max_tokens = en::VerseConstraint::max_chars(en::resolve_form(form, acrostic));
    } else {
        const FormDef* f = find_zh_form_for(request);  // 古体 with its "lines" and "tone_rhyme"
        if (f == nullptr)
            throw_error(ErrorKind::InvalidArgument, "form: unknown poem form '{}'; hint: lyra poem --list-forms", form);
        prompt = zh_prompt(f->title, title.empty() ? "无题" : title);
        if (f->gu && f->name == "zayan") {
            gu.pattern = pattern_of(*f);
        } else if (f->gu) {
            gu.lines = f->line_count();
        }
        for (const LineDef& l : f->variants[0].lines) max_tokens += 2 * (l.length + 1);  // 2 tokens a character at most
        max_tokens += 16;
    }

    ArtResult r;
    r.form = "poem";
    r.seed = common.seed;
    r.request = request;
    const int budget = retry_budget(common.n);
    int valid = 0, tries = 0;
    Candidate best_invalid;
    size_t best_faults = SIZE_MAX;
    std::vector<std::string> best_messages;
    for (; tries < budget && valid < common.n; ++tries) {
        const std::string text = cut_poem(complete(prompt, common.seed + static_cast<uint64_t>(tries), max_tokens));
        const std::vector<Fault> faults = check_poem(form, text, rhyme, acrostic, gu);
        if (!faults.empty()) {
            if (faults.size() < best_faults) {
                best_faults = faults.size();
                best_messages.clear();
                for (const Fault& f : faults) best_messages.push_back(f.message);
            }
            continue;
        }
        ++valid;
        r.candidates.push_back({.text = text,
                                .scores = {{"fallback", "generate-check-regenerate"}, {"attempt", tries + 1},
                                           {"faults", 0}},
                                .score = -static_cast<double>(tries)});  // earlier tries first
    }
    if (valid == 0)
        throw_error(ErrorKind::NotFound,
                    "poem: the model cannot be constrained token by token, and none of {} tries "
                    "keeps the form {}; the best had {} fault{}: {}",
                    tries, form, best_faults, best_faults == 1 ? "" : "s",
                    fmt::format("{}", fmt::join(best_messages, "; ")));
    rank_candidates(r);
    r.scores["fallback_attempts"] = tries;
    r.scores["fallback_valid"] = valid;
    return r;
}

}  // namespace lyra::art::poetry
