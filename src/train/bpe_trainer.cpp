// Byte-level BPE training (bpe_trainer.h).
//
// 1. add_text: cut special tokens out, split the rest into blocks at blank lines (as
//    encode_documents does, so chunks are the ones the training data is encoded with), run the
//    pre-tokenizer on each block and count equal chunks ("words") once.
// 2. train: every distinct word becomes a run of symbol ids (its bytes) in one flat array.
//    pair_count holds how often each adjacent pair occurs (weighted by word count), `where` the
//    words that may contain it, and a max-heap the pairs by count. Each step pops the best pair;
//    an entry whose count no longer matches pair_count is stale (lazy invalidation) and is
//    pushed again with the current count. Merging rewrites only the words listed for the pair,
//    left to right, and records for each occurrence the pairs it destroys and creates, so one
//    merge costs time in proportion to the words that contain it, not to the corpus. Pairs that
//    can no longer reach min_pair_count are dropped (MergeState::merge says why that is exact),
//    which keeps the tables small on corpora with a long tail of rare pairs (CJK text).
#include "train/bpe_trainer.h"

#include <algorithm>
#include <filesystem>
#include <queue>
#include <set>

#include "core/error.h"
#include "model/format/gguf.h"

namespace lyra::train {

namespace {

using PairKey = uint64_t;
PairKey pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
int32_t pair_left(PairKey k) {
    return static_cast<int32_t>(k >> 32);
}
int32_t pair_right(PairKey k) {
    return static_cast<int32_t>(k & 0xFFFFFFFFu);
}

// Blocks of at most this many bytes go to the pre-tokenizer at once, so the chunk list stays
// small; a longer block (no blank line in it) is cut after its last newline, or anywhere at a
// UTF-8 boundary when it has none.
constexpr size_t kMaxBlockBytes = size_t{1} << 20;

size_t block_end(std::string_view text, size_t start) {
    size_t end = text.find("\n\n", start);
    end = end == std::string_view::npos ? text.size() : end + 2;
    if (end - start <= kMaxBlockBytes) return end;
    end = start + kMaxBlockBytes;
    size_t nl = text.rfind('\n', end - 1);
    if (nl != std::string_view::npos && nl > start) return nl + 1;
    while (end > start + 1 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return end;
}

struct HeapEntry {
    int64_t count;
    int32_t left, right;
    // Max-heap order: more frequent first; on equal counts the smaller left id, then the
    // smaller right id (the documented tie-break).
    bool operator<(const HeapEntry& o) const {
        if (count != o.count) return count < o.count;
        if (left != o.left) return left > o.left;
        return right > o.right;
    }
};

// The merge state over the distinct words (see the file comment).
class MergeState {
public:
    explicit MergeState(int64_t min_count) : min_count_(min_count) {}

    void reserve(size_t n_words, size_t n_bytes) {
        words_.reserve(n_words);
        syms_.reserve(n_bytes);
    }

    void add_word(std::string_view bytes, int64_t count) {
        words_.push_back({syms_.size(), static_cast<uint32_t>(bytes.size()), count});
        for (char c : bytes) syms_.push_back(static_cast<unsigned char>(c));
    }

    // Counts every pair, then keeps (in pair_count_, where_ and the heap) only those that
    // reach min_count: see merge() for why the others can never be merged.
    void count_pairs() {
        pair_count_.clear();
        where_.clear();
        heap_ = {};
        for (const Word& word : words_) {
            const int32_t* s = syms_.data() + word.start;
            for (uint32_t i = 0; i + 1 < word.len; ++i)
                pair_count_[pair_key(s[i], s[i + 1])] += word.count;
        }
        std::erase_if(pair_count_, [&](const auto& kv) { return kv.second < min_count_; });
        for (uint32_t w = 0; w < words_.size(); ++w) {
            const Word& word = words_[w];
            const int32_t* s = syms_.data() + word.start;
            for (uint32_t i = 0; i + 1 < word.len; ++i) {
                const PairKey k = pair_key(s[i], s[i + 1]);
                if (pair_count_.contains(k)) where_[k].push_back(w);
            }
        }
        for (const auto& [k, c] : pair_count_) heap_.push({c, pair_left(k), pair_right(k)});
    }

    // The most frequent pair with at least min_count occurrences, or false when none is left.
    bool best_pair(int32_t& a, int32_t& b) {
        while (!heap_.empty()) {
            const HeapEntry top = heap_.top();
            heap_.pop();
            auto it = pair_count_.find(pair_key(top.left, top.right));
            const int64_t now = it == pair_count_.end() ? 0 : it->second;
            if (now != top.count) {  // stale: requeue with the current count
                if (now >= min_count_) heap_.push({now, top.left, top.right});
                continue;
            }
            a = top.left;
            b = top.right;
            return true;
        }
        return false;
    }

    // Replaces every (a, b) in the words that contain it with z. Only pairs that contain z gain
    // occurrences, and when z is new they all gain them here, at once; every other pair only
    // loses some. So a pair below min_count after this step can never reach it: it is dropped
    // from the tables (occurrences lost by untracked pairs are ignored). When z is an id made
    // before (`z_is_new` false), its pairs may have been dropped while below min_count and can
    // now gain: the tables are then recounted from the words.
    void merge(int32_t a, int32_t b, int32_t z, bool z_is_new) {
        const PairKey ab = pair_key(a, b);
        std::vector<uint32_t> words = std::move(where_[ab]);
        where_.erase(ab);
        std::sort(words.begin(), words.end());
        words.erase(std::unique(words.begin(), words.end()), words.end());
        delta_.clear();
        added_.clear();
        for (uint32_t w : words) merge_in_word(w, a, b, z);
        if (!z_is_new) {
            count_pairs();
            return;
        }
        for (const auto& [k, d] : delta_) {
            if (d == 0) continue;
            auto it = pair_count_.find(k);
            if (it == pair_count_.end()) {
                if (d < min_count_) continue;  // untracked, or born too rare to ever merge
                it = pair_count_.emplace(k, 0).first;
            }
            it->second += d;
            if (it->second < min_count_) {
                pair_count_.erase(it);
                where_.erase(k);
            } else if (d > 0) {
                heap_.push({it->second, pair_left(k), pair_right(k)});
            }
        }
        for (const auto& [k, w] : added_)
            if (pair_count_.contains(k)) where_[k].push_back(w);
    }

    // Tokens the counted text encodes to: every remaining symbol times its word's count.
    int64_t n_tokens() const {
        int64_t n = 0;
        for (const Word& w : words_) n += w.count * w.len;
        return n;
    }

private:
    struct Word {
        size_t start;   // first symbol in syms_
        uint32_t len;   // symbols now (shrinks as pairs merge)
        int64_t count;  // occurrences in the corpus
    };

    void merge_in_word(uint32_t w, int32_t a, int32_t b, int32_t z) {
        Word& word = words_[w];
        int32_t* s = syms_.data() + word.start;
        const int64_t c = word.count;
        auto gain = [&](PairKey k) {
            delta_[k] += c;
            if (added_.empty() || added_.back() != std::pair{k, w}) added_.emplace_back(k, w);
        };
        uint32_t out = 0;
        for (uint32_t i = 0; i < word.len;) {
            if (i + 1 < word.len && s[i] == a && s[i + 1] == b) {
                // Occurrence x a b y (x already rewritten, so it may be z): pairs (x,a), (a,b)
                // and (b,y) disappear; (x,z) and (z,y) appear.
                delta_[pair_key(a, b)] -= c;
                if (out > 0) {
                    delta_[pair_key(s[out - 1], a)] -= c;
                    gain(pair_key(s[out - 1], z));
                }
                if (i + 2 < word.len) {
                    delta_[pair_key(b, s[i + 2])] -= c;
                    gain(pair_key(z, s[i + 2]));
                }
                s[out++] = z;
                i += 2;
            } else {
                s[out++] = s[i++];
            }
        }
        word.len = out;
    }

    int64_t min_count_;
    std::vector<int32_t> syms_;  // the symbols of all words, word after word
    std::vector<Word> words_;
    std::unordered_map<PairKey, int64_t> pair_count_;
    std::unordered_map<PairKey, std::vector<uint32_t>> where_;  // may list stale or repeated words
    std::priority_queue<HeapEntry> heap_;
    std::unordered_map<PairKey, int64_t> delta_;       // this merge's count changes
    std::vector<std::pair<PairKey, uint32_t>> added_;  // (pair, word) that gained the pair
};

}  // namespace

BpeTrainer::BpeTrainer(BpeTrainOptions opt) : opt_(std::move(opt)), pre_(opt_.pre) {
    const auto n_special = static_cast<int64_t>(opt_.special_tokens.size());
    if (opt_.vocab_size < 256 + n_special || opt_.vocab_size > INT32_MAX)
        throw_error(ErrorKind::InvalidArgument,
                    "vocab size: too small; expected at least 256 byte tokens + {} special "
                    "tokens = {}, got {}",
                    n_special, 256 + n_special, opt_.vocab_size);
    if (opt_.min_pair_count < 1)
        throw_error(ErrorKind::InvalidArgument,
                    "min pair count: impossible value; expected >= 1, got {}", opt_.min_pair_count);
    std::set<std::string> seen;
    for (const std::string& s : opt_.special_tokens) {
        if (s.empty())
            throw_error(ErrorKind::InvalidArgument,
                        "special token: empty; expected text such as <|endoftext|>");
        if (!seen.insert(s).second)
            throw_error(ErrorKind::InvalidArgument, "special token '{}': given twice", s);
    }
}

void BpeTrainer::add_text(std::string_view text) {
    stats_.n_bytes += static_cast<int64_t>(text.size());
    std::vector<std::string_view> chunks;
    auto count_segment = [&](std::string_view seg) {
        for (size_t start = 0; start < seg.size();) {
            const size_t end = block_end(seg, start);
            chunks.clear();
            pre_.split(seg.substr(start, end - start), chunks);
            for (std::string_view c : chunks) {
                auto it = word_counts_.find(c);
                if (it == word_counts_.end()) it = word_counts_.emplace(std::string(c), 0).first;
                ++it->second;
            }
            stats_.n_words += static_cast<int64_t>(chunks.size());
            start = end;
        }
    };
    // Cut at the earliest special token (the longest one where two start at the same place).
    // next[i] caches where special i next occurs, so each is searched for once per occurrence.
    const std::vector<std::string>& specials = opt_.special_tokens;
    std::vector<size_t> next(specials.size(), 0);
    for (size_t i = 0; i < specials.size(); ++i) next[i] = text.find(specials[i]);
    size_t pos = 0;
    while (pos < text.size()) {
        size_t hit = std::string_view::npos, hit_len = 0;
        for (size_t i = 0; i < specials.size(); ++i) {
            if (next[i] != std::string_view::npos && next[i] < pos)
                next[i] = text.find(specials[i], pos);
            if (next[i] < hit ||
                (next[i] == hit && hit != std::string_view::npos && specials[i].size() > hit_len)) {
                hit = next[i];
                hit_len = specials[i].size();
            }
        }
        if (hit == std::string_view::npos) {
            count_segment(text.substr(pos));
            break;
        }
        count_segment(text.substr(pos, hit - pos));
        ++stats_.n_specials;
        pos = hit + hit_len;
    }
}

model::Vocab BpeTrainer::train() {
    if (word_counts_.empty())
        throw_error(ErrorKind::InvalidArgument,
                    "tokenizer training: the corpus has no text; expected at least one non-empty "
                    "file");
    stats_.n_unique_words = static_cast<int64_t>(word_counts_.size());
    MergeState state(opt_.min_pair_count);
    size_t n_word_bytes = 0;
    for (const auto& [bytes, count] : word_counts_) n_word_bytes += bytes.size();
    state.reserve(word_counts_.size(), n_word_bytes);
    while (!word_counts_.empty()) {  // each word moves into `state`; its node is freed at once
        auto node = word_counts_.extract(word_counts_.begin());
        state.add_word(node.key(), node.mapped());
    }
    state.count_pairs();

    model::Vocab v = model::default_vocab("gpt2");
    v.pre = opt_.pre;
    for (int b = 0; b < 256; ++b)
        v.tokens.push_back(model::byte_level_char(static_cast<unsigned char>(b)));
    std::unordered_map<std::string, int32_t> ids;
    for (int32_t i = 0; i < 256; ++i) ids.emplace(v.tokens[i], i);

    const auto n_special = static_cast<int64_t>(opt_.special_tokens.size());
    const int64_t target = opt_.vocab_size - n_special;
    int32_t a = 0, b = 0;
    while (static_cast<int64_t>(v.tokens.size()) < target) {
        if (!state.best_pair(a, b)) {
            stats_.ran_out_of_pairs = true;
            break;
        }
        std::string joined = v.tokens[a] + v.tokens[b];
        v.merges.push_back(v.tokens[a] + " " + v.tokens[b]);
        // Two merge orders can spell the same piece ("ab"+"c", "a"+"bc"): one id serves both.
        auto [it, fresh] = ids.emplace(joined, static_cast<int32_t>(v.tokens.size()));
        if (fresh) v.tokens.push_back(std::move(joined));
        state.merge(a, b, it->second, fresh);
    }
    stats_.n_merges = static_cast<int64_t>(v.merges.size());
    stats_.n_tokens = state.n_tokens();

    v.types.assign(v.tokens.size(), model::TokenType::Normal);
    if (n_special > 0) v.eos = static_cast<model::TokenId>(v.tokens.size());
    for (const std::string& sp : opt_.special_tokens) {
        if (ids.contains(sp))
            throw_error(ErrorKind::InvalidArgument,
                        "special token '{}': is also a byte or merged piece of the vocabulary; "
                        "expected text that is not a plain piece, such as <|endoftext|>",
                        sp);
        v.tokens.push_back(sp);
        v.types.push_back(model::TokenType::Control);
    }
    v.scores.clear();
    return v;
}

}  // namespace lyra::train

namespace lyra::train {

void write_tokenizer_gguf(const model::Tokenizer& tok, const std::string& name,
                          const std::string& path) {
    model::GgufWriter w;
    w.set_string("general.type", "tokenizer");
    w.set_string("general.name", name);
    tok.write_gguf(w);
    w.write(path);
}

std::unique_ptr<model::Tokenizer> read_tokenizer_file(const std::string& path) {
    if (!std::filesystem::is_regular_file(path))
        throw_error(ErrorKind::NotFound, "tokenizer file '{}': no such file", path);
    const auto gguf = model::GgufFile::open(path);
    return model::Tokenizer::from_gguf(*gguf);
}

}  // namespace lyra::train
