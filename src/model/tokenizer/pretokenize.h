// Byte-level pre-tokenization shared by the "gpt2" BPE tokenizer (bpe.cpp) and the BPE trainer
// (train/bpe_trainer.h), so a vocabulary is trained on exactly the chunks it later encodes:
// the pre-tokenizer's regex split (PCRE2, UTF + Unicode properties) and GPT-2's byte -> printable
// character map (bytes_to_unicode). A PreTokenizer is immutable after construction and safe to
// share across threads. Throws lyra::Error(Unsupported) for an unknown pre-tokenizer name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lyra::model {

class PreTokenizer {
public:
    // `pre` is a tokenizer.ggml.pre name (see pre_tokenizer_regexes in vocab.h).
    explicit PreTokenizer(const std::string& pre);
    ~PreTokenizer();
    PreTokenizer(const PreTokenizer&) = delete;
    PreTokenizer& operator=(const PreTokenizer&) = delete;

    // Appends to `out` the chunks of `text`, in order; together they cover `text` exactly (text
    // between regex matches, e.g. bytes that are not valid UTF-8, is a chunk of its own).
    void split(std::string_view text, std::vector<std::string_view>& out) const;

private:
    struct Regexes;
    std::unique_ptr<Regexes> regexes_;
};

// GPT-2's bytes_to_unicode: the printable character (UTF-8) that stands for byte `b` in the
// pieces of a byte-level vocabulary.
const std::string& byte_level_char(unsigned char b);
// The byte a stand-in code point represents, or -1 if `cp` stands for no byte.
int byte_of_level_char(uint32_t cp);

}  // namespace lyra::model
