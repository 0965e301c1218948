// server/api.h: OpenAI request parsing (defaults, limits, errors naming the param), the error
// object, SSE framing and the /files path guard.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "server/api.h"

namespace lyra::server {
namespace {

using nlohmann::json;

// The ApiError a parse throws (or a failure when it throws none).
ApiError parse_error(const json& body, bool chat = false, Limits limits = {}) {
    try {
        if (chat) {
            parse_chat_request(body, limits, 0);
        } else {
            parse_completion_request(body, limits, 0);
        }
    } catch (const ApiError& e) {
        return e;
    }
    ADD_FAILURE() << "accepted: " << body.dump();
    return ApiError(0, "", "");
}

TEST(ServerApi, CompletionDefaultsFollowOpenAI) {
    const auto r = parse_completion_request(json{{"prompt", "Hi"}}, {}, 42);
    EXPECT_EQ(r.prompts, std::vector<std::string>{"Hi"});
    EXPECT_EQ(r.opt.max_tokens, 16);
    EXPECT_EQ(r.opt.temperature, 1.0f);
    EXPECT_EQ(r.opt.top_p, 1.0f);
    EXPECT_EQ(r.opt.top_k, 0);
    EXPECT_EQ(r.opt.min_p, 0.0f);
    EXPECT_EQ(r.opt.seed, 42u);
    EXPECT_EQ(r.n, 1);
    EXPECT_FALSE(r.stream);
    EXPECT_FALSE(r.logprobs.has_value());
    EXPECT_EQ(r.model, "");
}

TEST(ServerApi, CompletionReadsEveryKey) {
    const json body = {{"model", "m"},      {"prompt", {"a", "b"}}, {"max_tokens", 7},
                       {"temperature", 0},  {"top_p", 0.5},         {"n", 3},
                       {"stop", {"x", "y"}}, {"stream", true},      {"seed", 9},
                       {"logprobs", 2},     {"echo", true},         {"user", "u"},
                       {"best_of", 3},      {"presence_penalty", 0.5}};
    const auto r = parse_completion_request(body, {}, 0);
    EXPECT_EQ(r.model, "m");
    EXPECT_EQ(r.prompts.size(), 2u);
    EXPECT_EQ(r.opt.max_tokens, 7);
    EXPECT_EQ(r.opt.temperature, 0.0f);
    EXPECT_EQ(r.opt.top_p, 0.5f);
    EXPECT_EQ(r.n, 3);
    EXPECT_EQ(r.opt.stop, (std::vector<std::string>{"x", "y"}));
    EXPECT_TRUE(r.stream);
    EXPECT_EQ(r.opt.seed, 9u);
    EXPECT_EQ(r.logprobs, 2);
    EXPECT_EQ(r.opt.top_logprobs, 2);
    EXPECT_TRUE(r.echo);
    EXPECT_EQ(r.opt.presence_penalty, 0.5f);
    // null means unset, as the OpenAI clients send it
    const auto n = parse_completion_request(json{{"prompt", "p"}, {"stop", nullptr},
                                                 {"max_tokens", nullptr}},
                                            {}, 0);
    EXPECT_TRUE(n.opt.stop.empty());
    EXPECT_EQ(n.opt.max_tokens, 16);
}

TEST(ServerApi, LimitsAndBadValuesName400Params) {
    Limits lim;
    lim.max_tokens = 50;
    lim.max_n = 2;
    lim.max_prompt_bytes = 10;
    auto e = parse_error({{"prompt", "p"}, {"max_tokens", 51}}, false, lim);
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.param(), "max_tokens");
    EXPECT_NE(std::string(e.what()).find("expected 1 to 50"), std::string::npos) << e.what();
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"n", 3}}, false, lim).param(), "n");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"n", 0}}, false, lim).param(), "n");
    e = parse_error({{"prompt", std::string(11, 'a')}}, false, lim);
    EXPECT_EQ(e.param(), "prompt");
    EXPECT_EQ(e.code(), "context_length_exceeded");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"temperature", "hot"}}).param(), "temperature");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"temperature", 3}}).param(), "temperature");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"top_p", -0.1}}).param(), "top_p");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"stop", {"1", "2", "3", "4", "5"}}}).param(), "stop");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"stop", 3}}).param(), "stop");
    EXPECT_EQ(parse_error({{"prompt", {1, "a"}}}).param(), "prompt");
    EXPECT_EQ(parse_error({{"prompt", {json::array({1}), "a"}}}).param(), "prompt");
    EXPECT_EQ(parse_error({{"prompt", {-1}}}).param(), "prompt");
    EXPECT_EQ(parse_error({{"prompt", {json::array()}}}).param(), "prompt");
    EXPECT_EQ(parse_error({{"prompt", json::array()}}).param(), "prompt");
    EXPECT_EQ(parse_error(json{{"max_tokens", 3}}).param(), "prompt");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"frobnicate", 1}}).param(), "frobnicate");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"logit_bias", {{"x1", 5}}}}).param(), "logit_bias");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"logit_bias", {{"1", 100.5}}}}).param(), "logit_bias");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"logit_bias", {{"1", "a"}}}}).param(), "logit_bias");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"logit_bias", {1, 2}}}).param(), "logit_bias");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"n", 2}, {"best_of", 1}}).param(), "best_of");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"best_of", 21}}).param(), "best_of");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"best_of", 2}, {"stream", true}}).param(), "best_of");
    EXPECT_EQ(parse_error({{"prompt", {"a", "b"}}, {"best_of", 17}}).param(), "best_of");  // 34 > 32
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"max_tokens", 0}}).param(), "max_tokens");
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"max_tokens", 0}, {"echo", true}, {"stream", true}}).param(),
              "max_tokens");
    EXPECT_EQ(parse_error({{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"max_tokens", 0}}, true)
                  .param(),
              "max_tokens");
    EXPECT_EQ(parse_error(json::array()).status(), 400);
    EXPECT_EQ(parse_error({{"prompt", "p"}, {"stream", "yes"}}).param(), "stream");
}

