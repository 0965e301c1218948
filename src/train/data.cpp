// Corpus loading, document split, token shards and the batch sampler (see data.h).
#include "train/data.h"

#include <fnmatch.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"

namespace lyra::train {

namespace fs = std::filesystem;

namespace {

constexpr char kShardMagic[8] = {'L', 'Y', 'R', 'A', 'T', 'O', 'K', '1'};
constexpr size_t kShardHeader = 24;  // magic, u32 version, u32 bytes per id, u64 count

// Number of bytes in s that are not part of a valid UTF-8 sequence.
int64_t count_invalid_utf8(const std::string& s) {
    int64_t bad = 0;
    size_t i = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    while (i < s.size()) {
        const unsigned char c = p[i];
        const size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = len > 0 && i + len <= s.size();
        for (size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xC0) == 0x80;
        if (ok) {
            i += len;
        } else {
            ++bad;
            ++i;
        }
    }
    return bad;
}

}  // namespace

std::vector<std::string> expand_data_paths(const std::vector<std::string>& patterns) {
    std::vector<std::string> out;
    for (const auto& pat : patterns) {
        const fs::path p(pat);
        const std::string leaf = p.filename().string();
        if (leaf.find_first_of("*?[") == std::string::npos) {
            if (!fs::is_regular_file(p))
                throw_error(ErrorKind::NotFound, "data.files: '{}' does not exist or is not a file", pat);
            out.push_back(pat);
            continue;
        }
        const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
        std::vector<std::string> found;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            if (e.is_regular_file() && fnmatch(leaf.c_str(), e.path().filename().c_str(), 0) == 0)
                found.push_back(e.path().string());
        }
        if (found.empty())
            throw_error(ErrorKind::NotFound, "data.files: pattern '{}' matches no file", pat);
        std::sort(found.begin(), found.end());
        out.insert(out.end(), found.begin(), found.end());
    }
    return out;
}

std::vector<std::string> split_documents(const std::string& text) {
    std::vector<std::string> docs;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find("\n\n", start);
        if (end == std::string::npos) end = text.size();
        std::string doc = text.substr(start, end - start);
        while (!doc.empty() && (doc.front() == '\n')) doc.erase(doc.begin());
        while (!doc.empty() && (doc.back() == '\n' || doc.back() == '\r')) doc.pop_back();
        if (!doc.empty()) docs.push_back(std::move(doc));
        start = end + 2;
    }
    return docs;
}

CorpusSplit load_corpus(const std::vector<std::string>& files, double val_fraction, uint64_t seed) {
    CorpusSplit s;
    std::vector<std::string> docs;
    for (const auto& f : files) {
        std::string text = core::read_file(f);
        s.n_bytes += static_cast<int64_t>(text.size());
        s.n_invalid_utf8 += count_invalid_utf8(text);
        for (auto& d : split_documents(text)) docs.push_back(std::move(d));
    }
    if (docs.empty())
        throw_error(ErrorKind::InvalidArgument, "data: the corpus is empty ({} files, {} bytes); expected some text",
                    files.size(), s.n_bytes);
    core::Rng rng(seed ^ 0x5eed5eedull);
    std::vector<bool> is_val(docs.size());
    for (size_t i = 0; i < docs.size(); ++i) is_val[i] = rng.uniform() < static_cast<float>(val_fraction);
    if (docs.size() >= 2 && val_fraction > 0.0) {
        // Keep both sides non-empty.
        if (std::none_of(is_val.begin(), is_val.end(), [](bool v) { return v; })) is_val.back() = true;
        if (std::all_of(is_val.begin(), is_val.end(), [](bool v) { return v; })) is_val.front() = false;
    }
    for (size_t i = 0; i < docs.size(); ++i) {
        std::string& dst = is_val[i] ? s.val_text : s.train_text;
        dst += docs[i];
        dst += "\n\n";
        (is_val[i] ? s.n_val_docs : s.n_train_docs) += 1;
    }
    return s;
}

