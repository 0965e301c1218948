// FormConstraint (form.h). Each token's characters are precomputed once; most candidates then
// take a constant-time check (units left in the line), and only tokens with line breaks, fixed
// positions ahead or partial UTF-8 are stepped byte by byte. The syllable unit lives in
// form_syllable.cpp.
#include "generate/constraint/form.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <limits>
#include <mutex>
#include <tuple>

#include "core/clock.h"
#include "core/error.h"
#include "generate/constraint/shared_once.h"
#include "generate/constraint/token_mask.h"

namespace lyra::gen::constraint {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

}  // namespace

// can_complete's answers shared by the constraints whose specs carry the same rules_id. The
// registry keeps them (a few kB each) for the life of the process, so that a constraint built
// after the last one for its rules is gone still finds them; past 256 names it starts over
// (constraints keep the answers they hold).
struct FormConstraint::LeadAnswers {
    std::mutex mu;
    std::unordered_map<uint64_t, bool> feasible;
};

std::shared_ptr<FormConstraint::LeadAnswers> FormConstraint::lead_answers(const std::string& rules_id) {
    static std::mutex mu;
    static std::unordered_map<std::string, std::shared_ptr<LeadAnswers>> by_id;
    const std::lock_guard<std::mutex> lock(mu);
    if (by_id.size() >= 256 && by_id.count(rules_id) == 0) by_id.clear();
    auto& slot = by_id[rules_id];
    if (slot == nullptr) slot = std::make_shared<LeadAnswers>();
    return slot;
}

bool is_cjk(uint32_t cp) {
    return (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) ||
           (cp >= 0xF900 && cp <= 0xFAFF);
}

bool decode_utf8(std::string_view s, std::vector<uint32_t>& out) {
    out.clear();
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || i + len > s.size()) return false;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (size_t k = 1; k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3Fu);
        }
        out.push_back(cp);
        i += len;
    }
    return true;
}

FormSpec acrostic_form(std::u32string_view head, int units) {
    FormSpec spec;
    for (char32_t c : head) spec.lines.push_back({.units = units, .fixed = {{0, static_cast<uint32_t>(c)}}});
    return spec;
}

FormConstraint::FormConstraint(FormSpec spec, const model::Tokenizer& tok)
    : spec_(std::move(spec)), tok_(tok) {
    if (!spec_.is_unit) spec_.is_unit = is_cjk;
    for (const auto& [cp, groups] : spec_.rhyme_groups) {
        for (int g : groups)
            if (g < 0 || g >= kMaxRhymeGroups)
                throw_error(ErrorKind::InvalidArgument, "form: rhyme group {} of U+{:04X} is out of range; expected 0..{}",
                            g, cp, kMaxRhymeGroups - 1);
    }
    std::map<std::string, int> labels;
    for (size_t i = 0; i < spec_.lines.size(); ++i) {
        const FormLine& line = spec_.lines[i];
        LineRules& r = rules_.emplace_back();
        for (const auto& [at, cp] : line.fixed) r.checked.insert(at);
        for (const auto& [index, name] : line.classes) {
            auto it = spec_.classes.find(name);
            if (it == spec_.classes.end())
                throw_error(ErrorKind::InvalidArgument, "form: line {} names the class '{}', which the form does not define",
                            i + 1, name);
            if (index < 0 && line.units <= 0)
                throw_error(ErrorKind::InvalidArgument,
                            "form: line {} places class '{}' at {} from the end; expected a line with a unit count",
                            i + 1, name, -index);
            const int at = index < 0 ? line.units + index : index;
            if (at < 0 || (line.units > 0 && at >= line.units))
                throw_error(ErrorKind::InvalidArgument, "form: line {} places class '{}' at unit {}; the line has {} units",
                            i + 1, name, index, line.units);
            r.classes[at] = &it->second;
            r.checked.insert(at);
        }
        if (!line.rhyme.empty()) {
            if (line.units <= 0)
                throw_error(ErrorKind::InvalidArgument,
                            "form: line {} rhymes ('{}') but has no unit count; expected units > 0", i + 1, line.rhyme);
            auto [it, added] = labels.emplace(line.rhyme, static_cast<int>(labels.size()));
            if (it->second >= kMaxRhymeLabels)
                throw_error(ErrorKind::InvalidArgument, "form: more than {} rhyme labels; expected at most {}",
                            kMaxRhymeLabels, kMaxRhymeLabels);
            r.rhyme = it->second;
            r.checked.insert(line.units - 1);
        }
    }
    if (spec_.syllables) init_syllables();
    if (!spec_.rules_id.empty()) shared_feasible_ = lead_answers(spec_.rules_id);
    tokens_ = token_tables();
    if (spec_.syllables) syl_tab_ = syllable_tables(tokens_->syl_vocab);
    reset();
}