// OpenAI's prompt shapes beyond text, logit_bias, best_of, and max_tokens 0 with echo (scoring).
TEST(ServerApi, TokenPromptsLogitBiasBestOfAndScoring) {
    auto r = parse_completion_request(json{{"prompt", {5, 0, 7}}}, {}, 0);
    EXPECT_TRUE(r.prompts.empty());
    ASSERT_EQ(r.token_prompts.size(), 1u);
    EXPECT_EQ(r.token_prompts[0], (std::vector<gen::TokenId>{5, 0, 7}));
    r = parse_completion_request(json{{"prompt", {json::array({1, 2}), json::array({3})}}}, {}, 0);
    EXPECT_EQ(r.token_prompts, (std::vector<std::vector<gen::TokenId>>{{1, 2}, {3}}));
    Limits lim;
    lim.max_prompt_tokens = 3;
    EXPECT_EQ(parse_error({{"prompt", {1, 2, 3, 4}}}, false, lim).code(), "context_length_exceeded");

    r = parse_completion_request(json{{"prompt", "p"}, {"logit_bias", {{"7", -100}, {"12", 2.5}}}}, {}, 0);
    ASSERT_EQ(r.opt.logit_bias.size(), 2u);
    std::map<gen::TokenId, float> bias;
    for (const auto& b : r.opt.logit_bias) bias[b.id] = b.bias;
    EXPECT_EQ(bias, (std::map<gen::TokenId, float>{{7, -100.0f}, {12, 2.5f}}));
    EXPECT_TRUE(parse_completion_request(json{{"prompt", "p"}, {"logit_bias", json::object()}}, {}, 0)
                    .opt.logit_bias.empty());
    EXPECT_EQ(parse_chat_request(json{{"messages", {{{"role", "user"}, {"content", "x"}}}},
                                      {"logit_bias", {{"3", 1}}}},
                                 {}, 0)
                  .opt.logit_bias.size(),
              1u);

    EXPECT_EQ(parse_completion_request(json{{"prompt", "p"}, {"n", 2}}, {}, 0).best_of, 2);
    r = parse_completion_request(json{{"prompt", "p"}, {"n", 2}, {"best_of", 5}}, {}, 0);
    EXPECT_EQ(r.n, 2);
    EXPECT_EQ(r.best_of, 5);
    EXPECT_EQ(parse_chat_request(json{{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"n", 3}}, {}, 0)
                  .best_of,
              3);

    r = parse_completion_request(json{{"prompt", "p"}, {"max_tokens", 0}, {"echo", true}, {"logprobs", 1}}, {}, 0);
    EXPECT_TRUE(r.score_only);
    EXPECT_TRUE(r.echo);
    EXPECT_FALSE(parse_completion_request(json{{"prompt", "p"}, {"echo", true}}, {}, 0).score_only);
}

