#include "art/poetry/zh_constraint.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/error.h"

namespace lyra::art::poetry {

std::shared_ptr<const ZhVocab> make_zh_vocab(const model::Tokenizer& tok, RhymeBook book,
                                            RhymeReading reading) {
    const Prosody& pr = Prosody::get();
    auto v = std::make_shared<ZhVocab>();
    const auto n = static_cast<size_t>(tok.n_vocab());
    v->ch.assign(n, 0);
    v->tone.assign(n, 0);
    v->keys_p.resize(n);
    v->keys_z.resize(n);
    for (size_t id = 0; id < n; ++id) {
        const auto tid = static_cast<model::TokenId>(id);
        if (tok.is_control(tid) || tok.is_eog(tid)) continue;
        std::u32string s = to_u32(tok.token_to_bytes(tid));
        if (s.size() != 1 || !is_han(s[0])) continue;
        uint8_t t = pr.tone(s[0], book);
        if (t == 0 || v->token_of.count(s[0]) != 0) continue;
        v->ch[id] = s[0];
        v->tone[id] = t;
        v->token_of[s[0]] = tid;
        // 古体 (GroupOrBu): nothing but its rhymes tells a reader the poem's rhyme tone (no 平仄
        // pattern picks a 多音字's reading), so a character read both 平 and 仄 (思 知 来 离,
        // mostly 平 today) does not rhyme in generation; the checker still accepts it.
        if (reading == RhymeReading::GroupOrBu && t == (kPing | kZe)) continue;
        v->keys_p[id] = pr.rhyme_keys(s[0], book, kPing, reading);
        v->keys_z[id] = pr.rhyme_keys(s[0], book, kZe, reading);
        if (t & kPing) {
            for (int k : v->keys_p[id]) ++v->key_count[{k, 'P'}];
        }
        if (t & kZe) {
            for (int k : v->keys_z[id]) ++v->key_count[{k, 'Z'}];
        }
    }
    v->comma_nl = tok.encode("，\n", false);
    v->stop_nl = tok.encode("。\n", false);
    v->eos = tok.eos();
    return v;
}

bool ZhConstraint::acrostic_fits(const FormVariant& v, RhymeBook book, const std::u32string& a,
                                 std::string* why) {
    const Prosody& pr = Prosody::get();
    for (size_t i = 0; i < a.size() && i < v.lines.size(); ++i) {
        if (v.lines[i].repeats && i > 0 && a[i] != a[i - 1]) {
            if (why)
                *why = fmt::format("line {} repeats line {} (叠句), so it begins with '{}' too, not '{}'", i + 1, i,
                                   to_utf8(a[i - 1]), to_utf8(a[i]));
            return false;
        }
        uint8_t t = pr.tone(a[i], book);
        if (t == 0) {
            if (why) *why = fmt::format("'{}' has no known reading", to_utf8(a[i]));
            return false;
        }
        bool ok = false;
        for (const std::string& p : v.lines[i].patterns) {
            if (t & (p[0] == 'P' ? kPing : kZe)) ok = true;
        }
        if (v.lines[i].length == 1 && v.lines[i].rhyme != 0) ok = false;
        if (!ok) {
            if (why)
                *why = fmt::format("line {} must begin with a {} character, '{}' is {}", i + 1,
                                   v.lines[i].patterns[0][0] == 'P' ? "平" : "仄", to_utf8(a[i]),
                                   (t & kPing) ? "平" : "仄");
            return false;
        }
    }
    return true;
}

ZhConstraint::ZhConstraint(const FormDef& form, const FormVariant& variant, RhymeBook book,
                           std::u32string acrostic, std::shared_ptr<const ZhVocab> vocab)
    : form_(form), v_(variant), book_(book), acrostic_(std::move(acrostic)), vocab_(std::move(vocab)) {
    std::string last_set;
    for (const LineDef& l : v_.lines) {
        if (l.rhyme == 0) continue;
        const std::string sid = set_id(l);
        if (v_.rhyme_changes && need_.count(sid) == 0 && !last_set.empty())
            prev_set_[sid] = last_set;
        ++need_[sid][l.rhyme_tone()];
        last_set = sid;
    }
    bool has_p = false, has_z = false;
    for (uint8_t t : vocab_->tone) {
        has_p |= (t & kPing) != 0;
        has_z |= (t & kZe) != 0;
    }
    if (!has_p || !has_z || vocab_->comma_nl.empty() || vocab_->stop_nl.empty())
        throw_error(ErrorKind::InvalidArgument,
                    "model: its vocabulary cannot write {}; expected single-character tokens for 平 "
                    "and 仄 Chinese characters and for '，' '。' and a line break",
                    form_.title);
    for (char32_t c : acrostic_) {
        if (vocab_->token_of.count(c) == 0)
            throw_error(ErrorKind::InvalidArgument,
                        "acrostic: '{}' is not a single token of the model's vocabulary; expected "
                        "characters the model can write",
                        to_utf8(c));
    }
    std::string why;
    if (!acrostic_fits(v_, book_, acrostic_, &why))
        throw_error(ErrorKind::InvalidArgument, "acrostic: cannot start a valid line; {}", why);
    reset();
}

std::string ZhConstraint::set_id(const LineDef& l) const {
    std::string id(1, l.rhyme);
    if (is_pingshui(book_)) id += l.rhyme_tone();
    return id;
}

void ZhConstraint::reset() {
    line_ = 0;
    pos_ = 0;
    forced_.clear();
    forced_at_ = 0;
    done_ = false;
    dead_end_.clear();
    live_keys_.clear();
    used_.clear();
    heard_.clear();
    last_rhyme_ = 0;
    line_text_.clear();
    prev_line_.clear();
    alive_.assign(v_.lines[0].patterns.size(), 1);
    mask_ = 0;
    for (const std::string& p : v_.lines[0].patterns) mask_ |= p[0] == 'P' ? kPing : kZe;
}

bool ZhConstraint::char_ok(model::TokenId id) const {
    const auto i = static_cast<size_t>(id);
    if (i >= vocab_->ch.size() || vocab_->ch[i] == 0) return false;
    const char32_t c = vocab_->ch[i];
    if ((vocab_->tone[i] & mask_) == 0) return false;
    if (pos_ == 0 && static_cast<size_t>(line_) < acrostic_.size() &&
        acrostic_[static_cast<size_t>(line_)] != c)
        return false;
    const LineDef& l = v_.lines[static_cast<size_t>(line_)];
    if (l.repeats && static_cast<size_t>(pos_) < prev_line_.size() && prev_line_[static_cast<size_t>(pos_)] != c)
        return false;  // 叠句: the previous line again, character for character
    if (l.rhyme != 0 && pos_ == l.length - 1) {
        const char tone = l.rhyme_tone();
        const std::vector<int>& keys = tone == 'P' ? vocab_->keys_p[i] : vocab_->keys_z[i];
        const std::string id_ = set_id(l);
        auto used = used_.find(id_);
        if (used != used_.end() && used->second.count(c) != 0 && !(l.repeat_ok && c == last_rhyme_))
            return false;
        auto live = live_keys_.find(id_);
        if (live == live_keys_.end() && keeps_previous_rhyme(id_, keys)) return false;
        for (int k : keys) {
            if (live != live_keys_.end()) {
                if (std::find(live->second.begin(), live->second.end(), k) != live->second.end())
                    return true;
            } else if (key_has_room(id_, k)) {
                return true;  // first rhyme of the set: only a key with enough characters for every
                              // line
            }
        }
        return false;
    }
    return true;
}

bool ZhConstraint::key_has_room(const std::string& sid, int k) const {
    for (const auto& [t, n] : need_.at(sid)) {
        auto it = vocab_->key_count.find({k, t});
        if (it == vocab_->key_count.end() || it->second < n) return false;
    }
    return true;
}

bool ZhConstraint::keeps_previous_rhyme(const std::string& sid,
                                        const std::vector<int>& keys) const {
    auto prev = prev_set_.find(sid);
    if (prev == prev_set_.end()) return false;
    auto heard = heard_.find(prev->second);
    if (heard == heard_.end()) return false;
    // Every key of every rhyme before, not only the live one: then no reading of the two
    // stanzas (the checker's, one that leaves a 首句 out, a reader's) finds a rhyme they share.
    for (int k : keys) {
        if (std::find(heard->second.begin(), heard->second.end(), k) != heard->second.end())
            return true;
    }
    return false;
}

void ZhConstraint::apply(gen::CandidateSet& c) {
    const float ninf = -std::numeric_limits<float>::infinity();
    if (done_ || !dead_end_.empty()) {
        for (gen::Candidate& x : c.items) {
            if (x.id != vocab_->eos) x.logit = ninf;
            else if (x.logit == ninf) x.logit = 0.0f;  // so the run can stop
        }
        return;
    }
    if (forced_at_ < forced_.size()) {
        const model::TokenId want = forced_[forced_at_];
        for (gen::Candidate& x : c.items) {
            if (x.id != want) x.logit = ninf;
        }
        return;
    }
    bool any = false;
    for (gen::Candidate& x : c.items) {
        if (!char_ok(x.id)) x.logit = ninf;
        else any |= x.logit != ninf;
    }
    if (!any) {
        dead_end_ = explain_dead_end();
        apply(c);  // end-of-text only
    }
}

std::string ZhConstraint::explain_dead_end() const {
    const LineDef& l = v_.lines[static_cast<size_t>(line_)];
    std::string where = fmt::format("line {}, char {}", line_ + 1, pos_ + 1);
    const char* tone = mask_ == kPing ? "平" : mask_ == kZe ? "仄" : "平 or 仄";
    size_t fitting = 0;
    for (uint8_t t : vocab_->tone) fitting += (t & mask_) != 0 ? 1 : 0;
    if (fitting == 0)
        return fmt::format("{}: the line's tone pattern needs a {} character and the vocabulary has none", where, tone);
    if (pos_ == 0 && static_cast<size_t>(line_) < acrostic_.size())
        return fmt::format("{}: the acrostic character '{}' does not fit the line", where,
                           to_utf8(acrostic_[static_cast<size_t>(line_)]));
    if (l.repeats) return fmt::format("{}: the 叠句 cannot repeat the line before", where);
    if (l.rhyme != 0 && pos_ == l.length - 1) {
        const std::string sid = set_id(l);
        const char rt = l.rhyme_tone();
        auto live = live_keys_.find(sid);
        if (live == live_keys_.end()) {
            int lines = 0;
            for (const auto& [t, n] : need_.at(sid)) lines += n;
            const bool change = prev_set_.count(sid) != 0;
            return fmt::format(
                "{}: no {} rhyme group has enough {} characters in the vocabulary for the {} "
                "lines of rhyme set {}{}",
                where, rhyme_book_name(book_), rt == 'P' ? "平" : "仄", lines, l.rhyme,
                change ? " outside the rhyme of the stanza before it (换韵)" : "");
        }
        std::string keys;
        for (int k : live->second) {
            if (!keys.empty()) keys += '/';
            keys += Prosody::key_name(k);
        }
        return fmt::format("{}: no {} character of the vocabulary left in {} (rhyme set {}, rhyme characters "
                           "are not repeated)",
                           where, tone, keys.empty() ? "the set's rhyme group" : keys, l.rhyme);
    }
    return fmt::format("{}: no character of the vocabulary fits ({} needed)", where, tone);
}

void ZhConstraint::end_line() {
    const LineDef& l = v_.lines[static_cast<size_t>(line_)];
    const bool last = static_cast<size_t>(line_) + 1 == v_.lines.size();
    bool stop;
    if (form_.ci) stop = last || l.rhyme != 0;
    else stop = last || line_ % 2 == 1;
    forced_ = stop ? vocab_->stop_nl : vocab_->comma_nl;
    forced_at_ = 0;
    ++line_;
    pos_ = 0;
    prev_line_ = std::move(line_text_);
    line_text_.clear();
    if (!last) {
        const LineDef& n = v_.lines[static_cast<size_t>(line_)];
        alive_.assign(n.patterns.size(), 1);
        mask_ = 0;
        for (const std::string& p : n.patterns) mask_ |= p[0] == 'P' ? kPing : kZe;
    }
}

void ZhConstraint::accept(model::TokenId id) {
    if (done_ || !dead_end_.empty()) return;
    if (forced_at_ < forced_.size()) {
        ++forced_at_;
        if (forced_at_ == forced_.size() && static_cast<size_t>(line_) == v_.lines.size()) done_ = true;
        return;
    }
    const auto i = static_cast<size_t>(id);
    if (i >= vocab_->ch.size() || vocab_->ch[i] == 0) return;  // not ours (apply ruled it out)
    const LineDef& l = v_.lines[static_cast<size_t>(line_)];
    const uint8_t t = vocab_->tone[i];
    for (size_t k = 0; k < l.patterns.size(); ++k) {
        const char p = l.patterns[k][static_cast<size_t>(pos_)];
        if ((t & (p == 'P' ? kPing : kZe)) == 0) alive_[k] = 0;
    }
    if (l.rhyme != 0 && pos_ == l.length - 1) {
        const std::string sid = set_id(l);
        const std::vector<int>& keys = l.rhyme_tone() == 'P' ? vocab_->keys_p[i] : vocab_->keys_z[i];
        auto live = live_keys_.find(sid);
        std::vector<int> next;
        for (int k : keys) {
            if (live != live_keys_.end()) {
                if (std::find(live->second.begin(), live->second.end(), k) != live->second.end())
                    next.push_back(k);
            } else if (key_has_room(sid, k)) {
                next.push_back(k);
            }
        }
        live_keys_[sid] = next;
        std::vector<int>& heard = heard_[sid];
        for (int k : keys) {
            if (std::find(heard.begin(), heard.end(), k) == heard.end()) heard.push_back(k);
        }
        used_[sid].insert(vocab_->ch[i]);
        last_rhyme_ = vocab_->ch[i];
    }
    line_text_ += vocab_->ch[i];
    ++pos_;
    if (pos_ == l.length) {
        end_line();
        return;
    }
    mask_ = 0;
    for (size_t k = 0; k < l.patterns.size(); ++k) {
        if (alive_[k]) mask_ |= l.patterns[k][static_cast<size_t>(pos_)] == 'P' ? kPing : kZe;
    }
}

}  // namespace lyra::art::poetry