namespace {

std::atomic<int64_t> g_token_tables_made{0};

}  // namespace

int64_t FormConstraint::token_tables_made() { return g_token_tables_made.load(); }

std::shared_ptr<const FormConstraint::TokenTables> FormConstraint::token_tables() const {
    // Without a name for the character rules nothing says two specs agree on them.
    if (spec_.rules_id.empty()) return make_token_tables();
    // Per (vocabulary, rules, syllable unit or not: syllable tokens are never simple).
    static SharedOnce<std::tuple<uint64_t, std::string, bool>, TokenTables> cache;
    // The tokenizer's fingerprint covers all the pass reads of a token (its bytes, type, whether it
    // ends generation or is a control token); it was worked out when the tokenizer was built.
    return cache.get({tok_.vocab_fingerprint(), spec_.rules_id, spec_.syllables != nullptr},
                     [&] { return make_token_tables(); });
}

std::shared_ptr<const FormConstraint::TokenTables> FormConstraint::make_token_tables() const {
    auto tt = std::make_shared<TokenTables>();
    const auto n = static_cast<size_t>(tok_.n_vocab());
    tt->bytes.resize(n);
    tt->info.resize(n);
    tt->kind.assign(n, kNever);
    tt->first_unit.assign(n, 0);
    tt->cps_begin.assign(n + 1, 0);
    std::vector<uint32_t> cps;
    for (model::TokenId id = 0; id < tok_.n_vocab(); ++id) {
        const auto i = static_cast<size_t>(id);
        TokenInfo& t = tt->info[i];
        tt->cps_begin[i] = static_cast<uint32_t>(tt->cps.size());
        if (tok_.is_eog(id)) {
            t.eog = true;
            tt->kind[i] = kEog;
            continue;
        }
        if (tok_.is_control(id) || tok_.token_type(id) == model::TokenType::Unknown) {
            t.skip = true;
            continue;
        }
        std::string b = tok_.token_to_bytes(id);
        if (b.empty()) {
            t.skip = true;
            continue;
        }
        if (decode_utf8(b, cps)) {
            t.whole = true;
            t.simple = !spec_.syllables;  // syllables depend on the word around the token
            for (uint32_t cp : cps) {
                if (cp == '\n' || (spec_.allowed && !spec_.allowed(cp))) t.simple = false;
                if (spec_.is_unit(cp)) {
                    if (t.units == 0) tt->first_unit[i] = cp;
                    ++t.units;
                }
            }
            // A token with a character that is never allowed can never fit.
            if (!t.simple && spec_.allowed) {
                for (uint32_t cp : cps)
                    if (cp != '\n' && !spec_.allowed(cp)) t.skip = true;
            }
            tt->cps.insert(tt->cps.end(), cps.begin(), cps.end());
        }
        if (!t.skip) tt->kind[i] = t.simple && t.units <= kMaxSimpleUnits ? static_cast<int8_t>(t.units) : kWalk;
        tt->bytes[i] = std::move(b);
    }
    tt->cps_begin[n] = static_cast<uint32_t>(tt->cps.size());
    if (spec_.syllables) {
        // What the shared tables read of the vocabulary: each token's bytes and whether it ends
        // generation, which the tokenizer's fingerprint covers, and which tokens this form never
        // allows (`skip`: that depends on the spec's `allowed` too), hashed here by their ids.
        uint64_t vocab = tok_.vocab_fingerprint();
        for (size_t i = 0; i < n; ++i) {
            if (!tt->info[i].skip) continue;
            vocab = (vocab ^ i) * 0x9E3779B97F4A7C15ull;
            vocab ^= vocab >> 29;
        }
        tt->syl_vocab = vocab;
    }
    g_token_tables_made.fetch_add(1);
    return tt;
}

