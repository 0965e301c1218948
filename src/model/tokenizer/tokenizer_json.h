// Conversion of a Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) into the
// tokenizer.ggml.* metadata GGUF files carry, so an imported model tokenizes exactly as the
// original. Handles byte-level BPE (GPT-2, Llama 3, Qwen2) and SentencePiece-style BPE with
// byte fallback (Llama 2, TinyLlama). Throws lyra::Error(Corrupt/Unsupported) naming the defect.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "model/tokenizer/tokenizer.h"

namespace lyra::model {

class GgufWriter;

// `tokenizer_json` is the text of tokenizer.json; `tokenizer_config_json` the text of
// tokenizer_config.json, or empty if the directory has none (it supplies bos/eos, add_bos
// and chat_template). `arch` ("llama", "qwen2", "gpt2") picks the pre-tokenizer default.
void import_tokenizer_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                           std::string_view arch, GgufWriter& out);

// The same conversion, returned as the Tokenizer those keys describe (no GGUF involved).
std::unique_ptr<Tokenizer> tokenizer_from_json(std::string_view tokenizer_json,
                                               std::string_view tokenizer_config_json,
                                               std::string_view arch);

// The other way: a Hugging Face tokenizer directory's two files for a "gpt2" (byte-level BPE) or
// "llama" (SentencePiece-style BPE with byte fallback) vocabulary, as Lyra's trainers make them.
// Reading them back (tokenizer_from_json, or Hugging Face's own library) gives the same ids.
// Throws Error(Unsupported) for the other kinds.
struct HfTokenizerFiles {
    std::string tokenizer_json;
    std::string tokenizer_config_json;
};
HfTokenizerFiles export_tokenizer_json(const Tokenizer& tok);

}  // namespace lyra::model
