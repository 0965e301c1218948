// `lyra serve` as a user runs it: the official npm `openai` client (serve_openai.mjs,
// serve_concurrent.mjs), curl for the error cases, raw sockets for SIGTERM during a stream.
// Each test starts its own server on a free port (--port 0; the bound port is read from the
// first stdout line) over a models directory holding the shipped model and a random-init one.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "serve_process.h"
#include "server/api.h"

namespace lyra::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Args = std::vector<std::string>;

// The OpenAI error shape, with the expected status, type and param.
void expect_error(const Http& h, int status, const std::string& param = {}) {
    EXPECT_EQ(h.status, status) << h.body;
    const json j = h.j();
    ASSERT_TRUE(j.contains("error")) << h.body;
    const json& e = j["error"];
    for (const char* k : {"message", "type", "param", "code"}) {
        EXPECT_TRUE(e.contains(k)) << k << " missing in " << h.body;
    }
    EXPECT_TRUE(e["message"].is_string());
    EXPECT_FALSE(e["message"].get<std::string>().empty());
    if (!param.empty()) {
        EXPECT_EQ(e["param"], param) << h.body;
    }
}

RunResult run_node(const std::string& script, const ServeProcess& s, const std::string& key = {}) {
    setenv("LYRA_BASE", s.base().c_str(), 1);
    setenv("LYRA_MODEL", kModel, 1);
    setenv("LYRA_MODEL2", kModel2, 1);
    setenv("LYRA_MODEL3", kModel3, 1);
    setenv("LYRA_ENCODER", kEncoder, 1);
    setenv("LYRA_KEY", key.c_str(), 1);
    return run_program("/usr/bin/node", {source_dir() + "/tests/e2e/" + script}, source_dir());
}

TEST(Serve, OpenAIClientEndToEnd) {
    ServeProcess s({"--api-key", "sekret"});
    ASSERT_TRUE(s.ok());
    const RunResult r = run_node("serve_openai.mjs", s, "sekret");
    EXPECT_EQ(r.code, 0) << r.out << r.err << "\nserver: " << s.stderr_text();
    EXPECT_NE(r.out.find("all checks passed"), std::string::npos) << r.out;
    EXPECT_EQ(s.stop(SIGTERM, std::chrono::seconds(15)), 0) << s.stderr_text();
}

TEST(Serve, ConcurrentClientsGetTheirAloneOutput) {
    ServeProcess s({});
    ASSERT_TRUE(s.ok());
    const RunResult r = run_node("serve_concurrent.mjs", s);
    EXPECT_EQ(r.code, 0) << r.out << r.err << "\nserver: " << s.stderr_text();
    EXPECT_NE(r.out.find("matched their alone output"), std::string::npos) << r.out;
}

TEST(Serve, ErrorsAreOpenAIShapedWithTheRightStatus) {
    ServeProcess s({"--api-key", "k1", "--max-body", "4096", "--max-tokens", "64", "--max-n",
                    "4"});
    ASSERT_TRUE(s.ok());
    const Args auth = {"-H", "Authorization: Bearer k1"};
    const std::string ok_body = R"({"model":"tiny-shakespeare-char","prompt":"A","max_tokens":4})";
    // the key
    expect_error(post(s, "/v1/completions", ok_body), 401);
    expect_error(post(s, "/v1/completions", ok_body, {"-H", "Authorization: Bearer wrong"}), 401);
    EXPECT_EQ(post(s, "/v1/completions", ok_body, auth).status, 200);
    expect_error(curl(s.base() + "/v1/models", {}), 401);
    // bad JSON, wrong shapes
    expect_error(post(s, "/v1/completions", "{\"prompt\": ", auth), 400);
    expect_error(post(s, "/v1/completions", "[1,2]", auth), 400);
    expect_error(post(s, "/v1/chat/completions", R"({"messages":"hi"})", auth), 400, "messages");
    // oversized body
    const std::string big = R"({"prompt":")" + std::string(8000, 'a') + R"("})";
    expect_error(post(s, "/v1/completions", big, auth), 413);
    // a body nested past 128 levels (printing or freeing it would recurse past the stack): a 400,
    // and the server goes on answering
    const std::string deep = R"({"prompt":)" + std::string(1500, '[') + std::string(1500, ']') + "}";
    const Http too_deep = post(s, "/v1/completions", deep, auth);
    expect_error(too_deep, 400);
    EXPECT_NE(too_deep.body.find("nested 1501 levels deep"), std::string::npos) << too_deep.body;
    EXPECT_EQ(post(s, "/v1/completions", ok_body, auth).status, 200);
    // unknown model, also through the legacy engine path
    Http h = post(s, "/v1/completions", R"({"model":"nope","prompt":"A"})", auth);
    expect_error(h, 404, "model");
    EXPECT_EQ(h.j()["error"]["code"], "model_not_found");
    expect_error(post(s, "/v1/engines/nope/completions", R"({"prompt":"A"})", auth), 404, "model");
    expect_error(post(s, "/v1/completions", R"({"model":"../models/x","prompt":"A"})", auth), 404,
                 "model");
    // limits
    expect_error(post(s, "/v1/completions", R"({"prompt":"A","max_tokens":65})", auth), 400,
                 "max_tokens");
    expect_error(post(s, "/v1/completions", R"({"prompt":"A","n":5})", auth), 400, "n");
    expect_error(post(s, "/v1/completions", R"({"prompt":"A","temperature":-1})", auth), 400,
                 "temperature");
    // a prompt longer than the model's context (128)
    h = post(s, "/v1/completions", R"({"prompt":")" + std::string(300, 'a') + R"("})", auth);
    expect_error(h, 400);
    EXPECT_EQ(h.j()["error"]["code"], "context_length_exceeded");
    // unknown route, unknown art form
    expect_error(curl(s.base() + "/v1/nothing", auth), 404);
    expect_error(post(s, "/v1/art/sculpture", "{}", auth), 404);
    // path traversal under /files: encoded, raw (--path-as-is) and absolute
    fs::create_directories(s.files_dir());
    std::ofstream(s.files_dir().parent_path() / "secret.txt") << "SECRET";
    for (const std::string path : {"/files/../secret.txt", "/files/%2e%2e/secret.txt",
                                   "/files/..%2fsecret.txt", "/files/%2e%2e%2fsecret.txt",
                                   "/files//etc/passwd", "/files/../../../../etc/passwd"}) {
        h = curl(s.base() + path, {"--path-as-is"});
        EXPECT_NE(h.status, 200) << path;
        EXPECT_EQ(h.body.find("SECRET"), std::string::npos) << path;
        EXPECT_EQ(h.body.find("root:"), std::string::npos) << path;
    }
    // a real artifact is served
    fs::create_directories(s.files_dir() / "poem" / "1");
    std::ofstream(s.files_dir() / "poem" / "1" / "a.txt") << "verse";
    h = curl(s.base() + "/files/poem/1/a.txt", {});
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.body, "verse");
    EXPECT_EQ(s.stop(SIGTERM, std::chrono::seconds(15)), 0) << s.stderr_text();
}

