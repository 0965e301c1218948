// gptneo GGUF files (issue 10): the layer kinds and window Model::load reads, their defaults for
// files that carry only llama.cpp's key, and the errors for keys that disagree with the model.
// The files come from importing a tiny HF GPT-Neo directory (make_hf_fixture.py, torch).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/format/gguf.h"
#include "model/format/hf_import.h"
#include "model/model.h"
#include "model_test_util.h"

namespace lyra::model {
namespace {

using testing::TempDir;

const char* kPattern = "gptneo.attention.sliding_window_pattern";
const char* kWindow = "gptneo.attention.sliding_window";

// Imports a 3-layer GPT-Neo whose layers are local, global, local with window 5.
std::string imported_neo(const TempDir& dir) {
    const char* src = std::getenv("LYRA_SOURCE_DIR");
    const char* py = std::getenv("LYRA_PYTHON");
    EXPECT_TRUE(src && py) << "run through ctest";
    if (!src || !py) return {};
    const std::string hf = dir.file("hf"), out = dir.file("neo.gguf");
    const std::string make = std::string(py) + " " + src + "/tests/unit/format/make_hf_fixture.py gpt_neo " +
                             hf + " --layers 3 --window 5 --attention-types local,global,local > /dev/null";
    EXPECT_EQ(std::system(make.c_str()), 0) << make;
    import_hf(hf, out);
    return out;
}

// A copy of `in` without the metadata key `drop`, and with `value` under `key` when given.
std::string copy_with(const TempDir& dir, const std::string& in, const std::string& drop,
                      const std::string& key = {}, const GgufValue* value = nullptr) {
    const auto src = GgufFile::open(in);
    GgufWriter w;
    for (const auto& [k, v] : src->metadata())
        if (k != drop) w.set(k, v);
    if (value) w.set(key, *value);
    for (const auto& t : src->tensors()) w.add_tensor(t.name, t.tensor);
    const std::string out = dir.file("edited.gguf");
    w.write(out);
    return out;
}

std::string load_error(const std::string& path) {
    try {
        Model::load(path);
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Corrupt) << e.what();
        return e.what();
    }
    return "no error";
}

TEST(GptNeoLoad, ReadsTheLayerKindsAndWindow) {
    TempDir dir;
    const auto m = Model::load(imported_neo(dir));
    EXPECT_EQ(m->hparams().arch, Arch::GptNeo);
    EXPECT_EQ(m->hparams().sliding_window, 5);
    EXPECT_EQ(m->hparams().local_layers, (std::vector<bool>{true, false, true}));
}

TEST(GptNeoLoad, WithoutThePatternLayersAlternateGlobalLocal) {
    // llama.cpp's converter writes the window but no pattern; every published GPT-Neo
    // alternates global, local.
    TempDir dir;
    const auto m = Model::load(copy_with(dir, imported_neo(dir), kPattern));
    EXPECT_EQ(m->hparams().local_layers, (std::vector<bool>{false, true, false}));
}

TEST(GptNeoLoad, NamesAMissingWindowAndAPatternOfTheWrongLength) {
    TempDir dir;
    const std::string neo = imported_neo(dir);
    std::string what = load_error(copy_with(dir, neo, kWindow));
    EXPECT_NE(what.find("missing metadata key 'gptneo.attention.sliding_window'"), std::string::npos) << what;

    GgufArray two{GgufType::Bool, {{GgufType::Bool, true}, {GgufType::Bool, false}}};
    const GgufValue short_pattern{GgufType::Array, two};
    what = load_error(copy_with(dir, neo, kPattern, kPattern, &short_pattern));
    EXPECT_NE(what.find("'gptneo.attention.sliding_window_pattern' is not an array of 3 bools"),
              std::string::npos)
        << what;
}

TEST(GptNeoLoad, SessionCannotOutgrowTheLearnedPositions) {
    TempDir dir;
    const auto m = Model::load(imported_neo(dir));
    EXPECT_THROW(Session(*m, m->hparams().n_ctx + 1), Error);
    EXPECT_NO_THROW(Session(*m, m->hparams().n_ctx));
}

}  // namespace
}  // namespace lyra::model