void FormConstraint::reset() {
    cur_ = Cursor{};
    for (GroupSet& g : cur_.rhyme) g.set();
    text_.clear();
    status_ = ConstraintStatus::Active;
}

bool FormConstraint::is_complete() const { return is_complete_at(cur_); }

bool FormConstraint::is_complete_at(const Cursor& cur) const {
    if (cur.need != 0) return false;
    if (spec_.lines.empty()) return true;
    const auto last = static_cast<int>(spec_.lines.size()) - 1;
    const int target = spec_.lines[static_cast<size_t>(last)].units;
    if (cur.line != last) return false;
    if (spec_.syllables) {
        Cursor c = cur;  // the word being written counts as ended here
        return (c.word.empty() || end_word(c)) && ((c.line_syl >> target) & 1);
    }
    return target == 0 || cur.units == target;
}

bool FormConstraint::is_closed(const Cursor& cur) const {
    // With syllables, the last word may still grow ("end" -> "ends") or take punctuation; the text
    // closes at the first character after it that is not part of it.
    return spec_.closed && cur.need == 0 && cur.word.empty() && is_complete_at(cur) && spec_.lines.back().units > 0;
}

FormConstraint::GroupSet FormConstraint::groups_of(uint32_t cp) const {
    GroupSet out;
    if (auto it = spec_.rhyme_groups.find(cp); it != spec_.rhyme_groups.end())
        for (int g : it->second) out.set(static_cast<size_t>(g));
    return out;
}

bool FormConstraint::unit_allowed(const Cursor& cur, uint32_t cp) const {
    const FormLine& line = spec_.lines[static_cast<size_t>(cur.line)];
    const LineRules& r = rules_[static_cast<size_t>(cur.line)];
    if (auto it = line.fixed.find(cur.units); it != line.fixed.end() && it->second != cp) return false;
    if (auto it = r.classes.find(cur.units); it != r.classes.end() && !(*it->second)(cp)) return false;
    if (r.rhyme >= 0 && cur.units == line.units - 1)
        return (cur.rhyme[static_cast<size_t>(r.rhyme)] & groups_of(cp)).any();
    return true;
}

bool FormConstraint::place_unit(Cursor& cur, uint32_t cp) const {
    if (!unit_allowed(cur, cp)) return false;
    const FormLine& line = spec_.lines[static_cast<size_t>(cur.line)];
    const int label = rules_[static_cast<size_t>(cur.line)].rhyme;
    if (label >= 0 && cur.units == line.units - 1) cur.rhyme[static_cast<size_t>(label)] &= groups_of(cp);
    return true;
}

bool FormConstraint::step(Cursor& cur, uint8_t b) const {
    if (is_closed(cur)) return false;
    if (cur.need == 0) {
        if (b < 0x80) return step_char(cur, b);
        const int len = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0) return false;
        cur.cp = len == 2 ? (b & 0x1Fu) : len == 3 ? (b & 0x0Fu) : (b & 0x07u);
        cur.need = len - 1;
        cur.len = len;
        return can_complete(cur);
    }
    if ((b & 0xC0) != 0x80) return false;
    cur.cp = (cur.cp << 6) | (b & 0x3Fu);
    if (--cur.need > 0) return can_complete(cur);
    const uint32_t cp = cur.cp;
    const uint32_t min_cp = cur.len == 2 ? 0x80 : cur.len == 3 ? 0x800 : 0x10000;
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    return step_char(cur, cp);
}

