// Remote models (issue #10): `-m openai:MODEL@URL` against a real `lyra serve` started here gives
// the same text (generate) and the same work and files (art) as running the model locally with
// the same seed; a remote that refuses, never answers, answers garbage, wants a key or has no art
// API gives one clear error line, exit 1 and no files.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "serve_process.h"

namespace lyra::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Args = std::vector<std::string>;

std::string remote(const ServeProcess& s, const std::string& model) {
    return "openai:" + model + "@" + s.base() + "/v1";
}

// A bare TCP listener on 127.0.0.1: with a handler it answers every request with the handler's
// raw HTTP response (given the request's first line); without one it accepts into the backlog and
// never answers.
class FakeServer {
public:
    explicit FakeServer(std::function<std::string(const std::string&)> handler = nullptr)
        : handler_(std::move(handler)) {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd_, 8) != 0 ||
            getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            ADD_FAILURE() << "cannot listen";
            return;
        }
        port_ = ntohs(a.sin_port);
        if (handler_) thread_ = std::thread([this] { serve(); });
    }
    ~FakeServer() {
        stop_ = true;
        shutdown(fd_, SHUT_RDWR);
        close(fd_);
        if (thread_.joinable()) thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
    void serve() {
        while (!stop_) {
            const int c = accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            // Reads the whole request, body included: closing a socket with unread bytes sends a
            // reset, which can destroy the answer's tail before the client reads it.
            timeval two_s{2, 0};
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &two_s, sizeof two_s);
            std::string req;
            char buf[4096];
            auto read_more = [&] {
                const ssize_t n = read(c, buf, sizeof buf);
                if (n > 0) req.append(buf, static_cast<size_t>(n));
                return n > 0;
            };
            while (req.find("\r\n\r\n") == std::string::npos && read_more()) {
            }
            const size_t head_end = req.find("\r\n\r\n");
            size_t body_len = 0;
            if (const size_t at = req.find("Content-Length: "); at != std::string::npos && at < head_end)
                body_len = std::stoul(req.substr(at + 16));
            while (head_end != std::string::npos && req.size() < head_end + 4 + body_len && read_more()) {
            }
            const std::string resp = handler_(req.substr(0, req.find("\r\n")));
            (void)!write(c, resp.data(), resp.size());
            // Then a clean end: no more to send, and wait for the client to close its side.
            shutdown(c, SHUT_WR);
            while (read_more()) {
            }
            close(c);
        }
    }
    std::function<std::string(const std::string&)> handler_;
    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

