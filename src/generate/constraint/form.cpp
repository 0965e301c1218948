// FormConstraint (form.h). Each token's characters are precomputed once; most candidates then
// take a constant-time check (units left in the line), and only tokens with line breaks, fixed
// positions ahead or partial UTF-8 are stepped byte by byte.
#include "generate/constraint/form.h"

#include <algorithm>
#include <chrono>
#include <limits>

namespace lyra::gen::constraint {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

bool is_cjk(uint32_t cp) {
    return (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) ||
           (cp >= 0xF900 && cp <= 0xFAFF);
}

// Decodes s as whole UTF-8 characters; false if it is not exactly that.
bool decode_all(const std::string& s, std::vector<uint32_t>& out) {
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

}  // namespace

FormSpec acrostic_form(std::u32string_view head, int units) {
    FormSpec spec;
    for (char32_t c : head) spec.lines.push_back({.units = units, .fixed = {{0, static_cast<uint32_t>(c)}}});
    return spec;
}

FormConstraint::FormConstraint(FormSpec spec, const model::Tokenizer& tok)
    : spec_(std::move(spec)), tok_(tok) {
    if (!spec_.is_unit) spec_.is_unit = is_cjk;
    const auto n = static_cast<size_t>(tok.n_vocab());
    bytes_.resize(n);
    info_.resize(n);
    std::vector<uint32_t> cps;
    for (model::TokenId id = 0; id < tok.n_vocab(); ++id) {
        TokenInfo& t = info_[static_cast<size_t>(id)];
        if (tok.is_eog(id)) {
            t.eog = true;
            continue;
        }
        if (tok.is_control(id) || tok.token_type(id) == model::TokenType::Unknown) {
            t.skip = true;
            continue;
        }
        std::string b = tok.token_to_bytes(id);
        if (b.empty()) {
            t.skip = true;
            continue;
        }
        if (decode_all(b, cps)) {
            t.simple = true;
            for (uint32_t cp : cps) {
                if (cp == '\n' || (spec_.allowed && !spec_.allowed(cp))) t.simple = false;
                if (spec_.is_unit(cp)) ++t.units;
            }
            // A token with a character that is never allowed can never fit.
            if (!t.simple && spec_.allowed) {
                for (uint32_t cp : cps)
                    if (cp != '\n' && !spec_.allowed(cp)) t.skip = true;
            }
        }
        bytes_[static_cast<size_t>(id)] = std::move(b);
    }
    reset();
}

void FormConstraint::reset() {
    cur_ = Cursor{};
    text_.clear();
    status_ = ConstraintStatus::Active;
}

bool FormConstraint::is_complete() const {
    if (cur_.need != 0) return false;
    if (spec_.lines.empty()) return true;
    const auto last = static_cast<int>(spec_.lines.size()) - 1;
    const int target = spec_.lines[static_cast<size_t>(last)].units;
    return cur_.line == last && (target == 0 || cur_.units == target);
}

bool FormConstraint::unit_ok(const Cursor& cur, int count) const {
    if (spec_.lines.empty() || count == 0) return true;
    if (cur.line >= static_cast<int>(spec_.lines.size())) return false;
    const FormLine& line = spec_.lines[static_cast<size_t>(cur.line)];
    if (line.units > 0 && cur.units + count > line.units) return false;
    // Fixed characters inside the span need the slow path to check which character lands there.
    if (!line.fixed.empty()) {
        auto it = line.fixed.lower_bound(cur.units);
        if (it != line.fixed.end() && it->first < cur.units + count) return false;
    }
    return true;
}

bool FormConstraint::step(Cursor& cur, uint8_t b) const {
    uint32_t cp = 0;
    if (cur.need == 0) {
        if (b < 0x80) {
            cp = b;
        } else {
            const int len = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
            if (len == 0) return false;
            cur.cp = len == 2 ? (b & 0x1Fu) : len == 3 ? (b & 0x0Fu) : (b & 0x07u);
            cur.need = len - 1;
            cur.len = len;
            return can_complete(cur);
        }
    } else {
        if ((b & 0xC0) != 0x80) return false;
        cur.cp = (cur.cp << 6) | (b & 0x3Fu);
        if (--cur.need > 0) return can_complete(cur);
        cp = cur.cp;
        const uint32_t min_cp = cur.len == 2 ? 0x80 : cur.len == 3 ? 0x800 : 0x10000;
        if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    }
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
    auto it = line.fixed.find(cur.units);
    if (it != line.fixed.end() && it->second != cp) return false;
    ++cur.units;
    return true;
}

// A fixed character is due within the next `count` units of the current line.
bool FormConstraint::has_fixed_ahead(const Cursor& cur, int count) const {
    if (spec_.lines.empty() || cur.line >= static_cast<int>(spec_.lines.size())) return false;
    const auto& fixed = spec_.lines[static_cast<size_t>(cur.line)].fixed;
    auto it = fixed.lower_bound(cur.units);
    return it != fixed.end() && it->first < cur.units + count;
}

// Half a character is taken only if some character it can become fits here: allowed, and a
// unit only where the line has room (and it is the fixed character due there, if any).
bool FormConstraint::can_complete(const Cursor& cur) const {
    const int shift = 6 * cur.need;
    const uint32_t min_cp = cur.len == 2 ? 0x80 : cur.len == 3 ? 0x800 : 0x10000;
    const uint32_t lo = std::max(cur.cp << shift, min_cp);
    const uint32_t hi = std::min((cur.cp << shift) | ((1u << shift) - 1), uint32_t{0x10FFFF});
    bool room = true;
    const uint32_t* fixed = nullptr;
    if (!spec_.lines.empty()) {
        room = cur.line < static_cast<int>(spec_.lines.size());
        if (room) {
            const FormLine& line = spec_.lines[static_cast<size_t>(cur.line)];
            room = line.units == 0 || cur.units < line.units;
            auto it = line.fixed.find(cur.units);
            if (it != line.fixed.end()) fixed = &it->second;
        }
    }
    const uint64_t key = (static_cast<uint64_t>(cur.cp) << 8) | (static_cast<uint64_t>(cur.need) << 4) |
                         (static_cast<uint64_t>(cur.len) << 1) | (room ? 1u : 0u);
    if (fixed == nullptr) {
        auto it = feasible_.find(key);
        if (it != feasible_.end()) return it->second;
    }
    bool ok = false;
    for (uint32_t cp = lo; cp <= hi && !ok; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        if (spec_.allowed && !spec_.allowed(cp)) continue;
        if (!spec_.is_unit(cp)) ok = true;
        else ok = room && (fixed == nullptr || *fixed == cp);
    }
    if (fixed == nullptr) feasible_.emplace(key, ok);
    return ok;
}

bool FormConstraint::fits(const Cursor& cur, TokenId id) const {
    const TokenInfo& t = info_[static_cast<size_t>(id)];
    if (t.skip) return false;
    if (t.eog) return is_complete();
    const std::string& b = bytes_[static_cast<size_t>(id)];
    Cursor c = cur;
    if (t.simple && cur.need == 0 && unit_ok(cur, t.units)) {
        // whole allowed characters, no break, room in the line: fits as is
    } else if (t.simple && cur.need == 0 && !has_fixed_ahead(cur, t.units)) {
        return false;  // no break in the token and too many units for the line
    } else {
        for (char ch : b)
            if (!step(c, static_cast<uint8_t>(ch))) return false;
    }
    if (spec_.predicate && c.need == 0) return spec_.predicate(text_ + b);
    return true;
}

void FormConstraint::apply(CandidateSet& c) {
    const int64_t t0 = now_us();
    ++stats_.n_masks;
    bool any = false;
    for (auto& cand : c.items) {
        if (cand.logit == kNegInf) continue;
        if (status_ == ConstraintStatus::DeadEnd || !fits(cur_, cand.id)) {
            cand.logit = kNegInf;
        } else {
            any = true;
        }
    }
    if (!any) {
        status_ = ConstraintStatus::DeadEnd;
        for (auto& cand : c.items)
            if (tok_.is_eog(cand.id)) cand.logit = 0.0f;
    }
    stats_.t_mask_us += now_us() - t0;
}

void FormConstraint::accept(TokenId id) {
    if (id < 0 || id >= static_cast<TokenId>(info_.size())) return;
    if (info_[static_cast<size_t>(id)].eog) {
        if (status_ == ConstraintStatus::Active && is_complete()) status_ = ConstraintStatus::Complete;
        return;
    }
    const std::string& b = bytes_[static_cast<size_t>(id)];
    for (char ch : b) {
        if (!step(cur_, static_cast<uint8_t>(ch))) {
            status_ = ConstraintStatus::DeadEnd;  // only if the caller ignored the mask
            return;
        }
    }
    text_ += b;
}

}  // namespace lyra::gen::constraint