// The shipped model's ids of `text` (lyra tokenize: with its BOS unless no_bos).
std::vector<int> token_ids(const std::string& text, bool no_bos = false) {
    std::vector<std::string> args = {"tokenize", "-m", source_dir() + "/models/" + kModel + ".gguf",
                                     "-p", text, "--ids-only"};
    if (no_bos) args.push_back("--no-bos");
    const RunResult r = run_lyra(args);
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<int> ids;
    std::istringstream in(r.out);
    for (int id; in >> id;) ids.push_back(id);
    return ids;
}

// OpenAI's token-id prompts and logit_bias, by curl: a prompt given as its ids continues as the
// text does, a banned token never comes, and bad ids are a 400 naming what was wrong.
// The value of `metric{model="tiny-shakespeare-char"}` in a /metrics body, or -1.
double metric(const std::string& body, const std::string& name) {
    const std::string key = name + "{model=\"" + kModel + "\"} ";
    const size_t at = body.find("\n" + key);
    return at == std::string::npos ? -1 : std::stod(body.substr(at + 1 + key.size()));
}

// GET /metrics: the scheduler's counters in the Prometheus text format, behind the API key like
// the API; the steps' time splits into the forward and the rest.
TEST(Serve, MetricsCountStepsTokensAndTheirTimeBehindTheKey) {
    ServeProcess s({"--api-key", "k1"});
    ASSERT_TRUE(s.ok());
    const Args auth = {"-H", "Authorization: Bearer k1"};
    expect_error(curl(s.base() + "/metrics", {}), 401);
    Http h = curl(s.base() + "/metrics", auth);
    ASSERT_EQ(h.status, 200) << h.body;
    EXPECT_NE(h.body.find("# TYPE lyra_steps_total counter\n"), std::string::npos) << h.body;
    EXPECT_NE(h.body.find("\nlyra_models_loaded 0\n"), std::string::npos) << h.body;
    EXPECT_EQ(metric(h.body, "lyra_steps_total"), -1) << "no model is loaded yet";

    const std::string body = std::string(R"({"model":")") + kModel + R"(","prompt":"ROMEO:","max_tokens":8,"n":2})";
    const auto sent = std::chrono::steady_clock::now();
    const Http done = post(s, "/v1/completions", body, auth);
    const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
    ASSERT_EQ(done.status, 200) << done.body;
    ASSERT_EQ(done.j()["choices"].size(), 2u) << done.body;
    h = curl(s.base() + "/metrics", auth);
    ASSERT_EQ(h.status, 200) << h.body;
    EXPECT_NE(h.body.find("\nlyra_models_loaded 1\n"), std::string::npos) << h.body;
    const double steps = metric(h.body, "lyra_steps_total"), rows = metric(h.body, "lyra_step_rows_total");
    const double tokens = metric(h.body, "lyra_tokens_generated_total");
    EXPECT_GE(steps, 1) << h.body;
    EXPECT_GE(rows, steps) << h.body;
    EXPECT_GE(tokens, 2) << h.body;
    EXPECT_LE(tokens, 16) << h.body;
    const double step_s = metric(h.body, "lyra_step_seconds_total"), forward_s = metric(h.body, "lyra_forward_seconds_total");
    EXPECT_GT(forward_s, 0) << h.body;
    EXPECT_LE(forward_s, step_s) << h.body;
    // The steps and the gaps between them are all inside this one request's wall time (the
    // metrics print microseconds rounded to 6 decimals of a second; 1 ms of slack for that).
    const double between_s = metric(h.body, "lyra_between_steps_seconds_total");
    EXPECT_GE(between_s, 0) << "missing: " << h.body;
    EXPECT_LE(step_s + between_s, wall_s + 1e-3) << h.body;
    EXPECT_EQ(metric(h.body, "lyra_sequences_active"), 0) << h.body;
    EXPECT_GE(metric(h.body, "lyra_max_batch"), 1) << h.body;
    EXPECT_GE(metric(h.body, "lyra_sessions_reused_total"), 0) << "missing: " << h.body;
    // The request's two sessions went onto the shelf, which an idle scheduler empties after a
    // second: two, unless this machine took that long to ask.
    const double kept = metric(h.body, "lyra_sessions_kept");
    EXPECT_GE(kept, 0) << "missing: " << h.body;
    EXPECT_LE(kept, 2) << h.body;
    // Without a studio page to serve, / lists the endpoints, /metrics among them.
    if (!fs::exists(models_dir().parent_path() / "web")) {
        const Http root = curl(s.base() + "/", {});
        ASSERT_EQ(root.status, 200) << root.body;
        const json list = root.j()["endpoints"];
        EXPECT_NE(std::find(list.begin(), list.end(), "/metrics"), list.end()) << root.body;
    }
}

TEST(Serve, TokenPromptsAndLogitBias) {
    ServeProcess s({});
    ASSERT_TRUE(s.ok());
    const auto text_of = [&](const json& body) {
        const Http h = post(s, "/v1/completions", body.dump());
        EXPECT_EQ(h.status, 200) << h.body;
        return h.j()["choices"][0]["text"].get<std::string>();
    };
    const json greedy = {{"model", kModel}, {"max_tokens", 24}, {"temperature", 0}};
    json by_text = greedy, by_ids = greedy;
    by_text["prompt"] = "ROMEO:\n";
    by_ids["prompt"] = token_ids("ROMEO:\n");
    const std::string text = text_of(by_text);
    EXPECT_EQ(text_of(by_ids), text);
    // Two token prompts give two choices, each as alone.
    json two = greedy;
    two["prompt"] = {token_ids("ROMEO:\n"), token_ids("JULIET:\n")};
    const Http h2 = post(s, "/v1/completions", two.dump());
    ASSERT_EQ(h2.status, 200) << h2.body;
    ASSERT_EQ(h2.j()["choices"].size(), 2u);
    EXPECT_EQ(h2.j()["choices"][0]["text"], text);
    // Ban the first character the greedy text writes: it appears nowhere in the new text.
    ASSERT_FALSE(text.empty());
    const std::vector<int> first = token_ids(text.substr(0, 1), true);
    ASSERT_EQ(first.size(), 1u);
    json banned = by_text;
    banned["logit_bias"] = {{std::to_string(first[0]), -100}};
    const std::string other = text_of(banned);
    EXPECT_EQ(other.find(text[0]), std::string::npos) << other;
    // Errors: an id past the vocabulary (in a prompt or a bias), a mix, a bad bias.
    json bad = greedy;
    bad["prompt"] = {1, 100000};
    Http h = post(s, "/v1/completions", bad.dump());
    expect_error(h, 400);
    EXPECT_NE(h.body.find("outside the model's vocabulary"), std::string::npos) << h.body;
    bad = by_text;
    bad["logit_bias"] = {{"100000", 5}};
    expect_error(post(s, "/v1/completions", bad.dump()), 400);
    bad["logit_bias"] = {{"5", -101}};
    expect_error(post(s, "/v1/completions", bad.dump()), 400, "logit_bias");
    bad = greedy;
    bad["prompt"] = {json::array({1, 2}), "text"};
    expect_error(post(s, "/v1/completions", bad.dump()), 400, "prompt");
    bad = by_text;
    bad["max_tokens"] = 0;  // scoring needs echo
    expect_error(post(s, "/v1/completions", bad.dump()), 400, "max_tokens");
    bad = by_text;
    bad["best_of"] = 3;
    bad["stream"] = true;
    expect_error(post(s, "/v1/completions", bad.dump()), 400, "best_of");
    EXPECT_EQ(s.stop(SIGTERM, std::chrono::seconds(15)), 0) << s.stderr_text();
}

// response_format: JSON mode and structured outputs by grammar-constrained decoding. Even a
// random-weight byte-level model's every choice, streamed or not, is JSON the schema allows.
TEST(Serve, ResponseFormatGivesJsonTheSchemaAllows) {
    ServeProcess s({});
    ASSERT_TRUE(s.ok());
    const json person = {{"type", "object"},
                         {"properties", {{"name", {{"type", "string"}, {"maxLength", 10}}},
                                         {"age", {{"type", "integer"}}},
                                         {"tags", {{"type", "array"}, {"items", {{"type", "string"}}}, {"maxItems", 2}}}}},
                         {"required", {"name", "age"}}};
    json chat = {{"model", kModel3},
                 {"messages", {{{"role", "user"}, {"content", "A person, please."}}}},
                 {"max_tokens", 160},
                 {"n", 3},
                 {"seed", 9},
                 {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "person"}, {"schema", person}}}}}};
    const auto expect_person = [](const std::string& text) {
        json j;
        ASSERT_NO_THROW(j = json::parse(text)) << text;
        ASSERT_TRUE(j.is_object()) << text;
        ASSERT_TRUE(j.contains("name") && j["name"].is_string()) << text;
        EXPECT_LE(j["name"].get<std::string>().size(), 40u);  // 10 characters, up to 4 bytes each
        ASSERT_TRUE(j.contains("age") && j["age"].is_number_integer()) << text;
        if (j.contains("tags")) {
            EXPECT_LE(j["tags"].size(), 2u) << text;
        }
        for (const auto& [k, v] : j.items()) EXPECT_TRUE(k == "name" || k == "age" || k == "tags") << text;
    };
    Http h = post(s, "/v1/chat/completions", chat.dump());
    ASSERT_EQ(h.status, 200) << h.body;
    ASSERT_EQ(h.j()["choices"].size(), 3u);
    for (const auto& c : h.j()["choices"]) {
        expect_person(c["message"]["content"].get<std::string>());
        EXPECT_EQ(c["finish_reason"], "stop");  // the grammar ended it, within max_tokens
    }
    // Streamed: the pieces join to the same JSON.
    chat["stream"] = true;
    chat["n"] = 1;
    h = post(s, "/v1/chat/completions", chat.dump());
    ASSERT_EQ(h.status, 200) << h.body;
    std::string streamed;
    std::istringstream events(h.body);
    for (std::string line; std::getline(events, line);) {
        if (line.rfind("data: {", 0) != 0) continue;
        const json e = json::parse(line.substr(6));
        for (const auto& c : e["choices"])
            if (c.contains("delta") && c["delta"].contains("content")) streamed += c["delta"]["content"].get<std::string>();
    }
    expect_person(streamed);
    EXPECT_EQ(streamed, json::parse(post(s, "/v1/chat/completions", [&] {
                                        json one = chat;
                                        one.erase("stream");
                                        return one.dump();
                                    }()).body)["choices"][0]["message"]["content"]);
    // JSON mode on completions: any JSON object.
    const json object_mode = {{"model", kModel3}, {"prompt", "x"}, {"max_tokens", 80}, {"seed", 2},
                              {"response_format", {{"type", "json_object"}}}};
    h = post(s, "/v1/completions", object_mode.dump());
    ASSERT_EQ(h.status, 200) << h.body;
    EXPECT_TRUE(json::parse(h.j()["choices"][0]["text"].get<std::string>()).is_object()) << h.body;
    // What cannot be followed is a 400 naming response_format.
    for (const json& bad : {json{{"type", "xml"}}, json{{"type", "json_schema"}}, json("json"),
                            json{{"type", "json_schema"}, {"json_schema", {{"name", "x"}, {"schema", {{"type", "frobnicate"}}}}}}}) {
        json body = object_mode;
        body["response_format"] = bad;
        expect_error(post(s, "/v1/completions", body.dump()), 400, "response_format");
    }
    EXPECT_EQ(s.stop(SIGTERM, std::chrono::seconds(15)), 0) << s.stderr_text();
}

