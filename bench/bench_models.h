// The benchmark models bench_inference and bench_serve share: a random-init llama of a given
// shape (bench_inference's default, dim 768 x 12 layers, ~134 M parameters, stands for a small
// real model) in F32 and converted to other weight types, created once in a work directory and
// reused by later runs while the file there has the wanted shape.
// Header only: every bench/*.cpp is its own program (bench/CMakeLists.txt), so there is no
// shared .cpp to link. Throws lyra::Error (Io, InvalidArgument) when a file cannot be written.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "core/dtype.h"
#include "core/error.h"
#include "model/format/gguf.h"
#include "model/init.h"
#include "model/model.h"
#include "model/quantize.h"
#include "model/tokenizer/vocab.h"

#ifndef LYRA_BENCH_OUT_DIR
#define LYRA_BENCH_OUT_DIR "bench_out"
#endif

namespace lyra::bench {

// Which model, and where its files live.
struct BenchModelOptions {
    // Created or reused here: by default the build tree's (bench/CMakeLists.txt sets
    // LYRA_BENCH_OUT_DIR), shared with bench/run_inference_bench.sh, not ~0.75 GB in whatever
    // directory a program runs from.
    std::string work_dir = std::string(LYRA_BENCH_OUT_DIR) + "/models";
    int64_t dim = 768, layers = 12, heads = 12, ffn = 2048, vocab = 32000;
    int64_t kv_heads = 0;  // key/value heads; 0: as many as `heads`
    int64_t ctx = 512;     // context length; a file with a longer one is reused too
    bool rebuild = false;  // write the files again even where they have the shape
    // Initialise each weight type's file directly rather than converting an F32 one: for a
    // shape whose F32 file would be gigabytes (large_bench_model's is 4.4 GB).
    bool init_each_type = false;
};

// TinyLlama-1.1B's shape (dim 2048, 22 layers, 32 heads, 4 key/value heads, ffn 5632), same
// vocabulary and context as `base`: a model of the size people serve, whose weights (0.6 GB in
// Q4_0) no cache of the machine holds, where the default 768 x 12 model's (62 MB) partly stay
// in the last-level cache between decode steps.
inline BenchModelOptions large_bench_model(const BenchModelOptions& base) {
    BenchModelOptions o = base;
    o.dim = 2048;
    o.layers = 22;
    o.heads = 32;
    o.kv_heads = 4;
    o.ffn = 5632;
    o.init_each_type = true;
    return o;
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A Llama-2-style SentencePiece vocabulary of exactly n pieces: <unk> <s> </s>, 256 byte tokens,
// "▁", then synthetic word pieces. No benchmark needs real words: bench_inference never encodes
// text, and bench_serve's prompt is spelled in byte tokens (what a random model writes back
// needs no meaning).
inline std::unique_ptr<lyra::model::Tokenizer> make_vocab(int64_t n) {
    using lyra::model::TokenType;
    lyra::model::Vocab v = lyra::model::default_vocab("llama");
    v.add_space_prefix = false;
    auto add = [&](std::string piece, TokenType type) {
        v.scores.push_back(-static_cast<float>(v.tokens.size()));
        v.tokens.push_back(std::move(piece));
        v.types.push_back(type);
    };
    add("<unk>", TokenType::Unknown);
    add("<s>", TokenType::Control);
    add("</s>", TokenType::Control);
    for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), TokenType::Byte);
    add("\xe2\x96\x81", TokenType::Normal);  // "▁"
    for (int64_t i = static_cast<int64_t>(v.tokens.size()); i < n; ++i)
        add(fmt::format("\xe2\x96\x81w{}", i), TokenType::Normal);
    v.bos = 1;
    v.eos = 2;
    v.unk = 0;
    return lyra::model::Tokenizer::from_vocab(std::move(v));
}

