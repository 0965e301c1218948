// BpeTrainer: learns a GPT-2-style byte-level BPE vocabulary from text (issue 3, `lyra tokenizer
// train`, recipe `[tokenizer] kind = "bpe:N"`). Text is split by the same pre-tokenizer the
// "gpt2" tokenizer encodes with (model/tokenizer/pretokenize.h), equal chunks are counted once,
// and the most frequent adjacent pair is merged until the vocabulary is full. The result is a
// model::Vocab that Tokenizer::from_vocab accepts and that GGUF stores like any other tokenizer.
// Not thread-safe. Throws lyra::Error(InvalidArgument) for impossible options or a corpus with
// no text.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/tokenizer/pretokenize.h"
#include "model/tokenizer/vocab.h"

namespace lyra::train {

struct BpeTrainOptions {
    int64_t vocab_size = 8000;  // total ids: 256 byte tokens + merges + special tokens
    // Control tokens appended after the merged tokens, in this order; the first is EOS. Their
    // text is cut out of the corpus before counting, so they are never part of a merge.
    std::vector<std::string> special_tokens = {};
    int64_t min_pair_count = 2;  // a pair seen fewer times than this is never merged (>= 1)
    std::string pre = "gpt2";    // tokenizer.ggml.pre: which pre-tokenizer splits the text
};

struct BpeTrainStats {
    int64_t n_bytes = 0;            // text bytes given to add_text (special tokens included)
    int64_t n_words = 0;            // pre-tokenizer chunks counted (occurrences)
    int64_t n_unique_words = 0;     // distinct chunks
    int64_t n_specials = 0;         // special-token occurrences cut out of the text
    int64_t n_merges = 0;           // merges learned
    int64_t n_tokens = 0;           // tokens the counted text encodes to with the result
    bool ran_out_of_pairs = false;  // stopped below vocab_size: no pair reached min_pair_count
};

class BpeTrainer {
public:
    // Throws Error(InvalidArgument) when vocab_size < 256 + specials, min_pair_count < 1, or a
    // special token is empty or given twice; Error(Unsupported) for an unknown `pre`.
    explicit BpeTrainer(BpeTrainOptions opt);

    // Counts the pre-tokenizer chunks of `text` (call once per file or document; chunks never
    // span two calls).
    void add_text(std::string_view text);

    // Learns the merges and returns the vocabulary: ids 0..255 are the byte tokens in byte
    // order, then one id per merge in merge order, then the special tokens. Ties between pairs
    // of equal count go to the pair with the smaller left id, then the smaller right id (ids
    // are creation order, so this depends only on the corpus, never on hash order). Throws
    // Error(InvalidArgument) if no text was added.
    model::Vocab train();

    const BpeTrainStats& stats() const { return stats_; }

private:
    BpeTrainOptions opt_;
    model::PreTokenizer pre_;
    struct StringHash {  // lets word_counts_ be searched with a string_view (no copy per chunk)
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    // chunk bytes -> occurrences
    std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>> word_counts_;
    BpeTrainStats stats_;
};

}  // namespace lyra::train

namespace lyra::train {

// Tokenizer files: a GGUF holding only tokenizer.ggml.* metadata (general.type = "tokenizer",
// no tensors), the same keys a model stores, so `lyra tokenize -m FILE` and a recipe's
// `[tokenizer] file` read it with the ordinary GGUF tokenizer loader. Written atomically.
void write_tokenizer_gguf(const model::Tokenizer& tok, const std::string& name,
                          const std::string& path);
// Reads the tokenizer of a tokenizer file or of any model GGUF. Throws Error(NotFound) for a
// missing file, Error(Corrupt/Unsupported) for one without a usable tokenizer.
std::unique_ptr<model::Tokenizer> read_tokenizer_file(const std::string& path);

}  // namespace lyra::train
