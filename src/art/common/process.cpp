// run_process (process.h): posix_spawnp with three pipes, one poll() loop that feeds stdin and
// drains stdout/stderr together (so neither side can block the other), and a deadline.
#include "art/common/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "core/error.h"

extern char** environ;

namespace lyra::art {

namespace {

struct Pipe {
    int fd[2] = {-1, -1};
    Pipe() {
        if (pipe2(fd, O_CLOEXEC) != 0) throw_error(ErrorKind::Io, "pipe: {}", std::strerror(errno));
    }
    ~Pipe() {
        close_end(0);
        close_end(1);
    }
    void close_end(int i) {
        if (fd[i] >= 0) ::close(fd[i]);
        fd[i] = -1;
    }
};

}  // namespace

std::string find_program(std::string_view name) {
    if (name.find('/') != std::string_view::npos) {
        return ::access(std::string(name).c_str(), X_OK) == 0 ? std::string(name) : std::string();
    }
    const char* path = std::getenv("PATH");
    std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    while (!dirs.empty()) {
        const size_t colon = dirs.find(':');
        const std::string_view dir = dirs.substr(0, colon);
        dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
        if (dir.empty()) continue;
        const std::string candidate = std::string(dir) + "/" + std::string(name);
        if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate)) {
            return candidate;
        }
    }
    return {};
}

ProcessResult run_process(const std::vector<std::string>& argv, std::string_view input,
                          double timeout_s, std::string_view package) {
    if (argv.empty()) throw_error(ErrorKind::InvalidArgument, "run_process: empty command");
    // A child that exits without reading all of its stdin must not kill this process with
    // SIGPIPE: the write then fails with EPIPE instead. (Process-wide, once; a server wants the
    // same for its sockets.)
    static std::once_flag ignore_sigpipe;
    std::call_once(ignore_sigpipe, [] { ::signal(SIGPIPE, SIG_IGN); });
    const std::string exe = find_program(argv[0]);
    if (exe.empty()) {
        throw_error(ErrorKind::NotFound, "{}: program not found on PATH; install the Debian package {}",
                    argv[0], package.empty() ? argv[0] : std::string(package));
    }
    Pipe in, out, err;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.fd[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw_error(ErrorKind::Io, "{}: cannot start: {}", argv[0], std::strerror(rc));
    in.close_end(0);
    out.close_end(1);
    err.close_end(1);
    if (input.empty()) in.close_end(1);
    fcntl(in.fd[1], F_SETFL, O_NONBLOCK);

    ProcessResult result;
    size_t written = 0;
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    char buf[65536];
    while (out.fd[0] >= 0 || err.fd[0] >= 0) {
        pollfd fds[3];
        int nfds = 0;
        auto watch = [&](int fd, short events) {
            if (fd >= 0) fds[nfds++] = pollfd{fd, events, 0};
        };
        watch(out.fd[0], POLLIN);
        watch(err.fd[0], POLLIN);
        watch(in.fd[1], POLLOUT);
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            result.timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        if (::poll(fds, static_cast<nfds_t>(nfds), static_cast<int>(std::min<int64_t>(left, 1000))) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < nfds; ++i) {
            if (!fds[i].revents) continue;
            if (fds[i].fd == in.fd[1]) {
                const ssize_t n = ::write(in.fd[1], input.data() + written, input.size() - written);
                if (n > 0) written += static_cast<size_t>(n);
                if (n < 0 && errno != EAGAIN) written = input.size();  // the child closed stdin
                if (written == input.size()) in.close_end(1);
                continue;
            }
            const bool is_out = fds[i].fd == out.fd[0];
            const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                (is_out ? result.out : result.err).append(buf, static_cast<size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                (is_out ? out : err).close_end(0);
            }
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    result.exit_code = !result.timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

}  // namespace lyra::art