bool FormConstraint::step_char(Cursor& cur, uint32_t cp) const {
    if (is_closed(cur)) return false;
    if (spec_.syllables) return step_syllable(cur, cp);
    const auto n_lines = static_cast<int>(spec_.lines.size());
    if (cp == '\n') {
        if (n_lines == 0) return true;
        if (cur.line >= n_lines - 1) return false;  // no line after the last
        const int target = spec_.lines[static_cast<size_t>(cur.line)].units;
        if (target > 0 && cur.units != target) return false;  // the line is not full yet
        ++cur.line;
        cur.units = 0;
        return true;
    }
    if (spec_.allowed && !spec_.allowed(cp)) return false;
    if (!spec_.is_unit(cp) || n_lines == 0) return true;
    if (cur.line >= n_lines) return false;
    const FormLine& line = spec_.lines[static_cast<size_t>(cur.line)];
    if (line.units > 0 && cur.units >= line.units) return false;  // full: a break must come
    if (!place_unit(cur, cp)) return false;
    ++cur.units;
    return true;
}

// Half a character is taken only if some character it can become fits here: allowed, and a
// unit only where the line has room (and, at a checked position, what place_unit accepts).
bool FormConstraint::can_complete(const Cursor& cur) const {
    // A syllable form takes no multi-byte character into a word: it ends the word being written.
    if (spec_.syllables && !cur.word.empty()) {
        Cursor c = cur;
        if (!end_word(c)) return false;
    }
    const int shift = 6 * cur.need;
    const uint32_t min_cp = cur.len == 2 ? 0x80 : cur.len == 3 ? 0x800 : 0x10000;
    const uint32_t lo = std::max(cur.cp << shift, min_cp);
    const uint32_t hi = std::min((cur.cp << shift) | ((1u << shift) - 1), uint32_t{0x10FFFF});
    bool room = true, checked = false;
    if (!spec_.lines.empty()) {
        room = cur.line < static_cast<int>(spec_.lines.size());
        if (room) {
            const FormLine& line = spec_.lines[static_cast<size_t>(cur.line)];
            room = line.units == 0 || cur.units < line.units;
            checked = room && rules_[static_cast<size_t>(cur.line)].checked.count(cur.units) > 0;
        }
    }
    const uint64_t key = (static_cast<uint64_t>(cur.cp) << 8) | (static_cast<uint64_t>(cur.need) << 4) |
                         (static_cast<uint64_t>(cur.len) << 1) | (room ? 1u : 0u);
    if (!checked) {
        auto it = feasible_.find(key);
        if (it != feasible_.end()) return it->second;
        if (shared_feasible_ != nullptr) {
            const std::lock_guard<std::mutex> lock(shared_feasible_->mu);
            auto shared = shared_feasible_->feasible.find(key);
            if (shared != shared_feasible_->feasible.end()) {
                feasible_.emplace(key, shared->second);
                return shared->second;
            }
        }
    }
    bool ok = false, any_allowed = false;
    for (uint32_t cp = lo; cp <= hi && !ok; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        if (spec_.allowed && !spec_.allowed(cp)) continue;
        any_allowed = true;
        if (!spec_.is_unit(cp)) ok = true;
        else ok = room && (!checked || unit_allowed(cur, cp));
    }
    if (!checked) feasible_.emplace(key, ok);
    // With no allowed character at all in the range, the answer is no with room or without: keep
    // both. (The scan that finds nothing is the long one, every code point a 4-byte lead can
    // start; a form over letters used to make it twice, a few ms at a constraint's first masks.
    // The cache is read only where no position is checked, so the other entry is safe too.)
    if (!any_allowed) feasible_.emplace(key ^ 1u, false);
    if (shared_feasible_ != nullptr && (!checked || !any_allowed)) {
        const std::lock_guard<std::mutex> lock(shared_feasible_->mu);
        if (!checked) shared_feasible_->feasible.emplace(key, ok);
        if (!any_allowed) shared_feasible_->feasible.emplace(key ^ 1u, false);
    }
    return ok;
}

bool FormConstraint::predicate_ok(TokenId id) const {
    return !spec_.predicate || spec_.predicate(text_ + tokens_->bytes[static_cast<size_t>(id)]);
}