// /v1/embeddings: an encoder's embeddings are `lyra model embed`'s, as floats or base64; what
// cannot be embedded is a 400 naming the param.
TEST(Serve, EmbeddingsAreTheEncodersAsFloatsOrBase64) {
    ServeProcess s({});
    ASSERT_TRUE(s.ok());
    const std::vector<std::string> texts = {"red apple", "green pear sky"};
    Http h = post(s, "/v1/embeddings", json{{"model", kEncoder}, {"input", texts}}.dump());
    ASSERT_EQ(h.status, 200) << h.body;
    const json j = h.j();
    EXPECT_EQ(j["object"], "list");
    EXPECT_EQ(j["model"], kEncoder);
    ASSERT_EQ(j["data"].size(), 2u);
    const RunResult cli = run_lyra({"model", "embed", "-m", (models_dir() / (std::string(kEncoder) + ".gguf")).string(),
                                    texts[0], texts[1]});
    ASSERT_EQ(cli.code, 0) << cli.err;
    const json local = json::parse(cli.out)["embeddings"];
    int64_t tokens = 0;
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(j["data"][i]["object"], "embedding");
        EXPECT_EQ(j["data"][i]["index"], i);
        const auto served = j["data"][i]["embedding"].get<std::vector<float>>();
        EXPECT_EQ(served, local[i]["embedding"].get<std::vector<float>>()) << i;
        double norm = 0;
        for (float x : served) norm += static_cast<double>(x) * static_cast<double>(x);
        EXPECT_NEAR(norm, 1.0, 1e-4);
        tokens += local[i]["tokens"].get<int64_t>();
    }
    EXPECT_EQ(j["usage"]["prompt_tokens"], tokens);
    // base64: the same floats' little-endian bytes.
    h = post(s, "/v1/embeddings", json{{"model", kEncoder}, {"input", texts[0]}, {"encoding_format", "base64"}}.dump());
    ASSERT_EQ(h.status, 200) << h.body;
    const std::string b64 = h.j()["data"][0]["embedding"].get<std::string>();
    const std::vector<float> want = local[0]["embedding"].get<std::vector<float>>();
    std::string bytes(want.size() * sizeof(float), '\0');
    std::memcpy(bytes.data(), want.data(), bytes.size());
    EXPECT_EQ(b64, server::base64_encode(bytes));
    // Token ids, taken as they are ([CLS] red apple [SEP] written out by hand gives the text's).
    const std::vector<int> ids = {2, 5, 7, 3};  // bert_dir: [CLS]=2, [SEP]=3, red=5, apple=7
    h = post(s, "/v1/embeddings", json{{"model", kEncoder}, {"input", ids}}.dump());
    ASSERT_EQ(h.status, 200) << h.body;
    EXPECT_EQ(h.j()["data"][0]["embedding"].get<std::vector<float>>(), want);
    // Errors, and the encoder asked for text: a 400 that points to this endpoint.
    h = post(s, "/v1/completions", json{{"model", kEncoder}, {"prompt", "red"}}.dump());
    expect_error(h, 400, "model");
    EXPECT_NE(h.body.find("POST /v1/embeddings"), std::string::npos) << h.body;
    expect_error(post(s, "/v1/embeddings", json{{"model", kModel}, {"input", "x"}}.dump()), 400, "model");
    expect_error(post(s, "/v1/embeddings", json{{"model", "nope"}, {"input", "x"}}.dump()), 404, "model");
    expect_error(post(s, "/v1/embeddings", json{{"model", kEncoder}}.dump()), 400, "input");
    expect_error(post(s, "/v1/embeddings", json{{"model", kEncoder}, {"input", ""}}.dump()), 400, "input");
    expect_error(post(s, "/v1/embeddings", json{{"model", kEncoder}, {"input", {1, 99999}}}.dump()), 400, "input");
    std::string long_text;
    for (int i = 0; i < 200; ++i) long_text += "red ";  // 202 tokens; the encoder has 128 positions
    expect_error(post(s, "/v1/embeddings", json{{"model", kEncoder}, {"input", long_text}}.dump()), 400, "input");
    expect_error(post(s, "/v1/embeddings", json{{"model", kEncoder}, {"input", "x"}, {"dimensions", 8}}.dump()), 400,
                 "dimensions");
    expect_error(post(s, "/v1/embeddings", json{{"model", kEncoder}, {"input", "x"}, {"encoding_format", "hex"}}.dump()),
                 400, "encoding_format");
    EXPECT_EQ(s.stop(SIGTERM, std::chrono::seconds(15)), 0) << s.stderr_text();
}

