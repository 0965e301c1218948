// Vocab: the tokenizer.ggml.* metadata of a GGUF file as plain data (docs/formats/tokenizers.md).
// Tokenizer::from_vocab validates it and builds the matching tokenizer; from_gguf and
// write_gguf convert between this and GGUF keys. A plain value type; no invariants until
// validate_vocab() has accepted it. Throws lyra::Error(Corrupt/Unsupported) naming the defect.
#pragma once

#include <string>
#include <vector>

#include "model/tokenizer/tokenizer.h"

namespace lyra::model {

struct Vocab {
    std::string model;                // tokenizer.ggml.model: "llama", "gpt2", "bert" or "t5"
    std::string pre;                  // tokenizer.ggml.pre; empty = "default"
    std::vector<std::string> tokens;  // piece text per id (byte-level chars for "gpt2")
    std::vector<float> scores;        // per id, or empty (all 0)
    std::vector<TokenType> types;     // per id, or empty (all Normal)
    std::vector<std::string> merges;  // "left right" per rank ("gpt2" only)
    TokenId bos = -1;                 // -1 = none
    TokenId eos = -1;
    TokenId unk = -1;
    TokenId pad = -1;
    TokenId eot = -1;              // tokenizer.ggml.eot_token_id, an extra end-of-turn token
    TokenId mask = -1;             // tokenizer.ggml.mask_token_id: masked-LM encoders' [MASK]
    bool add_bos = false;          // encode(add_bos=true) prepends bos
    bool add_eos = false;          // encode(add_bos=true) also appends eos
    bool add_space_prefix = true;  // "llama": the SentencePiece dummy prefix space
    std::string chat_template;     // tokenizer.chat_template; empty = none
    // tokenizer.lyra.normalizer ("bert" and "t5" only): the steps applied to raw text before
    // splitting, in this order: "nfc" | "nfd" | "nfkc" | "nfkd", "strip_accents", "lowercase",
    // "collapse_spaces". "bert" always also cleans control characters and spaces out CJK.
    std::vector<std::string> normalizer;
};

// The defaults a file gets for keys it leaves out, by model kind (llama: bos 1, eos 2, unk 0,
// add_bos and add_space_prefix true; gpt2: no specials, no prefix; bert: add_bos and add_eos
// ([CLS] text [SEP]), lowercase + strip_accents; t5: add_eos, add_space_prefix). Ids beyond the vocabulary
// are reset to -1 by from_gguf, since they were never stated by the file.
Vocab default_vocab(const std::string& model);

// The normalizer steps a vocabulary may name, in the order they are documented.
const std::vector<std::string>& normalizer_steps();

// Checks sizes, ids and merges. Throws Error(Corrupt) or Error(Unsupported).
void validate_vocab(const Vocab& v);

// Known tokenizer.ggml.pre names for "gpt2" vocabularies and their regex sequences.
// Returns an empty vector for an unknown name.
std::vector<std::string> pre_tokenizer_regexes(const std::string& pre);

}  // namespace lyra::model