std::string http_answer(int status, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n"
           "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// Runs `lyra <head...> <common...>` twice, with the remote and with the local file of `model`;
// both must succeed. Returns their JSON outputs (remote, local).
std::pair<json, json> run_remote_and_local(const ServeProcess& s, const std::string& model,
                                           const Args& remote_head, const Args& local_head,
                                           const Args& common) {
    auto run = [&](Args args, const std::string& m) {
        args.insert(args.begin() + 1, {"-m", m});
        args.insert(args.end(), common.begin(), common.end());
        const RunResult r = run_lyra(args);
        EXPECT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
        return r.code == 0 ? json::parse(r.out) : json::object();
    };
    return {run(remote_head, remote(s, model)),
            run(local_head, (models_dir() / (model + ".gguf")).string())};
}

// One error line naming the remote and `what`, exit 1.
void expect_one_error(const RunResult& r, const std::string& what, const Args& args) {
    EXPECT_EQ(r.code, 1) << r.err << "\nrepro: " << repro(args);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("remote '"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
}

TEST(RemoteModel, GenerateGivesTheLocalTextForTheSameSeed) {
    ServeProcess s({});
    ASSERT_TRUE(s.ok());
    const Args common = {"-p", "ROMEO:", "--seed", "5", "--max-tokens", "60", "-n", "2",
                         "--temperature", "0.9", "--top-k", "20", "--threads", "1", "--json"};
    const auto [jr, jl] = run_remote_and_local(s, kModel, {"generate"}, {"generate"}, common);
    ASSERT_EQ(jr["candidates"].size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(jr["candidates"][i]["text"], jl["candidates"][i]["text"]) << "candidate " << i;
        EXPECT_FALSE(jr["candidates"][i]["text"].get<std::string>().empty());
    }
    EXPECT_EQ(jr["model"], remote(s, kModel).substr(0, remote(s, kModel).size() - 3));
}

// --json-schema against a remote goes as response_format: the remote's grammar gives the text
// the local grammar gives (random byte-level weights, so only the grammar makes it JSON).
TEST(RemoteModel, JsonSchemaTravelsAsResponseFormatWithTheLocalText) {
    ServeProcess s({});
    ASSERT_TRUE(s.ok());
    TempDir d;
    const std::string schema = (d.path() / "s.json").string();
    std::ofstream(schema) << R"({"type":"object","properties":{"id":{"type":"integer"},"ok":{"type":"boolean"}},"required":["id","ok"]})";
    const Args common = {"-p", "x", "--seed", "4", "--max-tokens", "80", "-n", "2", "--threads", "1", "--json",
                         "--json-schema", schema};
    const auto [jr, jl] = run_remote_and_local(s, kModel3, {"generate"}, {"generate"}, common);
    ASSERT_EQ(jr["candidates"].size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        const std::string text = jr["candidates"][i]["text"].get<std::string>();
        EXPECT_EQ(text, jl["candidates"][i]["text"]) << "candidate " << i;
        const json j = json::parse(text, nullptr, false);
        ASSERT_TRUE(j.is_object()) << text;
        EXPECT_TRUE(j["id"].is_number_integer()) << text;
        EXPECT_TRUE(j["ok"].is_boolean()) << text;
    }
    // A grammar or a regex has no request key: one clear error.
    const Args regex = {"generate", "-m", remote(s, kModel3), "-p", "x", "--regex", "[ab]+"};
    const RunResult r = run_lyra(regex);
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("--json-schema is sent as response_format"), std::string::npos) << r.err;
}

TEST(RemoteModel, ArtWorkAndItsFilesMatchTheLocalRun) {
    ServeProcess s({});
    ASSERT_TRUE(s.ok());
    TempDir d;
    const Args common = {"--seed", "3", "--threads", "1", "--json", "--no-gallery", "--rhythm", "jig"};
    const auto [jr, jl] = run_remote_and_local(s, kModel2, {"tune", "-o", (d.path() / "remote").string()},
                                               {"tune", "-o", (d.path() / "local").string()}, common);
    EXPECT_EQ(jr["text"], jl["text"]);
    EXPECT_EQ(jr["scores"], jl["scores"]);
    ASSERT_EQ(jr["files"].size(), jl["files"].size());
    for (const auto& [kind, path] : jl["files"].items()) {
        ASSERT_TRUE(jr["files"].contains(kind)) << kind;
        const std::string rp = jr["files"][kind].get<std::string>();
        EXPECT_EQ(fs::path(rp).parent_path(), d.path() / "remote") << rp;
        EXPECT_EQ(read_all(rp), read_all(path.get<std::string>())) << kind << " differs";
    }
}

TEST(RemoteModel, AKeyIsSentFromTheEnvironment) {
    ServeProcess s({"--api-key", "sekret"});
    ASSERT_TRUE(s.ok());
    const Args args = {"generate", "-m", remote(s, kModel), "-p", "A", "--max-tokens", "5", "--seed", "1"};
    unsetenv("LYRA_API_KEY");
    unsetenv("OPENAI_API_KEY");
    expect_one_error(run_lyra(args), "Authorization", args);
    setenv("LYRA_API_KEY", "sekret", 1);
    const RunResult r = run_lyra(args);
    unsetenv("LYRA_API_KEY");
    EXPECT_EQ(r.code, 0) << r.err;
}

TEST(RemoteModel, StreamedTextArrivesAsItIsWrittenAndEqualsTheWholeAnswer) {
    ServeProcess s({});
    ASSERT_TRUE(s.ok());
    const Args head = {"generate", "-m", remote(s, kModel), "-p", "ROMEO:", "--seed", "3", "--max-tokens", "80",
                       "--temperature", "0.8"};
    Args streamed = head, whole = head;
    whole.push_back("--no-stream");
    const RunResult a = run_lyra(streamed), b = run_lyra(whole);
    ASSERT_EQ(a.code, 0) << a.err;
    ASSERT_EQ(b.code, 0) << b.err;
    EXPECT_EQ(a.out, b.out);
    EXPECT_GT(a.out.size(), 20u);
}

// A server that sends `events` (each a data line's payload) as a text/event-stream, then closes.
std::string sse_answer(const std::vector<std::string>& events) {
    std::string body;
    for (const auto& e : events) body += "data: " + e + "\n\n";
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + body;
}

TEST(RemoteModel, BrokenStreamsGiveOneClearError) {
    const std::string ok_chunk = R"({"choices":[{"index":0,"text":"Hi","finish_reason":null}]})";
    const std::pair<std::vector<std::string>, std::string> cases[] = {
        {{ok_chunk, "{not json"}, "an event is not JSON"},
        {{ok_chunk}, "the stream ended before [DONE]"},
        {{ok_chunk, R"({"error":{"message":"model exploded"}})"}, "model exploded"},
        {{R"({"choices":[{"index":7,"text":"x"}]})", "[DONE]"}, "choice index 7 out of range"},
    };
    for (const auto& [events, says] : cases) {
        FakeServer fake([events = events](const std::string&) { return sse_answer(events); });
        const Args args = {"generate", "-m", "openai:m@" + fake.url(), "-p", "A"};
        expect_one_error(run_lyra(args), says, args);
    }
    FakeServer good([ok_chunk](const std::string&) { return sse_answer({ok_chunk, "[DONE]"}); });
    const RunResult r = run_lyra({"generate", "-m", "openai:m@" + good.url(), "-p", "A"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "Hi\n");
}

TEST(RemoteModel, RefusedSilentAndGarbageRemotesGiveOneClearError) {
    int closed_port = 0;
    {
        FakeServer gone;  // bound, then closed: nothing listens there
        closed_port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
    }
    const Args refused = {"generate", "-m", "openai:m@http://127.0.0.1:" + std::to_string(closed_port),
                          "-p", "A"};
    expect_one_error(run_lyra(refused), "cannot connect", refused);

    FakeServer silent;
    const Args timeout = {"generate", "-m", "openai:m@" + silent.url(), "-p", "A"};
    setenv("LYRA_REMOTE_TIMEOUT", "1", 1);
    const RunResult rt = run_lyra(timeout);
    unsetenv("LYRA_REMOTE_TIMEOUT");
    expect_one_error(rt, "no answer within 1 s", timeout);

    FakeServer garbage([](const std::string&) { return http_answer(200, "<html>hello</html>"); });
    const Args g = {"generate", "-m", "openai:m@" + garbage.url(), "-p", "A"};
    expect_one_error(run_lyra(g), "malformed JSON", g);

    // JSON, but not a completion.
    FakeServer wrong([](const std::string&) { return http_answer(200, R"({"choices":[{"index":0}]})"); });
    const Args w = {"generate", "-m", "openai:m@" + wrong.url(), "-p", "A"};
    expect_one_error(run_lyra(w), "lacks 'text'", w);
}

TEST(RemoteModel, ArtNeedsALyraServeAndLeavesNoFilesWhenItFails) {
    // An OpenAI-compatible server without Lyra's art API.
    FakeServer openai_only([](const std::string&) {
        return http_answer(404, R"({"error":{"message":"Not found","type":"invalid_request_error"}})");
    });
    TempDir d;
    const Args args = {"paint", "-m", "openai:m@" + openai_only.url(), "-o", (d.path() / "out").string(),
                       "--no-gallery"};
    expect_one_error(run_lyra(args), "no Lyra art API", args);
    EXPECT_FALSE(fs::exists(d.path() / "out") && !fs::is_empty(d.path() / "out"));

    const Args bad_spec = {"generate", "-m", "openai:no-url", "-p", "A"};
    const RunResult r = run_lyra(bad_spec);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("openai:MODEL@BASE_URL"), std::string::npos) << r.err;
}

// A server with only the OpenAI routes: a poem falls back to generate-check-regenerate over
// its /v1/completions. The fake answers the k-th completion with texts[k] (the last one again
// after that); the first breaks the form (欲断: 断 is 仄 where 平 is wanted; 花 breaks the rhyme),
// the second keeps it and runs on into another prompt, which must be cut away.
std::string completion(const std::string& text) {
    return http_answer(200, nlohmann::json({{"choices", {{{"index", 0}, {"text", text}, {"finish_reason", "stop"}}}}}).dump());
}

TEST(RemoteModel, PoemFallsBackToGenerateCheckRegenerate) {
    const std::string bad = "白日依山尽，黄河入海流。\n欲断千里目，更上一层花。\n";
    const std::string good = "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。";
    std::atomic<int> calls{0};
    FakeServer openai_only([&](const std::string& line) {
        if (line.find("/v1/completions") == std::string::npos)
            return http_answer(404, R"({"error":{"message":"Not found","type":"invalid_request_error"}})");
        return completion(calls++ == 0 ? bad : good + "\n\n形式:五言绝句\n题:又\n");
    });
    TempDir d;
    const Args args = {"poem", "--form", "wujue", "-m", "openai:m@" + openai_only.url(), "--seed", "3",
                       "-o", (d.path() / "out").string(), "--json", "--no-gallery"};
    const RunResult r = run_lyra(args);
    ASSERT_EQ(r.code, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["text"], good);
    EXPECT_EQ(j["scores"]["fallback"], "generate-check-regenerate");
    EXPECT_EQ(j["scores"]["fallback_attempts"], 2);
    EXPECT_EQ(j["scores"]["fallback_valid"], 1);
    EXPECT_EQ(j["scores"]["attempt"], 2);
    EXPECT_NE(r.err.find("generate-check-regenerate"), std::string::npos) << r.err;
    EXPECT_EQ(read_all(d.path() / "out" / "poem.txt"), good + "\n");

    // No try keeps the form: one clear error with the best try's faults, no files.
    calls = 0;
    FakeServer never([&](const std::string& line) {
        if (line.find("/v1/completions") == std::string::npos) return http_answer(404, "{}");
        ++calls;
        return completion(bad);
    });
    const Args args2 = {"poem", "--form", "wujue", "-m", "openai:m@" + never.url(), "-o",
                        (d.path() / "out2").string(), "--no-gallery"};
    const RunResult r2 = run_lyra(args2);
    EXPECT_EQ(r2.code, 1) << r2.err;
    EXPECT_NE(r2.err.find("none of 8 tries keeps the form wujue"), std::string::npos) << r2.err;
    EXPECT_EQ(calls.load(), 8);
    EXPECT_FALSE(fs::exists(d.path() / "out2") && !fs::is_empty(d.path() / "out2"));
}

// 古体 through the fallback: the count and rhyme tone asked for hold every try. 游子吟 (6 lines)
// and 江雪 (仄) are refused for --lines 4 --tone-rhyme ping; 静夜思 keeps the form.
TEST(RemoteModel, OldStylePoemFallbackHoldsLinesAndTone) {
    const std::vector<std::string> texts = {
        "慈母手中线，游子身上衣。\n临行密密缝，意恐迟迟归。\n谁言寸草心，报得三春晖。",
        "千山鸟飞绝，万径人踪灭。\n孤舟蓑笠翁，独钓寒江雪。",
        "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"};
    std::atomic<int> calls{0};
    FakeServer openai_only([&](const std::string& line) {
        if (line.find("/v1/completions") == std::string::npos) return http_answer(404, "{}");
        const int k = calls++;
        return completion(texts[static_cast<size_t>(std::min(k, 2))]);
    });
    const Args args = {"poem", "--form", "wugu", "--lines", "4", "--tone-rhyme", "ping", "-m",
                       "openai:m@" + openai_only.url(), "--json", "--no-gallery"};
    const RunResult r = run_lyra(args);
    ASSERT_EQ(r.code, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["text"], texts[2]);
    EXPECT_EQ(j["scores"]["fallback_attempts"], 3);
}

}  // namespace
}  // namespace lyra::e2e
