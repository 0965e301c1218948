// Runs the built `lyra` (or any program) as a user would: argv passed as raw bytes (no shell),
// stdout and stderr captured separately, exit code returned. Paths come from the environment
// CTest sets: LYRA_BIN (the binary) and LYRA_SOURCE_DIR (the repository).
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern char** environ;

namespace lyra::e2e {

struct RunResult {
    int code = -1;
    std::string out;
    std::string err;
};

inline std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
}

inline std::string lyra_bin() { return env_or_empty("LYRA_BIN"); }
// $LYRA_SOURCE_DIR, or the repository this header sits in (tests/e2e/cli_runner.h), so the
// tests still find models/ when the variable is not passed through.
inline std::string source_dir() {
    std::string dir = env_or_empty("LYRA_SOURCE_DIR");
    if (dir.empty()) {
        dir = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().string();
    }
    return dir;
}
inline std::string shipped_model() {
    return source_dir() + "/models/tiny-shakespeare-char.gguf";
}

inline std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A fresh empty directory, removed with everything in it when the object dies.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "lyra-e2e-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    bool empty() const { return std::filesystem::is_empty(path_); }

private:
    std::filesystem::path path_;
};

// Runs `program args...` in `cwd` (empty: inherit) with stdin read from the file `stdin_path`
// (empty: inherit), and waits for it.
inline RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                             const std::string& cwd = {}, const std::string& stdin_path = {}) {
    TempDir io;
    const std::string out_path = (io.path() / "stdout").string();
    const std::string err_path = (io.path() / "stderr").string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    if (!stdin_path.empty()) posix_spawn_file_actions_addopen(&fa, 0, stdin_path.c_str(), O_RDONLY, 0);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    RunResult r;
    if (posix_spawn(&pid, program.c_str(), &fa, nullptr, argv.data(), environ) != 0) {
        ADD_FAILURE() << "cannot start " << program;
        posix_spawn_file_actions_destroy(&fa);
        return r;
    }
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_all(out_path);
    r.err = read_all(err_path);
    return r;
}

inline RunResult run_lyra(const std::vector<std::string>& args, const std::string& cwd = {}) {
    return run_program(lyra_bin(), args, cwd);
}

// Lines in a program's output (the one-line error contract counts them).
inline int count_lines(const std::string& s) {
    int n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

// Runs a fixture writer tests/unit/format/<script> with LYRA_PYTHON (default /usr/bin/python3)
// and `args`; true when it succeeded.
inline bool run_fixture_script(const std::string& script, const std::vector<std::string>& args) {
    std::string py = env_or_empty("LYRA_PYTHON");
    if (py.empty()) py = "/usr/bin/python3";
    std::vector<std::string> all = {source_dir() + "/tests/unit/format/" + script};
    all.insert(all.end(), args.begin(), args.end());
    return run_program(py, all).code == 0;
}

// A one-line command that reproduces a run, for failure messages.
inline std::string repro(const std::vector<std::string>& args) {
    std::string s = lyra_bin();
    for (const auto& a : args) s += " '" + a + "'";
    return s;
}

// A random-init llama made once per test program by `lyra model init` with these sizes and
// --tokenizer spec ("bytes", "char:FILE" or a GGUF to copy it from); the same arguments give the
// same file, kept until the program exits.
inline std::string random_llama(int dim, int layers, int heads, int ctx, const std::string& tokenizer) {
    static TempDir dir;
    static std::map<std::string, std::string> made;
    const std::vector<std::string> sizes = {"--dim", std::to_string(dim), "--layers", std::to_string(layers),
                                            "--heads", std::to_string(heads), "--ctx", std::to_string(ctx)};
    std::string key = tokenizer;
    for (const auto& a : sizes) key += " " + a;
    if (auto it = made.find(key); it != made.end()) return it->second;
    const std::string path = (dir.path() / ("random-" + std::to_string(made.size()) + ".gguf")).string();
    std::vector<std::string> args = {"model", "init", "--arch", "llama", "--tokenizer", tokenizer, "-o", path};
    args.insert(args.end(), sizes.begin(), sizes.end());
    const RunResult r = run_lyra(args);
    EXPECT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
    return made[key] = path;
}

}  // namespace lyra::e2e