// response_format is compiled at parse time: text is no grammar, json_object and json_schema a
// grammar, anything Lyra cannot follow a 400 naming response_format.
TEST(ServerApi, ResponseFormatCompilesToAGrammarOrNames400) {
    const json chat = {{"messages", {{{"role", "user"}, {"content", "x"}}}}};
    const auto with = [&](const json& format) {
        json body = chat;
        body["response_format"] = format;
        return body;
    };
    EXPECT_EQ(parse_chat_request(chat, {}, 0).grammar, nullptr);
    EXPECT_EQ(parse_chat_request(with({{"type", "text"}}), {}, 0).grammar, nullptr);
    EXPECT_NE(parse_chat_request(with({{"type", "json_object"}}), {}, 0).grammar, nullptr);
    const json schema = {{"type", "object"}, {"properties", {{"n", {{"type", "integer"}}}}}};
    EXPECT_NE(parse_chat_request(with({{"type", "json_schema"}, {"json_schema", {{"name", "s"}, {"schema", schema}}}}), {}, 0)
                  .grammar,
              nullptr);
    EXPECT_NE(parse_completion_request(json{{"prompt", "p"}, {"response_format", {{"type", "json_object"}}}}, {}, 0).grammar,
              nullptr);
    for (const json& bad : {json("json"), json{{"type", "yaml"}}, json{{"type", "json_schema"}},
                            json{{"type", "json_schema"}, {"json_schema", {{"schema", "not an object"}}}},
                            json{{"type", "json_schema"}, {"json_schema", {{"schema", {{"type", "frobnicate"}}}}}}}) {
        const ApiError e = parse_error(with(bad), true);
        EXPECT_EQ(e.status(), 400) << bad.dump();
        EXPECT_EQ(e.param(), "response_format") << bad.dump();
    }
}