TEST(Serve, ArtEndpointsAnswerWorkOr501) {
    ServeProcess s({});
    ASSERT_TRUE(s.ok());
    for (const std::string form : {"poem", "tune", "paint", "story"}) {
        const Http h = post(s, "/v1/art/" + form, R"({"seed":1,"n":1,"model":"tiny-shakespeare-char"})");
        if (h.status == 501) {
            expect_error(h, 501);
            EXPECT_EQ(h.j()["error"]["type"], "not_implemented") << h.body;
            continue;
        }
        // A built form: either a work (files as /files/ URLs that serve) or a clear 400 for
        // options it needs.
        if (h.status == 400) {
            expect_error(h, 400);
            continue;
        }
        ASSERT_EQ(h.status, 200) << form << ": " << h.body;
        const json j = h.j();
        EXPECT_EQ(j["form"], form) << h.body;
        if (j.contains("files")) {
            for (auto& [kind, url] : j["files"].items()) {
                const std::string u = url.get<std::string>();
                ASSERT_EQ(u.rfind("/files/", 0), 0u) << kind << " " << u;
                EXPECT_EQ(curl(s.base() + u, {}).status, 200) << u;
            }
        }
    }
    expect_error(post(s, "/v1/art/poem", "not json"), 400);
}

// /v1/art/paint passes "guidance" (classifier-free guidance, issue 7) and "guide" to the form:
// the served drawing is the one `lyra paint --guidance` draws with the same seed, and a bad scale
// is a 400 naming the key.
TEST(Serve, PaintGuidanceAndGuidePassThroughAndMatchTheCli) {
    TempDir models;
    const std::string paint = source_dir() + "/models/paint-dsl.gguf";
    ASSERT_TRUE(fs::exists(paint)) << paint;
    fs::create_symlink(paint, models.path() / "paint-dsl.gguf");
    ServeProcess s({}, "", models.path());
    ASSERT_TRUE(s.ok()) << s.stderr_text();
    const Http h = post(s, "/v1/art/paint",
                        R"({"model":"paint-dsl","subject":"red apple","guidance":2,"seed":4,"length":120,"n":1})");
    ASSERT_EQ(h.status, 200) << h.body;
    const RunResult r = run_lyra({"paint", "-m", paint, "--subject", "red apple", "--guidance", "2", "--seed", "4",
                                  "--length", "120", "--threads", "1", "--no-gallery", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(h.j()["text"], json::parse(r.out)["text"]);
    const RunResult plain = run_lyra({"paint", "-m", paint, "--subject", "red apple", "--guidance", "0", "--seed",
                                      "4", "--length", "120", "--threads", "1", "--no-gallery", "--json"});
    ASSERT_EQ(plain.code, 0) << plain.err;
    EXPECT_NE(json::parse(plain.out)["text"], h.j()["text"]) << "guidance changed nothing";
    for (const char* bad : {R"(-1)", R"("high")", R"(11)"}) {
        const Http e = post(s, "/v1/art/paint", std::string(R"({"model":"paint-dsl","guidance":)") + bad + "}");
        expect_error(e, 400);
        EXPECT_NE(e.body.find("guidance"), std::string::npos) << e.body;
    }
    // "guide": a drawing of the client's own travels in the request (the server reads no file);
    // its kept shapes come first and the scores name it. A bad guide or keep is a 400 naming it.
    const std::string svg = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 128 128'><circle cx='64' cy='64' "
                            "r='40' fill='#0000ff'/><rect x='10' y='10' width='20' height='20'/></svg>";
    const Http g = post(s, "/v1/art/paint", json{{"model", "paint-dsl"}, {"guide", svg}, {"seed", 4}, {"length", 120}}.dump());
    ASSERT_EQ(g.status, 200) << g.body;
    EXPECT_EQ(g.j()["scores"]["guide"], "given drawing") << g.body;
    EXPECT_EQ(g.j()["text"].get<std::string>().rfind("canvas 128 128\ncircle 64 64 40 f #0000ff\n", 0), 0u) << g.body;
    for (const json& bad : {json{{"model", "paint-dsl"}, {"subject", "x"}, {"guide", "<svg"}},
                            json{{"model", "paint-dsl"}, {"subject", "x"}, {"keep", 2}}}) {
        const Http e = post(s, "/v1/art/paint", bad.dump());
        expect_error(e, 400);
        EXPECT_NE(e.body.find(bad.contains("keep") ? "keep" : "guide: svg"), std::string::npos) << e.body;
    }
    EXPECT_EQ(s.stop(SIGTERM, std::chrono::seconds(15)), 0) << s.stderr_text();
}

// A poem's 古体 options over HTTP (issue #5: "lines", "tone_rhyme", as the studio page sends them)
// reach the form, and a bad value is refused with the CLI's own message. The CLI's --json is the
// object the server answers (DESIGN.md "Machine-readable results": "the same shape the server
// returns"), apart from what names a place — artifact paths vs /files/ URLs, the model's path.
TEST(Serve, OldStylePoemOptionsPassThroughAndMatchTheCli) {
    TempDir models;
    const std::string zh = source_dir() + "/models/poetry-zh.gguf";
    ASSERT_TRUE(fs::exists(zh)) << zh;
    fs::create_symlink(zh, models.path() / "poetry-zh.gguf");
    ServeProcess s({}, "", models.path());
    ASSERT_TRUE(s.ok()) << s.stderr_text();
    // The request as JSON and as `lyra poem` flags.
    const auto cli_args = [&](const json& req) {
        Args a = {"poem", "-m",           zh,       "--threads",
                  "2",    "--no-gallery", "--form", req["form"].get<std::string>()};
        if (req.contains("lines")) a.insert(a.end(), {"--lines", req["lines"].dump()});
        if (req.contains("tone_rhyme"))
            a.insert(a.end(), {"--tone-rhyme", req["tone_rhyme"].get<std::string>()});
        for (const char* key : {"stanzas", "pattern"}) {
            if (req.contains(key))
                a.insert(a.end(),
                         {std::string("--") + key,
                          req[key].is_string() ? req[key].get<std::string>() : req[key].dump()});
        }
        if (req.contains("seed")) a.insert(a.end(), {"--seed", req["seed"].dump()});
        if (req.contains("n")) a.insert(a.end(), {"-n", req["n"].dump()});
        return a;
    };
    const json req = {{"form", "qigu"}, {"lines", 12}, {"tone_rhyme", "ze"}, {"seed", 5}, {"n", 2}};
    json with_model = req;
    with_model["model"] = "poetry-zh";
    const Http h = post(s, "/v1/art/poem", with_model.dump());
    ASSERT_EQ(h.status, 200) << h.body;
    json served = h.j();
    const std::string text = served["text"].get<std::string>();
    std::vector<std::string> lines;
    for (size_t at = 0; at <= text.size();) {
        const size_t nl = std::min(text.find('\n', at), text.size());
        lines.push_back(text.substr(at, nl - at));
        at = nl + 1;
    }
    ASSERT_EQ(lines.size(), 12u) << text;
    for (const std::string& l : lines) {
        EXPECT_EQ(l.size(), 8u * 3u) << "7 characters and a stop, 3 UTF-8 bytes each: " << l;
        EXPECT_TRUE(l.ends_with("，") || l.ends_with("。")) << l;
    }
    EXPECT_EQ(served["scores"]["opening"].get<std::string>().rfind("仄韵", 0), 0u) << h.body;
    EXPECT_EQ(served["scores"]["form"], 1.0) << h.body;
    EXPECT_EQ(served["model"], "poetry-zh") << "the served name, not a path on the server's disk";

    RunResult r = run_lyra([&] {
        Args a = cli_args(req);
        a.push_back("--json");
        return a;
    }());
    ASSERT_EQ(r.code, 0) << r.err;
    json printed = json::parse(r.out);
    for (json* j : {&served, &printed}) {
        EXPECT_TRUE(j->contains("model")) << j->dump();
        j->erase("model");
        j->erase("files");
    }
    EXPECT_EQ(printed, served);

    // 换韵 and 杂言 keys: a list from JSON is the CLI's comma list; same poem both ways.
    const json za = {{"form", "zayan"}, {"pattern", json::array({3, 3, 7, 7, 5, 5, 7, 7})},
                     {"stanzas", 4},    {"tone_rhyme", "alternate"},
                     {"seed", 3},       {"n", 1}};
    json za_model = za;
    za_model["model"] = "poetry-zh";
    const Http hz = post(s, "/v1/art/poem", za_model.dump());
    ASSERT_EQ(hz.status, 200) << hz.body;
    json za_served = hz.j();
    EXPECT_EQ(za_served["scores"]["form"], 1.0) << hz.body;
    EXPECT_EQ(za_served["scores"]["opening"].get<std::string>().rfind("换韵", 0), 0u) << hz.body;
    json za_cli = za;
    za_cli["pattern"] = "3,3,7,7,5,5,7,7";
    r = run_lyra([&] {
        Args a = cli_args(za_cli);
        a.push_back("--json");
        return a;
    }());
    ASSERT_EQ(r.code, 0) << r.err;
    printed = json::parse(r.out);
    for (json* j : {&za_served, &printed}) {
        j->erase("model");
        j->erase("files");
    }
    EXPECT_EQ(printed, za_served);

    // Bad values: 400 over HTTP, exit 1 from the CLI, one message.
    const std::vector<json> bad = {
        {{"form", "qigu"}, {"lines", 7}},
        {{"form", "qigu"}, {"lines", 0}},
        {{"form", "wugu"}, {"lines", 26}},
        {{"form", "wugu"}, {"lines", -2}},
        {{"form", "qigu"}, {"tone_rhyme", "up"}},
        {{"form", "qigu"}, {"tone_rhyme", ""}},
        {{"form", "wujue"}, {"lines", 8}},
        {{"form", "qilv"}, {"tone_rhyme", "ze"}},
        {{"form", "qigu"}, {"stanzas", 3}},
        {{"form", "qigu"}, {"lines", 12}, {"stanzas", "4,4"}},
        {{"form", "wujue"}, {"stanzas", "2"}},
        {{"form", "zayan"}, {"pattern", "3,3,10,10"}},
        {{"form", "wugu"}, {"pattern", "5,5,5,5"}},
        {{"form", "qigu"}, {"tone_rhyme", "alternate"}},
    };
    for (const json& b : bad) {
        json body = b;
        body["model"] = "poetry-zh";
        const Http e = post(s, "/v1/art/poem", body.dump());
        expect_error(e, 400);
        r = run_lyra(cli_args(b));
        EXPECT_EQ(r.code, 1) << b.dump() << r.err;
        EXPECT_EQ("lyra: " + e.j()["error"]["message"].get<std::string>() + "\n", r.err)
            << b.dump();
    }
}

TEST(Serve, ArtWorksAreRecordedInTheGalleryAndListedByGetGallery) {
    TempDir g;
    const std::string db = (g.path() / "gallery.sqlite").string();
    ServeProcess s({}, db);
    ASSERT_TRUE(s.ok());
    std::vector<int64_t> ids;
    for (int seed : {1, 2, 3}) {
        const Http h = post(s, "/v1/art/tune",
                            json{{"seed", seed}, {"n", 1}, {"model", kModel2}}.dump());
        ASSERT_EQ(h.status, 200) << h.body;
        ASSERT_TRUE(h.j().contains("gallery_id")) << h.body;
        ids.push_back(h.j()["gallery_id"].get<int64_t>());
    }
    // Newest first, paged with next_before; each work's files are URLs that serve.
    Http page = get(s, "/v1/gallery?form=tune&limit=2");
    ASSERT_EQ(page.status, 200) << page.body;
    json j = page.j();
    EXPECT_EQ(j["total"], 3);
    ASSERT_EQ(j["data"].size(), 2u);
    EXPECT_EQ(j["data"][0]["id"], ids[2]);
    EXPECT_EQ(j["data"][1]["id"], ids[1]);
    EXPECT_EQ(j["data"][0]["source"], "server");
    EXPECT_EQ(j["data"][0]["seed"], 3);
    EXPECT_FALSE(j["data"][0].contains("model")) << "a server path must not leak";
    ASSERT_TRUE(j.contains("next_before"));
    page = get(s, "/v1/gallery?form=tune&limit=2&before=" + j["next_before"].dump());
    ASSERT_EQ(page.status, 200) << page.body;
    ASSERT_EQ(page.j()["data"].size(), 1u);
    EXPECT_EQ(page.j()["data"][0]["id"], ids[0]);
    EXPECT_FALSE(page.j().contains("next_before"));

    const Http one = get(s, "/v1/gallery/" + std::to_string(ids[1]));
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(one.j()["form"], "tune");
    EXPECT_EQ(one.j()["request"]["seed"], 2);
    ASSERT_TRUE(one.j()["files"].contains("abc")) << one.body;
    const std::string url = one.j()["files"]["abc"].get<std::string>();
    const Http abc = curl(s.base() + url, {});
    ASSERT_EQ(abc.status, 200) << url;
    auto trimmed = [](std::string t) {
        while (!t.empty() && t.back() == '\n') t.pop_back();
        return t;
    };
    EXPECT_EQ(trimmed(abc.body), trimmed(one.j()["text"].get<std::string>()))
        << "the ABC file is the work";

    EXPECT_EQ(get(s, "/v1/gallery?form=paint").j()["total"], 0);
    expect_error(get(s, "/v1/gallery/999999"), 404);
    expect_error(get(s, "/v1/gallery?limit=0"), 400);
    expect_error(get(s, "/v1/gallery?limit=ten"), 400);
    expect_error(get(s, "/v1/gallery?form=sculpture"), 400);
}

TEST(Serve, GalleryIsA404WhenRecordingIsOff) {
    ServeProcess s({});
    ASSERT_TRUE(s.ok());
    const Http h = get(s, "/v1/gallery");
    expect_error(h, 404);
    EXPECT_NE(h.body.find("recording is off"), std::string::npos) << h.body;
}

TEST(Serve, PlaySessionsCreateTurnSaveLoad) {
    ServeProcess s({});
    ASSERT_TRUE(s.ok());
    Http h = post(s, "/v1/art/play/create", R"({"seed":3,"narration_tokens":40})");
    ASSERT_EQ(h.status, 200) << h.body;
    const std::string id = h.j()["session"];
    EXPECT_FALSE(h.j()["intro"].get<std::string>().empty()) << h.body;
    const std::string turn = R"({"session":")" + id + R"(","input":")";
    h = post(s, "/v1/art/play/turn", turn + R"(look"})");
    ASSERT_EQ(h.status, 200) << h.body;
    EXPECT_EQ(h.j()["kind"], "command") << h.body;
    const Http played = post(s, "/v1/art/play/turn", turn + R"(go north"})");
    ASSERT_EQ(played.status, 200) << played.body;
    const std::string kind = played.j()["kind"];
    EXPECT_TRUE(kind == "narrated" || kind == "refused") << played.body;
    // The turn tree as the session keys show it: one line until a branch is taken.
    EXPECT_EQ(played.j()["branches"], 1) << played.body;
    EXPECT_TRUE(played.j()["branch"].is_number_integer()) << played.body;
    EXPECT_FALSE(played.j().contains("draft")) << "no premise, no draft: " << played.body;
    h = post(s, "/v1/art/play/turn", turn + R"(branches"})");
    ASSERT_EQ(h.status, 200) << h.body;
    EXPECT_EQ(h.j()["kind"], "command") << h.body;
    h = post(s, "/v1/art/play/save", R"({"session":")" + id + R"("})");
    ASSERT_EQ(h.status, 200) << h.body;
    const json save = h.j()["save"];
    ASSERT_TRUE(save.is_object()) << h.body;
    h = post(s, "/v1/art/play/load", json{{"save", save}, {"narration_tokens", 40}}.dump());
    ASSERT_EQ(h.status, 200) << h.body;
    EXPECT_NE(h.j()["session"], id);
    EXPECT_EQ(h.j()["status"], played.j()["status"]) << "the loaded game is where the saved one was";
    expect_error(post(s, "/v1/art/play/turn", R"({"session":"nope","input":"look"})"), 404,
                 "session");
    expect_error(post(s, "/v1/art/play/create", R"({"sneed":1})"), 400, "sneed");
    expect_error(post(s, "/v1/art/play/fly", "{}"), 404);
}

