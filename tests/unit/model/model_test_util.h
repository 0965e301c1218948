// Helpers for the model tests: small random models written to a per-test temp directory, and
// a GGUF rewriter that copies a file with one defect (a tensor dropped or reshaped, a metadata
// value changed) so load errors can be checked by name.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "model/format/gguf.h"
#include "model/init.h"
#include "model/model.h"
#include "model/tokenizer/char_vocab.h"

namespace lyra::model::testing {

inline InitOptions small_options(Arch arch, core::DType type = core::DType::F32) {
    InitOptions o;
    o.arch = arch;
    o.n_embd = 64;
    o.n_layer = 2;
    o.n_head = 4;
    o.n_head_kv = arch == Arch::Gpt2 ? 4 : 2;
    o.n_ff = 128;
    o.n_ctx = 32;
    o.seed = 7;
    o.dtype = type;
    o.init_std = 0.05f;
    o.bias_std = 0.05f;
    return o;
}

class TempDir {
public:
    TempDir() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        path_ = std::filesystem::temp_directory_path() /
                (std::string("lyra_model_") + info->test_suite_name() + "_" + info->name() + "_" +
                 std::to_string(getpid()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

inline std::string write_small_model(const TempDir& dir, const InitOptions& o,
                                     const std::string& name = "m.gguf") {
    const std::string path = dir.file(name);
    init_model(o, *build_byte_vocab(), path);
    return path;
}

// Copies `in` to `out`. edit_tensor may return nullopt to drop a tensor or a changed view
// (same bytes, new shape); edit_meta may change the writer's keys after they were copied.
struct Edits {
    std::function<std::optional<core::Tensor>(const std::string&, const core::Tensor&)> tensor = {};
    std::function<void(GgufWriter&)> meta = {};
};

inline void rewrite_gguf(const std::string& in, const std::string& out, const Edits& e) {
    const auto src = GgufFile::open(in);
    GgufWriter w;
    for (const auto& [k, v] : src->metadata()) w.set(k, v);
    if (e.meta) e.meta(w);
    for (const auto& t : src->tensors()) {
        std::optional<core::Tensor> nt = t.tensor;
        if (e.tensor) nt = e.tensor(t.name, t.tensor);
        if (nt) w.add_tensor(t.name, *nt);
    }
    w.write(out);
}

}  // namespace lyra::model::testing
