// `--prompt-format` for `lyra story` and `lyra play` (art/common/prompt_format.h) with a
// random-weight llama that carries a ChatML chat template (written by `lyra model init
// --chat-template`): auto takes the template and every stage's prompt (story prompts.json, play
// --show-prompts) is its ChatML rendering; plain keeps the plain prompts; a scripted game in
// chat format still writes 100% valid state updates; a gallery rerun reproduces the chat story;
// chat on a model without a template, and an unknown value, fail with one error line; the same
// key through the server's /v1/art/story and /v1/art/play sessions.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "serve_process.h"

namespace lyra::e2e {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kChatML =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}\n";
const std::string kPremise = "A lighthouse keeper and a thief.";

// A random llama over bytes with the ChatML template, made once per test program.
const std::string& chatml_model() {
    static TempDir dir;
    static const std::string path = [] {
        const std::string tmpl = (dir.path() / "chatml.jinja").string();
        std::ofstream(tmpl) << kChatML;
        const std::string p = (dir.path() / "chatml.gguf").string();
        const std::vector<std::string> args = {"model", "init", "--arch", "llama", "--tokenizer", "bytes",
                                               "--dim", "64", "--layers", "2", "--heads", "2", "--ctx", "1024",
                                               "--chat-template", tmpl, "-o", p};
        const RunResult r = run_lyra(args);
        EXPECT_EQ(r.code, 0) << r.err << "\nrepro: " << repro(args);
        return p;
    }();
    return path;
}

const std::string& plain_model() {  // the same shapes, no template
    static const std::string path = random_llama(64, 2, 2, 1024, "bytes");
    return path;
}

// ChatML's rendering of a system and a user message with the assistant turn opened.
// A ChatML prompt: the system message, maybe earlier user/assistant exchanges, then the user
// message (returned in `user`) and the opened assistant turn.
bool is_chatml(const std::string& p, std::string* user = nullptr) {
    const std::string sys = "<|im_start|>system\n", mid = "<|im_end|>\n<|im_start|>user\n",
                      end = "<|im_end|>\n<|im_start|>assistant\n";
    const size_t m = p.rfind(mid), e = m == std::string::npos ? m : p.find(end, m);
    if (p.rfind(sys, 0) != 0 || m == std::string::npos || e == std::string::npos || e < m) return false;
    if (user != nullptr) *user = p.substr(m + mid.size(), e - m - mid.size());
    return p.find("<|im_start|>", e + end.size()) == std::string::npos;  // nothing after but the reply start
}

std::vector<std::string> story_args(const std::string& model, const std::string& out) {
    return {"story", "-m", model, "--threads", "1", "--form", "short", "--acts", "1", "--length", "60",
            "--premise", kPremise, "--seed", "5", "-o", out, "--json"};
}

TEST(PromptFormat, StoryAutoRendersEveryStageThroughTheChatTemplate) {
    TempDir dir;
    const std::string out = (dir.path() / "s").string();
    const RunResult r = run_lyra(story_args(chatml_model(), out));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["files"].count("prompts"), 1u) << r.out;
    const json pj = json::parse(read_all(out + "/prompts.json"));
    EXPECT_EQ(pj["prompt_format"], "chat");
    EXPECT_EQ(pj["chat_family"], "chatml");
    std::set<std::string> stages;
    for (const json& s : pj["prompts"]) {
        const std::string stage = s["stage"], prompt = s["prompt"];
        stages.insert(stage.substr(0, stage.find(':')));
        std::string user;
        EXPECT_TRUE(is_chatml(prompt, &user)) << stage << ":\n" << prompt;
    }
    EXPECT_EQ(stages, (std::set<std::string>{"setting", "place", "name", "title", "plan", "summary", "prose"}));
    // the first stage, whole: system (role, rules), user (the plain prompt's context + the request)
    const std::string first = pj["prompts"][0]["prompt"];
    std::string user;
    ASSERT_TRUE(is_chatml(first, &user));
    EXPECT_EQ(user.rfind("A literary story. Premise: " + kPremise + "\nName the place where the story is set", 0), 0u) << user;
    EXPECT_TRUE(first.ends_with("<|im_start|>assistant\n")) << first;
    EXPECT_NE(first.find("You plan a literary story"), std::string::npos) << first;
    // the summary's reply starts with the plain cue's words, and the model continues it
    for (const json& s : pj["prompts"]) {
        if (s["stage"].get<std::string>().rfind("summary:", 0) == 0) {
            EXPECT_TRUE(s["prompt"].get<std::string>().ends_with("<|im_start|>assistant\nIn this scene, "));
        }
    }
    // the outline is whole and the bible's names are used, as in plain format
    const json outline = json::parse(read_all(out + "/outline.json"));
    EXPECT_EQ(outline["acts"].size(), 1u);
    EXPECT_FALSE(read_all(out + "/story.md").empty());
}