// Reads from a socket until `pred(buffer)` or EOF/timeout.
template <typename Pred>
bool read_until(int fd, std::string& buf, Pred pred, std::chrono::seconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!pred(buf)) {
        if (std::chrono::steady_clock::now() > until) return false;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        char tmp[4096];
        const ssize_t n = read(fd, tmp, sizeof tmp);
        if (n <= 0) return pred(buf);
        buf.append(tmp, static_cast<size_t>(n));
    }
    return true;
}

int open_stream(const ServeProcess& s, const std::string& body) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(s.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ADD_FAILURE() << "connect failed";
        close(fd);
        return -1;
    }
    const std::string req = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Content-Type: application/json\r\nConnection: close\r\n"
                            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    EXPECT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
    return fd;
}

TEST(Serve, SigtermDuringAStreamCancelsAtTheDeadlineAndExitsZero) {
    // Deadline 0: running requests are cancelled at once. (A 1 s deadline made the test depend
    // on speed: on a quiet machine the small random model wrote all 2000 tokens within it.)
    ServeProcess s({"--shutdown-deadline", "0", "--max-tokens", "2000"});
    ASSERT_TRUE(s.ok());
    // The random model with a long context: 2000 tokens cannot be written in the instant between
    // the first chunk and the signal.
    const int fd = open_stream(s, R"({"model":"random-llama","prompt":"A","max_tokens":2000,)"
                                  R"("stream":true,"temperature":0})");
    ASSERT_GE(fd, 0);
    std::string buf;
    ASSERT_TRUE(read_until(fd, buf, [](const std::string& b) { return b.find("data: {") !=
                                                                      std::string::npos; },
                           std::chrono::seconds(20)))
        << buf;
    const auto t0 = std::chrono::steady_clock::now();
    kill(s.pid(), SIGTERM);
    // New connections are refused once it stops accepting.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const Http late = curl(s.base() + "/v1/models", {"--max-time", "3"}, true);
    EXPECT_NE(late.status, 200);
    // The running stream ends properly: a finish chunk and [DONE].
    EXPECT_TRUE(read_until(fd, buf, [](const std::string& b) {
        return b.find("data: [DONE]") != std::string::npos;
    }, std::chrono::seconds(20))) << buf.substr(buf.size() > 2000 ? buf.size() - 2000 : 0);
    close(fd);
    EXPECT_NE(buf.find("\"finish_reason\":\"cancelled\""), std::string::npos)
        << "the 2000-token stream should have been cancelled at the 0 s deadline";
    const int code = s.stop(0, std::chrono::seconds(15));
    EXPECT_EQ(code, 0) << s.stderr_text();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST(Serve, SigtermLetsAShortStreamFinish) {
    ServeProcess s({"--shutdown-deadline", "20"});
    ASSERT_TRUE(s.ok());
    const int fd = open_stream(s, R"({"model":"random-llama","prompt":"A","max_tokens":300,)"
                                  R"("stream":true,"temperature":0})");
    ASSERT_GE(fd, 0);
    std::string buf;
    ASSERT_TRUE(read_until(fd, buf, [](const std::string& b) { return b.find("data: {") !=
                                                                      std::string::npos; },
                           std::chrono::seconds(20)));
    kill(s.pid(), SIGTERM);
    EXPECT_TRUE(read_until(fd, buf, [](const std::string& b) {
        return b.find("data: [DONE]") != std::string::npos;
    }, std::chrono::seconds(20)));
    close(fd);
    EXPECT_NE(buf.find("\"finish_reason\":\"length\""), std::string::npos) << buf;
    EXPECT_EQ(s.stop(0, std::chrono::seconds(20)), 0) << s.stderr_text();
}

}  // namespace
}  // namespace lyra::e2e
