// Training data: documents from text files, a seeded train/validation split by document, token
// shards (a small binary format of uint16/uint32 ids that the loader memory-maps; see
// docs/training.md), and a batch sampler that draws random windows with its own seeded core::Rng.
// The sampler's whole state is (seed, draws), so a checkpoint can restore it exactly.
// Throws lyra::Error(NotFound/InvalidArgument/Corrupt/Io) naming the file or setting at fault.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/mmap.h"
#include "core/rng.h"
#include "model/tokenizer/tokenizer.h"

namespace lyra::train {

// Expands each pattern: a plain path, or a path whose last component has * or ? wildcards
// (sorted matches). Throws Error(NotFound) when a pattern matches no file.
std::vector<std::string> expand_data_paths(const std::vector<std::string>& patterns);

// Splits text into documents at blank lines (paragraphs); empty documents are dropped.
std::vector<std::string> split_documents(const std::string& text);

struct CorpusSplit {
    std::string train_text, val_text;  // documents joined with "\n\n"
    int64_t n_train_docs = 0, n_val_docs = 0;
    int64_t n_bytes = 0;               // all input bytes
    int64_t n_invalid_utf8 = 0;        // bytes that are not valid UTF-8 (kept, counted)
};

// Reads files, splits each into documents, and sends each document to validation with
// probability val_fraction using Rng(seed) (at least one document each way when there are two
// or more). Throws Error(InvalidArgument) for an empty corpus.
CorpusSplit load_corpus(const std::vector<std::string>& files, double val_fraction, uint64_t seed);

// Encodes documents (without BOS) and joins them: the ids the model trains on. With
// end_with_eos, each document (its "\n\n" separator included) is followed by tok.eos() when the
// vocabulary has an EOS that is a control token (otherwise nothing is added).
std::vector<int32_t> encode_documents(const model::Tokenizer& tok, const std::string& text,
                                      bool end_with_eos = false);

// Writes ids as a token shard (uint16 when n_vocab ≤ 65536, else uint32), atomically.
void write_token_shard(const std::string& path, std::span<const int32_t> ids, int32_t n_vocab);

// A memory-mapped token shard.
class TokenShard {
public:
    explicit TokenShard(const std::string& path);  // throws Error(NotFound/Corrupt)
    int64_t size() const { return n_; }
    int32_t operator[](int64_t i) const {
        return width_ == 2 ? static_cast<int32_t>(reinterpret_cast<const uint16_t*>(base_)[i])
                           : static_cast<int32_t>(reinterpret_cast<const uint32_t*>(base_)[i]);
    }
    int32_t max_id() const;

private:
    core::MappedFile file_;
    const uint8_t* base_ = nullptr;
    int64_t n_ = 0;
    int width_ = 2;
};

// Draws batches of B random windows of T + 1 tokens: tokens[b, t] = s[o_b + t] and
// targets[b, t] = s[o_b + t + 1]. Each window costs one Rng draw; skip(draws) fast-forwards.
class BatchSampler {
public:
    // Throws Error(InvalidArgument) if the shard is not longer than T.
    BatchSampler(const TokenShard& shard, int64_t B, int64_t T, uint64_t seed, const char* what);
    void next(int32_t* tokens, int32_t* targets);
    uint64_t draws() const { return draws_; }
    void reset(uint64_t draws);  // reseed and replay `draws` draws

private:
    const TokenShard& shard_;
    int64_t B_, T_;
    uint64_t seed_;
    core::Rng rng_;
    uint64_t draws_ = 0;
};

}  // namespace lyra::train