TEST(PromptFormat, StoryPlainKeepsThePlainPrompts) {
    TempDir dir;
    const std::string out = (dir.path() / "s").string();
    std::vector<std::string> args = story_args(chatml_model(), out);
    args.insert(args.end(), {"--prompt-format", "plain"});
    const RunResult r = run_lyra(args);
    ASSERT_EQ(r.code, 0) << r.err;
    const json pj = json::parse(read_all(out + "/prompts.json"));
    EXPECT_EQ(pj["prompt_format"], "plain");
    EXPECT_EQ(pj["chat_family"], "");
    const std::string intro = "A literary story. Premise: " + kPremise + "\n";
    EXPECT_EQ(pj["prompts"][0]["stage"], "setting");
    EXPECT_EQ(pj["prompts"][0]["prompt"], intro + "Setting: ");
    for (const json& s : pj["prompts"]) {
        const std::string stage = s["stage"], prompt = s["prompt"];
        EXPECT_EQ(prompt.find("<|im_"), std::string::npos) << stage;
        if (stage == "name:protagonist") {
            EXPECT_EQ(prompt, intro + "The protagonist is named ");
        }
        if (stage == "title:scene-1") {
            EXPECT_TRUE(prompt.ends_with(".\nAct I, scene 1. Title: ")) << prompt;
        }
    }
    // a model without a template gets plain from auto, the same prompts for the same seed
    const std::string out2 = (dir.path() / "s2").string();
    const RunResult r2 = run_lyra(story_args(plain_model(), out2));
    ASSERT_EQ(r2.code, 0) << r2.err;
    const json pj2 = json::parse(read_all(out2 + "/prompts.json"));
    EXPECT_EQ(pj2["prompt_format"], "plain");
    EXPECT_EQ(pj2["prompts"][0], pj["prompts"][0]);
}

TEST(PromptFormat, GalleryRerunReproducesAChatStory) {
    TempDir dir;
    const std::string gallery = (dir.path() / "gallery.sqlite").string();
    setenv("LYRA_GALLERY", gallery.c_str(), 1);
    const RunResult r = run_lyra(story_args(chatml_model(), (dir.path() / "s").string()));
    ASSERT_EQ(r.code, 0) << r.err;
    const json works = json::parse(run_lyra({"gallery", "list", "--form", "story", "--json"}).out)["works"];
    ASSERT_EQ(works.size(), 1u);
    const std::string id = std::to_string(works[0]["id"].get<int64_t>());
    const RunResult show = run_lyra({"gallery", "show", id, "--json"});
    ASSERT_EQ(show.code, 0) << show.err;
    EXPECT_EQ(json::parse(show.out)["request"]["prompt_format"], "chat") << show.out;
    const RunResult rerun = run_lyra({"gallery", "show", id, "--rerun", "--json", "--threads", "1"});
    setenv("LYRA_GALLERY", "off", 1);
    ASSERT_EQ(rerun.code, 0) << rerun.err;
    EXPECT_TRUE(json::parse(rerun.out)["identical"].get<bool>()) << rerun.err;
}

