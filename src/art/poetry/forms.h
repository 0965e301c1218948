// The Chinese forms `lyra poem` offers (docs/poetry.md "Forms"): the four regulated shi forms
// with their four standard openings (仄起/平起, 首句入韵 or not) and the customary licences at the
// 1st/3rd(/5th) positions, the 词牌 read from data/poetry/ci/*.txt (embedded), and the 古体
// forms (gu.h). A form is a list of variants; each variant fixes every line's length, allowed tone
// patterns and rhyme.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "art/poetry/prosody.h"

namespace lyra::art::poetry {

struct LineDef {
    int length = 0;
    // Every tone string the line may take, each `length` chars of 'P' (平) / 'Z' (仄): the
    // licences and their exceptions (孤平, 三平尾) are expanded here, so "fits one pattern" is
    // the whole tone rule.
    std::vector<std::string> patterns = {};
    char rhyme = 0;            // 0 = no rhyme; 'A'.. = the rhyme group this line ends in
    bool repeat_ok = false;    // 叠韵: may end in the previous rhyme character
    bool repeats = false;      // 叠句: the line repeats the previous line exactly (如梦令's 5th/6th)
    char rhyme_tone() const { return patterns.empty() ? 'P' : patterns[0].back(); }
};

struct FormVariant {
    std::string name;  // "仄起首句不入韵" / the 词牌
    std::vector<LineDef> lines;
    // 换韵 (gu.h): each rhyme set, in the order its first line comes, shares no rhyme key with the
    // set before it, so the rhyme really changes (a set read as the one before is none).
    bool rhyme_changes = false;
};

// One stanza (韵段) of a 古体 form that changes its rhyme (换韵): its lines and its readings
// (rhyme tone x 首句入韵 or not), each a variant over the stanza's lines alone with rhyme set 'A'.
struct FormStanza {
    int first_line = 0;  // 0-based line of the poem where the stanza starts
    std::vector<FormVariant> variants;
};

struct FormDef {
    std::string name;         // "wujue", "ci:如梦令"
    std::string title;        // "五言绝句", "词·如梦令" (the prompt's 形式)
    std::string description;  // one line
    bool ci = false;
    bool gu = false;          // 古体 (gu.h): line count chosen by the request
    // 换韵: the stanzas, read one by one and joined (gu.h draw_stanza_variant, the checker);
    // `variants` then holds one joined reading, for what needs a variant's shape (line count,
    // lengths, acrostic). Empty: one rhyme through the poem, `variants` are all its readings.
    std::vector<FormStanza> stanzas;
    bool alternate_tones = false;  // with stanzas: the rhyme tone turns 平/仄 at every stanza
    std::vector<FormVariant> variants;
    // How a rhyme set must agree under `pingshui` (prosody.h): regulated 诗 in one 平水韵 group,
    // 词 in one 词林正韵 部, 古体 in either.
    RhymeReading rhyme_reading() const {
        return gu ? RhymeReading::GroupOrBu : ci ? RhymeReading::Bu : RhymeReading::Group;
    }
    int line_count() const { return static_cast<int>(variants[0].lines.size()); }
};

// All Chinese forms, in --list-forms order (古体 with its default line count).
const std::vector<FormDef>& zh_forms();
// Null when `name` is not a Chinese form ("ci:X" for an unknown X is null too).
const FormDef* find_zh_form(std::string_view name);

}  // namespace lyra::art::poetry
