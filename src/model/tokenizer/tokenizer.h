// Tokenizer: text <-> token ids for every vocabulary kind Lyra reads from GGUF metadata
// (tokenizer.ggml.*): "gpt2" byte-level BPE (GPT-2, Llama 3, Qwen2 pre-tokenizers), "llama"
// SentencePiece-style BPE with scores and <0xNN> byte fallback (Llama 2, TinyLlama, and the
// character vocabularies Lyra trains). Immutable after construction; safe to share across threads.
// Construction throws lyra::Error(Corrupt/Unsupported) for malformed or unknown vocabularies.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lyra::model {

class GgufFile;
class GgufWriter;
struct Vocab;  // model/tokenizer/vocab.h: the tokenizer.ggml.* fields as plain data
using TokenId = int32_t;

enum class TokenType : int32_t {  // tokenizer.ggml.token_type values
    Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // Builds the tokenizer described by a GGUF file's tokenizer.ggml.* metadata.
    static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& gguf);
    // Builds a tokenizer from plain vocabulary data (what from_gguf reads); validates it the
    // same way: throws Error(Corrupt) for inconsistent arrays, Error(Unsupported) for an unknown
    // model kind or pre-tokenizer.
    static std::unique_ptr<Tokenizer> from_vocab(Vocab vocab);

    // add_bos: prepend BOS if the vocabulary wants it (tokenizer.ggml.add_bos_token).
    // parse_special: text like "<|im_start|>" becomes its control token instead of plain text.
    virtual std::vector<TokenId> encode(std::string_view text, bool add_bos = true,
                                        bool parse_special = false) const = 0;
    // The exact bytes of one token (byte tokens give one raw byte; may be partial UTF-8).
    virtual std::string token_to_bytes(TokenId id) const = 0;
    // Concatenated bytes of ids, with control tokens (BOS/EOS) left out; SentencePiece's leading
    // dummy-prefix space is removed from the first piece.
    virtual std::string decode(std::span<const TokenId> ids) const = 0;

    virtual int32_t n_vocab() const = 0;
    virtual TokenId bos() const = 0;  // -1 when the vocabulary has none
    virtual TokenId eos() const = 0;
    // End-of-generation: EOS, EOT and similar control tokens.
    virtual bool is_eog(TokenId id) const = 0;
    virtual bool is_control(TokenId id) const = 0;
    // "gpt2" or "llama", as in tokenizer.ggml.model.
    virtual std::string kind() const = 0;
    // Writes this vocabulary back as tokenizer.ggml.* keys.
    virtual void write_gguf(GgufWriter& w) const = 0;
    // The vocabulary data this tokenizer was built from.
    virtual const Vocab& vocab() const = 0;
    // A fingerprint of the vocabulary, worked out once when the tokenizer is built: equal for
    // tokenizers built from the same vocabulary (one file loaded twice, or written with
    // write_gguf and read back), different, but for 64-bit hash collisions, where anything that
    // encode, decode or token_to_bytes read differs (the chat template is not part of it). For
    // keying per-vocabulary caches within one process (FormConstraint's tables), so that they
    // need not hash the vocabulary again; it is built on std::hash, so never store it.
    virtual uint64_t vocab_fingerprint() const = 0;

    // Conveniences over vocab(): the stored piece text (byte-level or "▁"-escaped, as in the
    // file), its type, and tokenizer.chat_template (empty when the file has none).
    const std::string& token_text(TokenId id) const;
    TokenType token_type(TokenId id) const;
    const std::string& chat_template() const;
    // Id of a piece with exactly this stored text, or -1.
    virtual TokenId find_token(std::string_view text) const = 0;
};

// Turns a stream of token ids into text, never emitting half a UTF-8 character: bytes of an
// incomplete sequence are held until it completes (or flushed as-is by finish()).
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tok) : tok_(tok) {}
    std::string push(TokenId id);  // complete UTF-8 text that this token finished, maybe empty
    std::string finish();          // whatever is still held

private:
    const Tokenizer& tok_;
    std::string pending_;
    bool first_ = true;
};

}  // namespace lyra::model
