// server::Server's listening socket: a burst of clients connecting at once must all be queued by
// the kernel before the accept thread takes them. httplib (Debian's compiled library) listens
// with a backlog of 5, and a SYN past a full queue is dropped and retried only after TCP's 1 s
// timeout, which made one of bench_serve's 8 clients start a second late.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <filesystem>
#include <vector>

#include "server/server.h"

namespace lyra::server {
namespace {

// Opens a non-blocking connection to 127.0.0.1:port; -1 when the socket cannot be made.
int connect_nonblocking(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);  // EINPROGRESS
    return fd;
}

TEST(ServerListen, QueuesABurstOfConnectionsBeforeAccepting) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("lyra-listen-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    ServerOptions opt;
    opt.port = 0;
    opt.models_dir = dir.string();
    opt.out_dir = (dir / "files").string();
    opt.record_gallery = false;
    opt.shutdown_deadline_s = 0;  // run() never runs: nothing to wait for at the end
    Server server(opt);
    const int port = server.bind();  // listening, but run() never accepts
    ASSERT_GT(port, 0);
    // 32 clients at once, more than httplib's 5 and fewer than the server's backlog.
    constexpr int kClients = 32;
    std::vector<pollfd> fds;
    for (int i = 0; i < kClients; ++i) {
        const int fd = connect_nonblocking(port);
        ASSERT_GE(fd, 0);
        fds.push_back(pollfd{fd, POLLOUT, 0});
    }
    // A queued connection completes its handshake at once on loopback; a dropped SYN would only
    // be retried after a second.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    int connected = 0;
    for (pollfd& p : fds) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) == 1) {
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) ++connected;
        }
    }
    for (const pollfd& p : fds) ::close(p.fd);
    EXPECT_EQ(connected, kClients) << "the listen backlog dropped connections";
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lyra::server