TEST(PromptFormat, ChatWithoutTemplateAndUnknownValuesFailWithOneLine) {
    TempDir dir;
    const std::string out = (dir.path() / "s").string();
    std::vector<std::string> args = story_args(plain_model(), out);
    args.insert(args.end(), {"--prompt-format", "chat"});
    RunResult r = run_lyra(args);
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("no chat template"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(plain_model()), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out));

    args = story_args(chatml_model(), out);
    args.insert(args.end(), {"--prompt-format", "xml"});
    r = run_lyra(args);
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("prompt_format: unknown value 'xml'; expected one of auto, plain, chat"), std::string::npos) << r.err;

    const std::string moves = (dir.path() / "moves.txt").string();
    std::ofstream(moves) << "look\n";
    for (const auto& [model, format, want] : {std::tuple{plain_model(), "chat", "no chat template"},
                                              std::tuple{chatml_model(), "xml", "unknown value 'xml'"}}) {
        r = run_program(lyra_bin(), {"play", "-m", model, "--threads", "1", "--json", "--prompt-format", format,
                                     "--saves", (dir.path() / "saves.db").string()}, {}, moves);
        EXPECT_EQ(r.code, 1) << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
}

std::vector<json> play(const std::vector<std::string>& extra, const std::vector<std::string>& moves,
                       const TempDir& dir, RunResult* run) {
    const std::string in = (dir.path() / "moves.txt").string();
    std::ofstream f(in);
    for (const std::string& m : moves) f << m << "\n";
    f.close();
    std::vector<std::string> args = {"play", "--threads", "1", "--seed", "2", "--json", "--show-prompts",
                                     "--saves", (dir.path() / "saves.db").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    *run = run_program(lyra_bin(), args, {}, in);
    std::vector<json> v;
    std::istringstream lines(run->out);
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty()) v.push_back(json::parse(line));
    }
    return v;
}

TEST(PromptFormat, ScriptedGameInChatFormatWritesOnlyValidUpdates) {
    TempDir dir;
    RunResult run;
    const std::vector<std::string> moves = {"take lantern", "north", "go west", "east", "take key", "west",
                                            "use key", "down", "take crown", "save one", "up", "quit"};
    const std::vector<json> t = play({"-m", chatml_model()}, moves, dir, &run);
    ASSERT_EQ(run.code, 0) << run.err;
    ASSERT_EQ(t.size(), 13u) << run.out;
    const char* where[] = {"gate", "hall", "hall", "chapel", "chapel", "hall", "hall", "vault", "vault", "vault",
                           "hall", "hall"};
    int narrated = 0;
    std::string last_narration;
    int with_exchanges = 0;
    for (size_t i = 1; i < t.size(); ++i) {
        EXPECT_EQ(t[i]["prompt_format"], "chat");
        EXPECT_EQ(t[i]["state"]["location"], where[i - 1]) << "turn " << i << ": " << t[i]["text"];
        if (t[i]["kind"] != "narrated") continue;
        ++narrated;
        EXPECT_EQ(json::parse(t[i]["update_raw"].get<std::string>()), t[i]["update"]);
        std::string user;
        const std::string narration = t[i]["prompts"]["narration"], update = t[i]["prompts"]["update"];
        ASSERT_TRUE(is_chatml(narration, &user)) << narration;
        EXPECT_NE(narration.find("<|im_start|>system\nYou are the narrator"), std::string::npos);
        EXPECT_TRUE(user.ends_with("Player: " + moves[i - 1] + "\nNarrate what happens.")) << user;
        // the narrated turns before it (up to 3) are earlier user/assistant messages, not context lines
        EXPECT_EQ(user.find("Narrator:"), std::string::npos) << user;
        // (the oldest go first when the context is short: when any is there, the newest is the
        // narration of the turn before, right before this turn's user message)
        if (narration.find("<|im_start|>assistant\n") != narration.rfind("<|im_start|>assistant\n")) {
            ++with_exchanges;
            EXPECT_NE(narration.find("<|im_start|>assistant\n" + last_narration + "<|im_end|>\n<|im_start|>user\n"),
                      std::string::npos) << narration;
        }
        last_narration = t[i]["narration"];
        ASSERT_TRUE(is_chatml(update, &user)) << update;
        EXPECT_NE(update.find("<|im_start|>system\nYou keep the state"), std::string::npos);
        EXPECT_TRUE(user.ends_with("\nWrite the state update.")) << user;
    }
    EXPECT_EQ(narrated, 9);
    EXPECT_GT(with_exchanges, 0);
    EXPECT_EQ(t.back()["state"]["inventory"], json({"lantern", "crown"}));
    EXPECT_EQ(t.back()["updates_written"], 9);
    EXPECT_EQ(t.back()["updates_valid"], 9);  // 100%

    // the save keeps the format; a reload plays on in it
    RunResult again;
    const std::vector<json> u = play({"-m", chatml_model(), "--load", "one"}, {"up"}, dir, &again);
    ASSERT_EQ(again.code, 0) << again.err;
    ASSERT_EQ(u.size(), 2u);
    EXPECT_EQ(u[1]["prompt_format"], "chat");
    EXPECT_EQ(u[1]["state"], t.back()["state"]);  // same seed, same save, same move: same turn
}