bool FormConstraint::walk(const Cursor& cur, TokenId id) const {
    const TokenInfo& t = tokens_->info[static_cast<size_t>(id)];
    if (t.skip) return false;
    if (t.eog) return is_complete();
    Cursor c = cur;
    for (char ch : tokens_->bytes[static_cast<size_t>(id)])
        if (!step(c, static_cast<uint8_t>(ch))) return false;
    if (spec_.syllables && !c.word.empty() && spec_.syllables->has_guess() && !word_fits(c)) return false;
    return c.need != 0 || predicate_ok(id);
}

bool FormConstraint::walk_chars(const Cursor& cur, TokenId id) const {
    const auto i = static_cast<size_t>(id);
    // Syllable forms keep the byte walk: a half-read character ends the word being written there,
    // which is what their precomputed path agrees with (U+2019 as an apostrophe goes by bytes).
    if (spec_.syllables || !tokens_->info[i].whole || cur.need != 0) return walk(cur, id);
    Cursor c = cur;
    for (uint32_t k = tokens_->cps_begin[i]; k < tokens_->cps_begin[i + 1]; ++k)
        if (!step_char(c, tokens_->cps[k])) return false;
    if (spec_.syllables && !c.word.empty() && spec_.syllables->has_guess() && !word_fits(c)) return false;
    return predicate_ok(id);
}

FormConstraint::SimplePlan FormConstraint::simple_plan() const {
    constexpr int kAny = std::numeric_limits<int>::max();
    SimplePlan plan{.closed = is_closed(cur_), .room = kAny, .free_run = kAny};
    if (spec_.lines.empty()) return plan;
    if (cur_.line >= static_cast<int>(spec_.lines.size())) {
        plan.room = 0;
        return plan;
    }
    const int units = spec_.lines[static_cast<size_t>(cur_.line)].units;
    if (units > 0) plan.room = std::max(0, units - cur_.units);
    plan.closing = spec_.closed && units > 0 && cur_.line + 1 == static_cast<int>(spec_.lines.size());
    const auto& checked = rules_[static_cast<size_t>(cur_.line)].checked;
    if (auto it = checked.lower_bound(cur_.units); it != checked.end()) plan.free_run = *it - cur_.units;
    return plan;
}

// A simple token (whole allowed characters, no line break) fits when the line has room for its
// units; only when one of them lands on a checked position does it need a closer look. The
// verdict depends on nothing but the token's summary (its kind), so it is worked out once per kind.
FormConstraint::Verdict FormConstraint::simple_verdict(const SimplePlan& plan, int kind) const {
    if (kind == kEog) return is_complete() ? Verdict::YesPlain : Verdict::No;
    if (kind == kWalk) return Verdict::Closer;
    if (kind < 0 || plan.closed || kind > plan.room) return Verdict::No;
    // A token that fills the last line of a closed form may not go on past its last unit.
    if (plan.closing && kind == plan.room && kind > 0) return Verdict::Closer;
    return kind > plan.free_run ? Verdict::Closer : Verdict::Yes;
}

// The closer look: a single unit is that one character's test (fixed, class, rhyme); more units,
// or tokens that are not simple, take the walk.
bool FormConstraint::fits_closer(const SimplePlan& plan, TokenId id) const {
    const auto i = static_cast<size_t>(id);
    const int kind = tokens_->kind[i];
    if (kind == 1 && !(plan.closing && plan.room == 1)) return unit_allowed(cur_, tokens_->first_unit[i]) && predicate_ok(id);
    return walk_chars(cur_, id);
}

namespace {

// Rules out every live candidate `fits` refuses; whether any stays.
template <class Fits>
bool mask_candidates(CandidateSet& c, Fits&& fits) {
    bool any = false;
    for (auto& cand : c.items) {
        if (cand.logit == kNegInf) continue;
        if (fits(cand.id)) any = true;
        else cand.logit = kNegInf;
    }
    return any;
}

}  // namespace