// Bytes of weights one decode step reads: every tensor in full, except the token embedding, of
// which one row is read (unless the output head is tied to it, then all of it).
inline double weight_bytes_per_token(const lyra::model::GgufFile& g, bool tied_output) {
    double bytes = 0.0;
    for (const auto& ti : g.tensors()) {
        const bool embd = ti.name == "token_embd.weight";
        bytes += embd && !tied_output ? static_cast<double>(ti.tensor.row_bytes())
                                      : static_cast<double>(ti.tensor.nbytes());
    }
    return bytes;
}
inline double weight_bytes_per_token(const lyra::model::Model& m) {
    return weight_bytes_per_token(m.gguf(), m.hparams().tied_output);
}
// A file's, without loading the model (no packed copy of its weights): without an output.weight
// the head is tied to token_embd, as the llama, qwen2, gpt2 and gptneo loaders take it.
inline double weight_bytes_per_token(const std::string& path) {
    const auto g = lyra::model::GgufFile::open(path);
    return weight_bytes_per_token(*g, g->find_tensor("output.weight") == nullptr);
}

// True when `path` is a model the library loads with the shape `o` asks for.
inline bool has_shape(const std::string& path, const BenchModelOptions& o) {
    if (!std::filesystem::exists(path)) return false;
    try {
        const auto m = lyra::model::Model::load(path);
        const auto& hp = m->hparams();
        return hp.n_embd == o.dim && hp.n_layer == o.layers && hp.n_head == o.heads &&
               hp.n_head_kv == (o.kv_heads > 0 ? o.kv_heads : o.heads) && hp.n_ff == o.ffn &&
               hp.n_vocab == o.vocab && hp.n_ctx >= o.ctx;
    } catch (const lyra::Error&) {
        return false;  // stale or foreign file: rebuild it
    }
}

// Writes a random-init model of shape `o` with `type` weights to `path`.
inline void init_bench_model(const BenchModelOptions& o, lyra::core::DType type,
                             const std::string& path) {
    const auto t0 = std::chrono::steady_clock::now();
    lyra::model::InitOptions io;
    io.arch = lyra::model::Arch::Llama;
    io.n_embd = o.dim;
    io.n_layer = o.layers;
    io.n_head = o.heads;
    io.n_head_kv = o.kv_heads;
    io.n_ff = o.ffn;
    io.n_ctx = o.ctx;
    io.seed = 1234;
    io.dtype = type;
    io.name = "lyra-bench-llama";
    const auto tok = make_vocab(o.vocab);
    lyra::model::init_model(lyra::model::resolve_init_options(io), *tok, path);
    std::fprintf(stderr, "bench: wrote %s in %.1f s\n", path.c_str(), seconds_since(t0));
}

// Returns the path of the model at `type`, creating the F32 model by random init and the
// converted ones from it with quantize_file (or, with init_each_type, each type's by random
// init). Each file written is reported on stderr.
inline std::string ensure_model(const BenchModelOptions& o, lyra::core::DType type) {
    std::filesystem::create_directories(o.work_dir);
    const std::string kv =
        o.kv_heads > 0 && o.kv_heads != o.heads ? fmt::format("_kv{}", o.kv_heads) : "";
    const std::string stem = fmt::format("{}/llama_d{}_l{}_h{}{}_f{}_v{}_c{}", o.work_dir, o.dim,
                                         o.layers, o.heads, kv, o.ffn, o.vocab, o.ctx);
    const std::string f32_path = stem + "_f32.gguf";
    const std::string path = fmt::format("{}_{}.gguf", stem, lyra::core::dtype_name(type));
    if (!o.rebuild && has_shape(path, o)) return path;
    if (o.init_each_type) {
        init_bench_model(o, type, path);
        return path;
    }
    if (o.rebuild || !has_shape(f32_path, o)) init_bench_model(o, lyra::core::DType::F32, f32_path);
    if (type != lyra::core::DType::F32) {
        const auto t0 = std::chrono::steady_clock::now();
        lyra::model::quantize_file(f32_path, path, type);
        std::fprintf(stderr, "bench: wrote %s in %.1f s\n", path.c_str(), seconds_since(t0));
    }
    return path;
}

}  // namespace lyra::bench