TEST(PromptFormat, ServerStoryAndPlayTakeTheKey) {
    TempDir models;
    fs::create_symlink(chatml_model(), models.path() / "chatml.gguf");
    fs::create_symlink(plain_model(), models.path() / "plain.gguf");
    ServeProcess s({}, "", models.path());
    ASSERT_TRUE(s.ok());
    Http h = post(s, "/v1/art/play/create", R"({"model":"chatml","seed":2,"narration_tokens":40})");
    ASSERT_EQ(h.status, 200) << h.body;
    EXPECT_EQ(h.j()["prompt_format"], "chat");
    const std::string id = h.j()["session"];
    h = post(s, "/v1/art/play/turn", R"({"session":")" + id + R"(","input":"take lantern"})");
    ASSERT_EQ(h.status, 200) << h.body;
    EXPECT_EQ(h.j()["kind"], "narrated") << h.body;
    EXPECT_EQ(h.j()["update"]["take"], json({"lantern"})) << h.body;
    h = post(s, "/v1/art/play/create", R"({"model":"chatml","prompt_format":"plain"})");
    ASSERT_EQ(h.status, 200) << h.body;
    EXPECT_EQ(h.j()["prompt_format"], "plain");
    h = post(s, "/v1/art/play/create", R"({"model":"plain","prompt_format":"chat"})");
    EXPECT_EQ(h.status, 400) << h.body;
    EXPECT_NE(h.body.find("no chat template"), std::string::npos) << h.body;
    h = post(s, "/v1/art/play/create", R"({"model":"chatml","prompt_format":"xml"})");
    EXPECT_EQ(h.status, 400) << h.body;
    EXPECT_NE(h.body.find("unknown value 'xml'"), std::string::npos) << h.body;

    h = post(s, "/v1/art/story", R"({"model":"chatml","form":"outline","acts":1,"length":60,"seed":1})");
    ASSERT_EQ(h.status, 200) << h.body;
    EXPECT_TRUE(h.j()["files"].contains("prompts")) << h.body;
    h = post(s, "/v1/art/story", R"({"model":"plain","form":"outline","prompt_format":"chat"})");
    EXPECT_EQ(h.status, 400) << h.body;
    EXPECT_NE(h.body.find("no chat template"), std::string::npos) << h.body;
}

}  // namespace
}  // namespace lyra::e2e