RowMask FormConstraint::mask_simple() {
    const SimplePlan plan = simple_plan();
    row_plan_ = plan;
    std::array<Verdict, 256>& by_kind = row_by_kind_;
    for (int k = -128; k < 128; ++k) by_kind[static_cast<uint8_t>(k)] = simple_verdict(plan, k);
    // The verdicts as two bit rows (yes; ask: the predicate or the closer look), kept per plan: a
    // poem's lines go through the same few plans again and again, and applying bit rows skips
    // whole words of tokens (token_mask.h) where reading each token's kind could not.
    const auto cap = [](int v) { return static_cast<uint64_t>(std::min(v, 255)); };
    const uint64_t key = cap(plan.room) | cap(plan.free_run) << 8 | uint64_t{plan.closed} << 16 |
                         uint64_t{plan.closing} << 17 | uint64_t{is_complete()} << 18;
    auto it = simple_masks_.find(key);
    if (it == simple_masks_.end()) {
        if (simple_masks_.size() >= 256) simple_masks_.clear();
        // Per kind, bit 0: allowed outright, bit 1: asked; set into the rows without a branch per
        // token (kinds come in no order a branch predictor could learn).
        std::array<uint8_t, 256> code;
        for (size_t k = 0; k < code.size(); ++k) {
            const Verdict v = by_kind[k];
            const bool yes = v == Verdict::YesPlain || (v == Verdict::Yes && !spec_.predicate);
            code[k] = v == Verdict::No ? 0 : yes ? 1 : 2;
        }
        const std::vector<int8_t>& kinds = tokens_->kind;
        SimpleMask m{.allow = std::vector<uint64_t>((kinds.size() + 63) / 64), .ask = {}};
        m.ask.resize(m.allow.size());
        for (size_t w = 0; w < m.allow.size(); ++w) {
            uint64_t allow = 0, ask = 0;
            for (size_t j = 0, i = w * 64; j < 64 && i < kinds.size(); ++j, ++i) {
                const uint64_t k = code[static_cast<uint8_t>(kinds[i])];
                allow |= (k & 1) << j;
                ask |= (k >> 1) << j;
            }
            m.allow[w] = allow;
            m.ask[w] = ask;
        }
        it = simple_masks_.emplace(key, std::move(m)).first;
    }
    const auto n_tokens = static_cast<uint32_t>(tokens_->kind.size());
    if (spec_.predicate) return {.allow = it->second.allow.data(), .ask = it->second.ask.data(), .n_tokens = n_tokens};
    // Without a predicate an asked token's answer (fits_closer) depends on the cursor only, not
    // on its logit: asked now for every asked token, into the allowed row, the mask has no asks,
    // so that its whole cost is here (also on the chain's path, where asks would be answered
    // while the candidates are written) and the set is the same (a token at -inf that is asked
    // and fits stays at -inf).
    const SimpleMask& sm = it->second;
    row_allow_.assign(sm.allow.begin(), sm.allow.end());
    for (size_t w = 0; w < sm.ask.size(); ++w) {
        for (uint64_t m = sm.ask[w]; m != 0; m &= m - 1) {
            const int j = std::countr_zero(m);
            if (fits_closer(plan, static_cast<TokenId>(w * 64 + static_cast<size_t>(j)))) row_allow_[w] |= uint64_t{1} << j;
        }
    }
    return {.allow = row_allow_.data(), .ask = nullptr, .n_tokens = n_tokens};
}

bool FormConstraint::row_decide(TokenId id) const {
    if (spec_.syllables) return syl_tab_->syl_route_[static_cast<size_t>(id)] == SylRoute::Walk || predicate_ok(id);
    const Verdict v = row_by_kind_[static_cast<uint8_t>(tokens_->kind[static_cast<size_t>(id)])];
    return v == Verdict::Yes ? predicate_ok(id) : fits_closer(row_plan_, id);
}

