// Finding the shipped models (models_dir.h): $LYRA_MODELS_DIR wins, and a missing model is
// Error(NotFound) with a hint.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "generate/models_dir.h"

namespace lyra::gen {
namespace {

namespace fs = std::filesystem;

// Sets an environment variable for the life of the object, restoring the old value.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) {
            old_ = old;
            had_ = true;
        }
        setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (had_) {
            setenv(name_, old_.c_str(), 1);
        } else {
            unsetenv(name_);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::string old_;
    bool had_ = false;
};

TEST(ModelsDir, EnvironmentVariableComesFirst) {
    const fs::path dir = fs::temp_directory_path() / "lyra-models-dir-test";
    fs::create_directories(dir);
    std::ofstream(dir / "only-here.gguf") << "x";
    ScopedEnv env("LYRA_MODELS_DIR", dir.string());
    EXPECT_EQ(fs::path(default_model_path("only-here.gguf")), fs::weakly_canonical(dir / "only-here.gguf"));
    EXPECT_EQ(fs::path(find_models_dir()), fs::weakly_canonical(dir));
    fs::remove_all(dir);
}

TEST(ModelsDir, MissingModelIsNotFoundWithAHint) {
    try {
        (void)default_model_path("no-such-model-anywhere.gguf");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NotFound);
        EXPECT_NE(std::string(e.what()).find("LYRA_MODELS_DIR"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("no-such-model-anywhere.gguf"), std::string::npos);
    }
}

}  // namespace
}  // namespace lyra::gen