// tools: "required" or a named function compiles a call grammar; none/auto change nothing; the
// history's tool calls and results reach the template as assistant JSON and a user turn.
TEST(ServerApi, ToolsForceACallByGrammarAndHistoryIsRendered) {
    const json f = {{"type", "function"},
                    {"function", {{"name", "get_weather"}, {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}};
    const json g = {{"type", "function"}, {"function", {{"name", "get_time"}}}};
    json body = {{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"tools", {f, g}}};
    auto r = parse_chat_request(body, {}, 0);  // tool_choice auto: free text
    EXPECT_FALSE(r.tool_call);
    EXPECT_EQ(r.grammar, nullptr);
    for (const json& choice : {json("required"), json{{"type", "function"}, {"function", {{"name", "get_time"}}}}}) {
        body["tool_choice"] = choice;
        r = parse_chat_request(body, {}, 0);
        EXPECT_TRUE(r.tool_call) << choice.dump();
        EXPECT_NE(r.grammar, nullptr) << choice.dump();
    }
    body["tool_choice"] = "none";
    EXPECT_FALSE(parse_chat_request(body, {}, 0).tool_call);
    const auto error_with = [&](const char* key, const json& value) {
        json b = body;
        b[key] = value;
        return parse_error(b, true);
    };
    EXPECT_EQ(error_with("tool_choice", {{"type", "function"}, {"function", {{"name", "nope"}}}}).param(), "tool_choice");
    EXPECT_EQ(error_with("tool_choice", "sometimes").param(), "tool_choice");
    EXPECT_EQ(error_with("tools", {f, f}).param(), "tools");
    EXPECT_EQ(error_with("tools", {{{"type", "function"}, {"function", {{"name", "bad name!"}}}}}).param(), "tools");
    EXPECT_EQ(error_with("tools", {{{"type", "retrieval"}}}).param(), "tools");
    json both = body;
    both["tool_choice"] = "required";
    both["response_format"] = {{"type", "json_object"}};
    EXPECT_EQ(parse_error(both, true).param(), "tool_choice");
    json none = {{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"tool_choice", "required"}};
    EXPECT_EQ(parse_error(none, true).param(), "tool_choice");

    const json history = {{"messages",
                           {{{"role", "user"}, {"content", "Weather?"}},
                            {{"role", "assistant"},
                             {"content", nullptr},
                             {"tool_calls",
                              {{{"id", "call_1"},
                                {"type", "function"},
                                {"function", {{"name", "get_weather"}, {"arguments", R"({"city":"Oslo"})"}}}}}}},
                            {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "3 C"}}}}};
    r = parse_chat_request(history, {}, 0);
    ASSERT_EQ(r.messages.size(), 3u);
    EXPECT_EQ(r.messages[1].role, "assistant");
    EXPECT_EQ(r.messages[1].content, R"({"arguments":{"city":"Oslo"},"name":"get_weather"})");
    EXPECT_EQ(r.messages[2].role, "user");
    EXPECT_EQ(r.messages[2].content, "Tool result (call_1): 3 C");

    // The older functions / function_call: the same tools, answered as function_call.
    json legacy = {{"messages", {{{"role", "user"}, {"content", "x"}}}},
                   {"functions", {f["function"], g["function"]}},
                   {"function_call", {{"name", "get_weather"}}}};
    r = parse_chat_request(legacy, {}, 0);
    EXPECT_TRUE(r.tool_call);
    EXPECT_TRUE(r.legacy_functions);
    legacy["function_call"] = "auto";
    EXPECT_FALSE(parse_chat_request(legacy, {}, 0).tool_call);
    legacy["function_call"] = {{"name", "nope"}};
    EXPECT_EQ(parse_error(legacy, true).param(), "tool_choice");
    legacy["tools"] = {f};
    EXPECT_EQ(parse_error(legacy, true).param(), "functions");
    const json old_history = {{"messages",
                               {{{"role", "user"}, {"content", "Weather?"}},
                                {{"role", "assistant"},
                                 {"content", nullptr},
                                 {"function_call", {{"name", "get_weather"}, {"arguments", R"({"city":"Oslo"})"}}}},
                                {{"role", "function"}, {"name", "get_weather"}, {"content", "3 C"}}}}};
    r = parse_chat_request(old_history, {}, 0);
    ASSERT_EQ(r.messages.size(), 3u);
    EXPECT_EQ(r.messages[1].content, R"({"arguments":{"city":"Oslo"},"name":"get_weather"})");
    EXPECT_EQ(r.messages[2].content, "Tool result (get_weather): 3 C");
}

TEST(ServerApi, EmbeddingRequestsAndBase64) {
    auto r = parse_embedding_request(json{{"model", "m"}, {"input", "hi"}}, {});
    EXPECT_EQ(r.model, "m");
    EXPECT_EQ(r.texts, std::vector<std::string>{"hi"});
    EXPECT_FALSE(r.base64);
    r = parse_embedding_request(json{{"input", {json::array({2, 5}), json::array({3})}}, {"encoding_format", "base64"}}, {});
    EXPECT_EQ(r.tokens, (std::vector<std::vector<gen::TokenId>>{{2, 5}, {3}}));
    EXPECT_TRUE(r.base64);
    const auto error_of = [](const json& body) -> ApiError {
        try {
            parse_embedding_request(body, {});
        } catch (const ApiError& e) {
            return e;
        }
        ADD_FAILURE() << "accepted: " << body.dump();
        return ApiError(0, "", "");
    };
    EXPECT_EQ(error_of(json{{"model", "m"}}).param(), "input");
    EXPECT_EQ(error_of(json{{"input", ""}}).param(), "input");
    EXPECT_EQ(error_of(json{{"input", {1, "a"}}}).param(), "input");
    EXPECT_NE(std::string(error_of(json{{"input", {1, "a"}}}).what()).rfind("input:", 0), std::string::npos);
    EXPECT_EQ(error_of(json{{"input", "x"}, {"encoding_format", "hex"}}).param(), "encoding_format");
    EXPECT_EQ(error_of(json{{"input", "x"}, {"dimensions", 4}}).param(), "dimensions");
    EXPECT_EQ(error_of(json{{"input", "x"}, {"frobnicate", 1}}).param(), "frobnicate");
    // RFC 4648's test vectors.
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
    EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64_encode(std::string("\xff\x00\x80", 3)), "/wCA");
}