std::vector<int32_t> encode_documents(const model::Tokenizer& tok, const std::string& text,
                                      bool end_with_eos) {
    // Documents are encoded one at a time (each is short) and concatenated.
    const model::TokenId eos = tok.eos();
    const bool add_eos = end_with_eos && eos >= 0 && tok.is_control(eos);
    std::vector<int32_t> ids;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find("\n\n", start);
        end = end == std::string::npos ? text.size() : end + 2;
        const auto part = tok.encode(std::string_view(text).substr(start, end - start), false, false);
        ids.insert(ids.end(), part.begin(), part.end());
        if (add_eos) ids.push_back(eos);
        start = end;
    }
    return ids;
}

void write_token_shard(const std::string& path, std::span<const int32_t> ids, int32_t n_vocab) {
    const uint32_t width = n_vocab <= 65536 ? 2 : 4;
    core::AtomicFile f(path);
    f.write(kShardMagic, sizeof(kShardMagic));
    const uint32_t version = 1;
    const uint64_t n = ids.size();
    f.write(&version, 4);
    f.write(&width, 4);
    f.write(&n, 8);
    std::vector<uint8_t> buf(ids.size() * width);
    for (size_t i = 0; i < ids.size(); ++i) {
        const auto v = static_cast<uint32_t>(ids[i]);
        if (width == 2) {
            const auto h = static_cast<uint16_t>(v);
            std::memcpy(buf.data() + 2 * i, &h, 2);
        } else {
            std::memcpy(buf.data() + 4 * i, &v, 4);
        }
    }
    f.write(buf.data(), buf.size());
    f.commit();
}

TokenShard::TokenShard(const std::string& path) : file_(path) {
    const uint8_t* d = file_.data();
    if (file_.size() < kShardHeader || std::memcmp(d, kShardMagic, 8) != 0)
        throw_error(ErrorKind::Corrupt, "token shard '{}': bad header; expected magic LYRATOK1", path);
    uint32_t version = 0, width = 0;
    uint64_t n = 0;
    std::memcpy(&version, d + 8, 4);
    std::memcpy(&width, d + 12, 4);
    std::memcpy(&n, d + 16, 8);
    if (version != 1 || (width != 2 && width != 4))
        throw_error(ErrorKind::Corrupt, "token shard '{}': version {} width {}; expected version 1, width 2 or 4",
                    path, version, width);
    if (n > (file_.size() - kShardHeader) / width)
        throw_error(ErrorKind::Corrupt, "token shard '{}': claims {} ids but holds {} bytes", path, n,
                    file_.size() - kShardHeader);
    base_ = d + kShardHeader;
    n_ = static_cast<int64_t>(n);
    width_ = static_cast<int>(width);
}

int32_t TokenShard::max_id() const {
    int32_t m = -1;
    for (int64_t i = 0; i < n_; ++i) m = std::max(m, (*this)[i]);
    return m;
}

BatchSampler::BatchSampler(const TokenShard& shard, int64_t B, int64_t T, uint64_t seed,
                           const char* what)
    : shard_(shard), B_(B), T_(T), seed_(seed), rng_(seed) {
    if (shard.size() <= T)
        throw_error(ErrorKind::InvalidArgument,
                    "data: the {} split has {} tokens; expected more than the context length {}", what,
                    shard.size(), T);
}

void BatchSampler::next(int32_t* tokens, int32_t* targets) {
    const auto span = static_cast<uint64_t>(shard_.size() - T_);
    for (int64_t b = 0; b < B_; ++b) {
        const auto o = static_cast<int64_t>(rng_.next_u64() % span);
        ++draws_;
        for (int64_t t = 0; t < T_; ++t) {
            tokens[b * T_ + t] = shard_[o + t];
            targets[b * T_ + t] = shard_[o + t + 1];
        }
    }
}

void BatchSampler::reset(uint64_t draws) {
    rng_.reseed(seed_);
    for (uint64_t i = 0; i < draws; ++i) rng_.next_u64();
    draws_ = draws;
}

}  // namespace lyra::train