// The syllable unit's precomputed path covers the tokens of whole characters (syl_route_); the
// rest take the walk. Between words every such token, and inside a word the tokens that end it,
// read a kept mask; inside a word the tokens that extend it read another, kept per word so far.
RowMask FormConstraint::mask_syllables() {
    // The shared tables through locals: read through syl_tab_ inside the loops, each row's
    // pointer was loaded again per word (~10 µs a mask at 150k tokens).
    const SylTables& tab = *syl_tab_;
    const SylStep step = syllable_step();
    const bool mid_word = !cur_.word.empty();
    const bool can_end = !mid_word || step.ended != 0;  // else no kept mask: tokens that end the word cannot fit
    const uint64_t* kept =
        can_end ? syllable_items_mask(cur_.line, mid_word ? step.ended : cur_.line_syl, mid_word).data() : tab.syl_zero_.data();
    const uint64_t* heads = mid_word ? syllable_head_mask(step).data() : kept;
    // The verdicts as one bit row, word by word: the route's mask where it has one, and the walk
    // for the few tokens without (byte tokens, U+2019), applied word by word (token_mask.h).
    const size_t n_words = tab.syl_zero_.size();
    syl_yes_.resize(n_words);
    const uint64_t* items_route = tab.syl_route_bits_[0].data();
    const uint64_t* head_route = tab.syl_route_bits_[1].data();
    uint64_t* yes = syl_yes_.data();
    for (size_t w = 0; w < n_words; ++w) yes[w] = (kept[w] & items_route[w]) | (heads[w] & head_route[w]);
    for (const int32_t id : tab.syl_walk_ids_)
        if (walk(cur_, id)) syl_yes_[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
    // A yes becomes an ask where a predicate must be asked too (the walk has asked it already).
    const bool ask = static_cast<bool>(spec_.predicate);
    return {.allow = ask ? tab.syl_zero_.data() : syl_yes_.data(),
            .ask = ask ? syl_yes_.data() : nullptr,
            .n_tokens = static_cast<uint32_t>(tab.syl_route_.size())};
}

void FormConstraint::apply(CandidateSet& c) {
    const int64_t t0 = core::steady_us();
    ++stats_.n_masks;
    bool any = false;
    if (status_ == ConstraintStatus::DeadEnd) {
        for (auto& cand : c.items) cand.logit = kNegInf;
    } else if (cur_.need != 0) {  // a half-read character: only the walk knows
        any = mask_candidates(c, [&](TokenId id) { return walk(cur_, id); });
    } else {
        const RowMask m = spec_.syllables ? mask_syllables() : mask_simple();
        any = apply_token_mask(c, m.allow, m.ask, m.n_tokens, [this](TokenId id) { return row_decide(id); });
    }
    finish_mask(c, any);
    stats_.t_mask_us += core::steady_us() - t0;
}

void FormConstraint::finish_mask(CandidateSet& c, bool any) {
    if (any) return;
    status_ = ConstraintStatus::DeadEnd;
    for (auto& cand : c.items)
        if (tok_.is_eog(cand.id)) cand.logit = 0.0f;
}

bool FormConstraint::row_mask(RowMask& out) {
    if (status_ == ConstraintStatus::DeadEnd || cur_.need != 0) return false;  // apply's other paths
    const int64_t t0 = core::steady_us();
    ++stats_.n_masks;
    out = spec_.syllables ? mask_syllables() : mask_simple();
    stats_.t_mask_us += core::steady_us() - t0;
    return true;
}

void FormConstraint::row_masked(CandidateSet& c, bool any) {
    const int64_t t0 = core::steady_us();
    finish_mask(c, any);
    stats_.t_mask_us += core::steady_us() - t0;
}

void FormConstraint::accept(TokenId id) {
    if (id < 0 || id >= static_cast<TokenId>(tokens_->info.size())) return;
    if (tokens_->info[static_cast<size_t>(id)].eog) {
        if (status_ == ConstraintStatus::Active && is_complete()) status_ = ConstraintStatus::Complete;
        return;
    }
    const std::string& b = tokens_->bytes[static_cast<size_t>(id)];
    for (char ch : b) {
        if (!step(cur_, static_cast<uint8_t>(ch))) {
            status_ = ConstraintStatus::DeadEnd;  // only if the caller ignored the mask
            return;
        }
    }
    text_ += b;
}

}  // namespace lyra::gen::constraint