// Nesting is counted before a body is parsed (brackets in strings do not count), and error
// messages name a nested value by its kind instead of printing it.
TEST(ServerApi, JsonDepthAndBriefMessages) {
    EXPECT_EQ(json_depth(""), 0);
    EXPECT_EQ(json_depth(R"({"a": 1})"), 1);
    EXPECT_EQ(json_depth(R"({"a": [1, {"b": []}]})"), 4);
    EXPECT_EQ(json_depth(R"({"a": "[[[[{{{{"})"), 1);
    EXPECT_EQ(json_depth(R"({"a": "\"[[", "b": [[]]})"), 3);  // an escaped quote does not end the string
    EXPECT_EQ(json_depth(std::string(100000, '[') + std::string(100000, ']')), 100000);
    json nested = json::array();
    for (int i = 0; i < 50; ++i) nested = json::array({nested});
    const ApiError e = parse_error({{"prompt", {1, nested}}});
    EXPECT_EQ(e.param(), "prompt");
    EXPECT_NE(std::string(e.what()).find("got an array"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("[["), std::string::npos) << e.what();
    const ApiError long_string = parse_error({{"prompt", "p"}, {"logit_bias", {{"1", std::string(500, 'x')}}}});
    EXPECT_LT(std::string(long_string.what()).size(), 200u) << long_string.what();
}

TEST(ServerApi, ChatMessages) {
    const json body = {{"model", "m"},
                       {"messages",
                        {{{"role", "system"}, {"content", "Be brief."}},
                         {{"role", "user"},
                          {"content", {{{"type", "text"}, {"text", "Hi "}},
                                       {{"type", "text"}, {"text", "there"}}}}}}},
                       {"logprobs", true}};
    const auto r = parse_chat_request(body, {}, 1);
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_EQ(r.messages[0].role, "system");
    EXPECT_EQ(r.messages[1].content, "Hi there");
    EXPECT_EQ(r.logprobs, 0);
    EXPECT_EQ(r.opt.top_logprobs, 0);
    EXPECT_EQ(r.opt.max_tokens, 256);
    json with_top = body;
    with_top["top_logprobs"] = 4;
    EXPECT_EQ(parse_chat_request(with_top, {}, 1).opt.top_logprobs, 4);
    with_top["top_logprobs"] = 21;
    EXPECT_EQ(parse_error(with_top, true).param(), "top_logprobs");
    with_top["top_logprobs"] = 2;
    with_top["logprobs"] = false;  // alternatives need logprobs on
    EXPECT_EQ(parse_error(with_top, true).param(), "top_logprobs");
    EXPECT_EQ(parse_error({{"messages", json::array()}}, true).param(), "messages");
    EXPECT_EQ(parse_error({{"messages", {{{"role", "wizard"}, {"content", "x"}}}}}, true).param(),
              "messages[0].role");
    EXPECT_EQ(parse_error({{"messages", {{{"role", "user"}}}}}, true).param(),
              "messages[0].content");
    EXPECT_EQ(parse_error({{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"prompt", "p"}},
                          true)
                  .param(),
              "prompt");
}

TEST(ServerApi, ErrorJsonHasOpenAIShape) {
    const ApiError e(404, "invalid_request_error", "model: unknown", "model", "model_not_found");
    const json j = error_json(e);
    EXPECT_EQ(j["error"]["message"], "model: unknown");
    EXPECT_EQ(j["error"]["type"], "invalid_request_error");
    EXPECT_EQ(j["error"]["param"], "model");
    EXPECT_EQ(j["error"]["code"], "model_not_found");
    const json k = error_json(ApiError(500, "server_error", "x"));
    EXPECT_TRUE(k["error"]["param"].is_null());
    EXPECT_TRUE(k["error"]["code"].is_null());

    EXPECT_EQ(to_api_error(Error(ErrorKind::InvalidArgument, "a")).status(), 400);
    EXPECT_EQ(to_api_error(Error(ErrorKind::NotFound, "a")).status(), 404);
    EXPECT_EQ(to_api_error(Error(ErrorKind::Unsupported, "a")).status(), 501);
    EXPECT_EQ(to_api_error(Error(ErrorKind::Io, "a")).status(), 500);
    EXPECT_EQ(to_api_error(Error(ErrorKind::ContextFull, "a")).code(), "context_length_exceeded");
}

TEST(ServerApi, SseFraming) {
    EXPECT_EQ(sse_data(json{{"a", 1}}), "data: {\"a\":1}\n\n");
    EXPECT_EQ(kSseDone, "data: [DONE]\n\n");
    // invalid UTF-8 from a model never breaks the stream
    const std::string s = sse_data(json{{"t", std::string("\xff")}});
    EXPECT_EQ(s.rfind("data: ", 0), 0u);
    EXPECT_TRUE(json::accept(s.substr(6, s.size() - 8)));
    EXPECT_STREQ(openai_finish_reason(gen::FinishReason::Eos), "stop");
    EXPECT_STREQ(openai_finish_reason(gen::FinishReason::Length), "length");
}

TEST(ServerApi, SafeJoinRefusesTraversal) {
    namespace fs = std::filesystem;
    const fs::path root = fs::temp_directory_path() / "lyra-api-test-root";
    fs::remove_all(root);
    fs::create_directories(root / "poem");
    std::ofstream(root / "poem" / "a.txt") << "x";
    fs::create_directories(root.parent_path() / "lyra-api-test-rootx");
    EXPECT_EQ(safe_join(root, "poem/a.txt"), fs::weakly_canonical(root / "poem" / "a.txt"));
    for (const char* bad : {"../etc/passwd", "poem/../../x", "/etc/passwd", "..", "poem/./a.txt",
                            "", "a\\..\\b", "../lyra-api-test-rootx/y"}) {
        EXPECT_FALSE(safe_join(root, bad).has_value()) << bad;
    }
    EXPECT_FALSE(safe_join(root, std::string("poem/a\0.txt", 11)).has_value());
    // a symlink that leaves the root is refused too
    fs::create_symlink("/etc", root / "out");
    EXPECT_FALSE(safe_join(root, "out/passwd").has_value());
    fs::remove_all(root);
    fs::remove_all(root.parent_path() / "lyra-api-test-rootx");
}

TEST(ServerApi, ModelNames) {
    EXPECT_EQ(model_name("/x/models/tiny-shakespeare-char.gguf"), "tiny-shakespeare-char");
    EXPECT_TRUE(is_plain_name("tiny-shakespeare-char"));
    EXPECT_TRUE(is_plain_name("qwen2.5_0.5b"));
    EXPECT_FALSE(is_plain_name("../x"));
    EXPECT_FALSE(is_plain_name("a/b"));
    EXPECT_FALSE(is_plain_name(".."));
    EXPECT_FALSE(is_plain_name(""));
    EXPECT_EQ(mime_type("x.svg"), "image/svg+xml");
    EXPECT_EQ(mime_type("x.WAV"), "audio/wav");
    EXPECT_EQ(mime_type("x.bin"), "application/octet-stream");
}

}  // namespace
}  // namespace lyra::server
