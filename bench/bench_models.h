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
    int64_t ctx = 512;     // context length; a file with a longer one is reused too
    bool rebuild = false;  // write the files again even where they have the shape
};

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
inline double weight_bytes_per_token(const lyra::model::Model& m) {
    double bytes = 0.0;
    for (const auto& ti : m.gguf().tensors()) {
        const bool embd = ti.name == "token_embd.weight";
        bytes += embd && !m.hparams().tied_output ? static_cast<double>(ti.tensor.row_bytes())
                                                   : static_cast<double>(ti.tensor.nbytes());
    }
    return bytes;
}

// True when `path` is a model the library loads with the shape `o` asks for.
inline bool has_shape(const std::string& path, const BenchModelOptions& o) {
    if (!std::filesystem::exists(path)) return false;
    try {
        const auto m = lyra::model::Model::load(path);
        const auto& hp = m->hparams();
        return hp.n_embd == o.dim && hp.n_layer == o.layers && hp.n_head == o.heads &&
               hp.n_ff == o.ffn && hp.n_vocab == o.vocab && hp.n_ctx >= o.ctx;
    } catch (const lyra::Error&) {
        return false;  // stale or foreign file: rebuild it
    }
}

// Returns the path of the model at `type`, creating the F32 model by random init and the
// converted ones from it with quantize_file. Each file written is reported on stderr.
inline std::string ensure_model(const BenchModelOptions& o, lyra::core::DType type) {
    std::filesystem::create_directories(o.work_dir);
    const std::string stem = fmt::format("{}/llama_d{}_l{}_h{}_f{}_v{}_c{}", o.work_dir, o.dim,
                                         o.layers, o.heads, o.ffn, o.vocab, o.ctx);
    const std::string f32_path = stem + "_f32.gguf";
    const std::string path = fmt::format("{}_{}.gguf", stem, lyra::core::dtype_name(type));
    if (!o.rebuild && has_shape(path, o)) return path;
    if (o.rebuild || !has_shape(f32_path, o)) {
        const auto t0 = std::chrono::steady_clock::now();
        lyra::model::InitOptions io;
        io.arch = lyra::model::Arch::Llama;
        io.n_embd = o.dim;
        io.n_layer = o.layers;
        io.n_head = o.heads;
        io.n_ff = o.ffn;
        io.n_ctx = o.ctx;
        io.seed = 1234;
        io.name = "lyra-bench-llama";
        const auto tok = make_vocab(o.vocab);
        lyra::model::init_model(lyra::model::resolve_init_options(io), *tok, f32_path);
        std::fprintf(stderr, "bench: wrote %s in %.1f s\n", f32_path.c_str(), seconds_since(t0));
    }
    if (type != lyra::core::DType::F32) {
        const auto t0 = std::chrono::steady_clock::now();
        lyra::model::quantize_file(f32_path, path, type);
        std::fprintf(stderr, "bench: wrote %s in %.1f s\n", path.c_str(), seconds_since(t0));
    }
    return path;
}

}  // namespace lyra::bench
