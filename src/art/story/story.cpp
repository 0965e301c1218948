// The story planner and writer (story.h): premise -> bible -> outline -> scenes.
#include "art/story/story.h"
#include "art/common/critic.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "art/common/artifacts.h"
#include "art/common/prompt_format.h"
#include "art/common/text.h"
#include "art/common/text_to_text.h"
#include "art/story/screenplay.h"
#include "core/error.h"
#include "core/mmap.h"
#include "generate/constraint/constraint.h"
#include "generate/generator.h"
#include "generate/models_dir.h"

namespace lyra::art::story {

namespace {

namespace c = gen::constraint;

constexpr const char* kProseModelFile = "prose-en.gguf";
constexpr const char* kFallbackModelFile = "tiny-shakespeare-char.gguf";

std::string trim(std::string_view s) {
    const size_t a = s.find_first_not_of(" \t\r\n");
    if (a == std::string_view::npos) return {};
    const size_t b = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(a, b - a + 1));
}

int count_words(const std::string& s) {
    int n = 0;
    bool in = false;
    for (unsigned char ch : s) {
        const bool sp = ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r';
        if (!sp && !in) ++n;
        in = !sp;
    }
    return n;
}

const char* roman(int n) {
    static const char* const r[] = {"I", "II", "III", "IV", "V"};
    return n >= 1 && n <= 5 ? r[n - 1] : "?";
}

// One model, one pool, one seed stream: every call is seeded from the story seed and a stage
// counter, so the same request gives the same story. Prompts are built in the request's prompt
// format (prompt_format.h) and kept, by stage, for prompts.json.
class Writer {
public:
    Writer(const model::Model& m, core::ThreadPool& pool, const CommonOptions& o, const Prompter& p)
        : model_(m), pool_(pool), opt_(o), prompter_(p), trie_(std::make_shared<const c::TokenTrie>(m.tokenizer())) {}

    int n_ctx() const { return static_cast<int>(model_.hparams().n_ctx); }
    const Prompter& prompter() const { return prompter_; }

    // The prompt of one stage, fitted to leave `reserve` tokens for the reply: head lines are
    // dropped oldest first when it does not fit (the plain tail, the chat request and system
    // message are kept); `dropped` counts the head lines left out.
    std::string prompt(const std::string& stage, const PromptParts& parts, int reserve, int* dropped = nullptr) {
        std::string text = prompter_.build(parts, reserve, dropped);
        prompts_.push_back({{"stage", stage}, {"prompt", text}});
        return text;
    }

    // Generates from `prompt`: free text (gbnf empty; stops at `stop`), or under a grammar.
    std::string run(const std::string& prompt, int max_tokens, const std::string& gbnf,
                    const std::vector<std::string>& stop = {}) {
        gen::GenerateOptions o = generate_options(opt_, 1);
        const int64_t n_prompt = prompter_.count_tokens(prompt);
        o.max_tokens = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(max_tokens, n_ctx() - n_prompt)));
        o.seed = opt_.seed * 1000003ull + static_cast<uint64_t>(calls_++);
        o.n_candidates = 1;
        std::unique_ptr<c::GrammarConstraint> con;
        if (!gbnf.empty()) {
            con = c::make_grammar_constraint(gbnf, trie_, {.max_tokens = o.max_tokens}, "story grammar");
            o.constraint = con.get();
        } else {
            o.stop = stop;
        }
        prompter_.apply(o);  // chat: the template's BOS and special tokens, end-of-turn stops
        gen::Generator g(model_, pool_);
        const gen::GenerateResult r = g.run(prompt, o);
        std::string text = drop_invalid_utf8(r.candidates.empty() ? std::string() : r.candidates[0].text);
        if (con && con->status() == c::ConstraintStatus::DeadEnd) {
            throw_error(ErrorKind::InvalidArgument,
                        "story: the grammar reached a dead end after {} bytes; expected a model "
                        "vocabulary that can write every byte", con->matched().size());
        }
        tokens_ += static_cast<int64_t>(r.candidates.empty() ? 0 : r.candidates[0].tokens.size());
        return text;
    }

    // A JSON value under a schema.
    json run_json(const std::string& prompt, const json& schema, int max_tokens) {
        const std::string raw = run(prompt, max_tokens, c::json_schema_to_gbnf(schema.dump()));
        try {
            return json::parse(raw);
        } catch (const json::parse_error&) {
            throw_error(ErrorKind::InvalidArgument, "story: the model's JSON did not parse (budget too small?): {}", raw);
        }
    }

    int64_t tokens() const { return tokens_; }
    const json& prompts() const { return prompts_; }

private:
    const model::Model& model_;
    core::ThreadPool& pool_;
    CommonOptions opt_;
    Prompter prompter_;
    json prompts_ = json::array();
    std::shared_ptr<const c::TokenTrie> trie_;
    int calls_ = 0;
    int64_t tokens_ = 0;
};

const json kNameSchema = {{"type", "string"}, {"pattern", "[A-Z][a-z]{2,8}"}};
const json kPlaceSchema = {{"type", "string"}, {"pattern", "[A-Z][a-z]{2,9}( [A-Z][a-z]{2,9})?"}};
const json kTitleSchema = {{"type", "string"}, {"pattern", "[A-Z][a-z]{2,9}( [a-z]{2,9}){1,3}"}};

// The chat format's system message for the planning stages (bible and outline): the reply is
// held to a JSON string or object by the stage's schema, so the model is told to answer that way.
std::string planner_system(const std::string& genre) {
    return fmt::format("You plan a {} story before it is written: its setting, places, characters and "
                       "scenes. Answer with exactly what is asked, as JSON, and nothing else.", genre);
}

Bible make_bible(Writer& w, const std::string& premise, const std::string& genre, const std::string& pov) {
    Bible b{.premise = premise, .genre = genre, .pov = pov};
    const std::string intro = fmt::format("A {} story. Premise: {}\n", genre, premise);
    const std::string sys = planner_system(genre);
    const char* kWords = "one or two capitalised words, as a JSON string.";
    b.setting = w.run_json(w.prompt("setting", {.system = sys, .head = {intro}, .tail = "Setting: ",
                                                .ask = fmt::format("Name the place where the story is set: {}", kWords)}, 40),
                           kPlaceSchema, 40).get<std::string>();
    std::set<std::string> used = {b.setting};
    for (int i = 0; i < 3; ++i) {
        std::string place;
        for (int attempt = 0; attempt < 6 && (place.empty() || used.count(place)); ++attempt) {
            const PromptParts parts{.system = sys, .head = {intro, "Setting: " + b.setting + "\n"}, .tail = "A place there: ",
                                    .ask = fmt::format("Name another place there, where a scene can happen: {}", kWords)};
            place = w.run_json(w.prompt("place", parts, 40), kPlaceSchema, 40).get<std::string>();
        }
        if (used.count(place)) place += " " + std::string(roman(i + 1));
        used.insert(place);
        b.places.push_back(place);
    }
    const char* roles[] = {"protagonist", "antagonist", "ally"};
    std::set<std::string> names;
    for (const char* role : roles) {
        std::string name;
        for (int attempt = 0; attempt < 6 && (name.empty() || names.count(name)); ++attempt) {
            const PromptParts parts{.system = sys, .head = {intro}, .tail = fmt::format("The {} is named ", role),
                                    .ask = fmt::format("Name the {}: one capitalised first name, as a JSON string.", role)};
            name = w.run_json(w.prompt(std::string("name:") + role, parts, 24), kNameSchema, 24).get<std::string>();
        }
        while (names.count(name)) name += "a";  // still a clash after retries: make it distinct
        names.insert(name);
        b.characters.push_back({name, role});
    }
    return b;
}

Outline make_outline(Writer& w, const Bible& b, int acts, int n_scenes) {
    Outline o{.acts = acts};
    std::vector<std::string> names, places = b.places;
    for (const Character& ch : b.characters) names.push_back(ch.name);
    const json pick = {
        {"type", "object"},
        {"properties",
         {{"place", {{"enum", places}}},
          {"cast", {{"type", "array"}, {"items", {{"enum", names}}}, {"minItems", 1}, {"maxItems", 2}}},
          {"night", {{"type", "boolean"}}}}},
        {"required", {"place", "cast", "night"}}};
    std::string place_list;
    for (const std::string& p : places) place_list += (place_list.empty() ? "" : ", ") + p;
    const std::string sys = planner_system(b.genre);
    std::vector<std::string> head = {b.summary()};
    for (int i = 0; i < n_scenes; ++i) {
        Scene s;
        s.number = i + 1;
        s.act = 1 + i * acts / n_scenes;  // scenes spread over the acts, each act at least one
        const std::string tail = fmt::format("Act {}, scene {}. Title: ", roman(s.act), s.number);
        const std::string which = fmt::format("Act {}, scene {} of {}", roman(s.act), s.number, n_scenes);
        const std::string stage = fmt::format("scene-{}", s.number);
        s.title = w.run_json(w.prompt("title:" + stage, {.system = sys, .head = head, .tail = tail,
                                                         .ask = which + ": give it a title of two to four words, the first one capitalised, as a JSON string."}, 40),
                             kTitleSchema, 40).get<std::string>();
        const PromptParts plan{.system = sys, .head = head, .tail = tail + s.title + "\nPlan: ",
                               .ask = fmt::format("{}, \"{}\": choose where it happens (one of {}), who is in it (one or two "
                                                  "of the characters) and whether it is night, as a JSON object with the keys "
                                                  "place, cast and night.", which, s.title, place_list)};
        const json p = w.run_json(w.prompt("plan:" + stage, plan, 80), pick, 80);
        s.place = p["place"].get<std::string>();
        s.night = p["night"].get<bool>();
        s.interior = i % 2 == 0;
        for (const json& n : p["cast"]) {
            const std::string name = n.get<std::string>();
            if (std::find(s.characters.begin(), s.characters.end(), name) == s.characters.end()) s.characters.push_back(name);
        }
        // the reply starts with the same words as the plain cue, so summaries read alike
        const PromptParts sum{.system = sys, .head = head, .tail = tail + s.title + "\nIn this scene, ",
                              .ask = fmt::format("{}, \"{}\": say in one sentence what happens in it.", which, s.title),
                              .reply_start = "In this scene, "};
        s.summary = trim(w.run(w.prompt("summary:" + stage, sum, 48), 48, "", {"\n"}));
        head.push_back(fmt::format("Scene {} ({}): {}\n", s.number, s.title, s.summary));
        o.scenes.push_back(std::move(s));
    }
    return o;
}

// The chat format's system message for writing the scenes: the role, its rules and the bible
// (re-injected into every prompt, as the plain prompt's tail carries it).
std::string writer_system(const Bible& b, bool screenplay) {
    if (screenplay) {
        return "You write a screenplay, one scene at a time, in Fountain: the scene heading, action lines, "
               "character cues in capitals each followed by their dialogue, and transitions.\n" + b.summary();
    }
    return fmt::format("You write a {} story told in the {} person, one scene at a time: narration and dialogue "
                       "only, no headings or notes, continuing the text where it stops.\n{}", b.genre, b.pov, b.summary());
}

// The prose of one scene, written in chunks; earlier scenes enter the prompt as their outline
// summary plus a recap of their prose (`recaps[i]`, see run_story), newest first kept, and the
// bible is re-injected at the top of every chunk's prompt. In chat format each chunk is the
// assistant's reply continued from the prose so far (the reply start).
std::string write_prose(Writer& w, const Bible& b, const Outline& o, size_t k, const std::vector<std::string>& recaps,
                        int words, int* summarized) {
    const Scene& s = o.scenes[k];
    std::vector<std::string> head;
    for (size_t i = 0; i < k; ++i)
        head.push_back(fmt::format("Earlier, scene {}: {} {}\n", o.scenes[i].number, o.scenes[i].summary, recaps[i]));
    std::string cast;
    for (const std::string& n : s.characters) cast += (cast.empty() ? "" : ", ") + n;
    const std::string scene_line = fmt::format("Scene {}: {}. At {}, {}. With {}. {}\n", s.number, s.title, s.place,
                                               s.night ? "night" : "day", cast, s.summary);
    const std::string sys = writer_system(b, false);
    std::string text;
    const int chunk = std::max(16, std::min(192, w.n_ctx() / 2));
    for (int round = 0; round < 40 && count_words(text) < words; ++round) {
        std::string tail_text = text.size() > 400 ? drop_front_utf8(text, text.size() - 400) : text;
        int dropped = 0;
        // bible first (re-injected), then as many earlier scenes as fit, then this scene
        const PromptParts parts{.system = sys, .head = head, .tail = b.summary() + scene_line + tail_text,
                                .ask = scene_line + "Write this scene.", .reply_start = tail_text};
        const std::string prompt = w.prompt(fmt::format("prose:scene-{}", s.number), parts, chunk, &dropped);
        *summarized = std::max(*summarized, dropped);
        const std::string piece = w.run(prompt, chunk, "");
        if (piece.empty()) break;
        text += piece;
    }
    // end on a finished sentence when there is one in the last half
    const size_t end = text.find_last_of(".!?");
    if (end != std::string::npos && end > text.size() / 2) text.resize(end + 1);
    return trim(text);
}

std::string check_choice(const json& request, const char* key, std::string fallback,
                         std::initializer_list<const char*> allowed) {
    const std::string v = get_string(request, key, std::move(fallback));
    std::string list;
    for (const char* a : allowed) {
        if (v == a) return v;
        list += (list.empty() ? "" : ", ") + std::string(a);
    }
    throw_error(ErrorKind::InvalidArgument, "{}: unknown value '{}'; expected one of {}", key, v, list);
}

}  // namespace

json Bible::to_json() const {
    json cs = json::array();
    for (const Character& ch : characters) cs.push_back({{"name", ch.name}, {"role", ch.role}});
    return {{"premise", premise}, {"genre", genre}, {"pov", pov}, {"setting", setting},
            {"places", places}, {"characters", cs}};
}

Bible Bible::from_json(const json& j, const std::string& where) {
    try {
        Bible b;
        b.premise = j.at("premise").get<std::string>();
        b.genre = j.at("genre").get<std::string>();
        b.pov = j.at("pov").get<std::string>();
        b.setting = j.at("setting").get<std::string>();
        b.places = j.at("places").get<std::vector<std::string>>();
        for (const json& ch : j.at("characters")) {
            b.characters.push_back({ch.at("name").get<std::string>(), ch.at("role").get<std::string>()});
        }
        if (b.characters.empty()) throw_error(ErrorKind::Corrupt, "no characters");
        if (b.places.empty()) throw_error(ErrorKind::Corrupt, "no places");
        return b;
    } catch (const json::exception& e) {
        throw_error(ErrorKind::Corrupt, "{}: bible: {}; expected premise, genre, pov, setting, places, characters", where, e.what());
    } catch (const Error& e) {
        throw_error(ErrorKind::Corrupt, "{}: bible: {}; expected at least one character and one place", where, e.what());
    }
}

std::string Bible::summary() const {
    std::string s = fmt::format("A {} story told in the {} person, set in {}. Characters:", genre, pov, setting);
    for (size_t i = 0; i < characters.size(); ++i) {
        s += fmt::format("{} {} ({})", i ? "," : "", characters[i].name, characters[i].role);
    }
    return s + ".\n";
}

json Outline::to_json() const {
    json acts_j = json::array();
    for (int a = 1; a <= acts; ++a) {
        json scenes_j = json::array();
        for (const Scene& s : scenes) {
            if (s.act != a) continue;
            scenes_j.push_back({{"number", s.number}, {"title", s.title}, {"place", s.place},
                                {"interior", s.interior}, {"night", s.night},
                                {"characters", s.characters}, {"summary", s.summary}});
        }
        acts_j.push_back({{"act", a}, {"scenes", scenes_j}});
    }
    return {{"acts", acts_j}};
}

Outline Outline::from_json(const json& j, const Bible& b, const std::string& where) {
    Outline o;
    std::set<std::string> names;
    for (const Character& ch : b.characters) names.insert(ch.name);
    try {
        const json& acts = j.at("acts");
        if (!acts.is_array() || acts.empty() || acts.size() > 5) {
            throw_error(ErrorKind::Corrupt, "{}: /acts: expected 1-5 acts, got {}", where, acts.is_array() ? acts.size() : 0);
        }
        o.acts = static_cast<int>(acts.size());
        int number = 0;
        for (size_t a = 0; a < acts.size(); ++a) {
            const json& sc = acts[a].at("scenes");
            if (!sc.is_array() || sc.empty()) {
                throw_error(ErrorKind::Corrupt, "{}: /acts/{}/scenes: expected at least one scene", where, a);
            }
            for (size_t i = 0; i < sc.size(); ++i) {
                const std::string p = fmt::format("/acts/{}/scenes/{}", a, i);
                Scene s;
                s.act = static_cast<int>(a) + 1;
                s.number = ++number;
                s.title = sc[i].at("title").get<std::string>();
                s.place = sc[i].at("place").get<std::string>();
                s.interior = sc[i].value("interior", true);
                s.night = sc[i].value("night", false);
                s.summary = sc[i].value("summary", std::string());
                s.characters = sc[i].at("characters").get<std::vector<std::string>>();
                for (const std::string& n : s.characters) {
                    if (!names.count(n)) {
                        std::string list;
                        for (const std::string& x : names) list += (list.empty() ? "" : ", ") + x;
                        throw_error(ErrorKind::Corrupt, "{}: {}/characters: '{}' is not in the bible; expected one of {}", where, p, n, list);
                    }
                }
                if (s.title.empty() || s.place.empty()) throw_error(ErrorKind::Corrupt, "{}: {}: empty title or place", where, p);
                o.scenes.push_back(std::move(s));
            }
        }
    } catch (const json::exception& e) {
        throw_error(ErrorKind::Corrupt, "{}: {}; expected {{\"acts\": [{{\"scenes\": [{{\"title\", \"place\", \"characters\", ...}}]}}]}}", where, e.what());
    }
    return o;
}

std::string Outline::to_markdown(const Bible& b) const {
    std::string md = fmt::format("# Outline\n\nPremise: {}\n\nSetting: {}. Characters:", b.premise, b.setting);
    for (size_t i = 0; i < b.characters.size(); ++i) {
        md += fmt::format("{} {} ({})", i ? "," : "", b.characters[i].name, b.characters[i].role);
    }
    md += ".\n";
    int act = 0;
    for (const Scene& s : scenes) {
        if (s.act != act) {
            act = s.act;
            md += fmt::format("\n## Act {}\n\n", roman(act));
        }
        std::string cast;
        for (const std::string& n : s.characters) cast += (cast.empty() ? "" : ", ") + n;
        md += fmt::format("{}. **{}** ({}, {}; {}): {}\n", s.number, s.title, s.place, s.night ? "night" : "day", cast, s.summary);
    }
    return md;
}

ArtResult run_story(const json& request, Context& ctx) {
    check_keys(request, {"form", "premise", "length", "genre", "pov", "acts", "from_outline", "planner", "prompt_format"}, "story");
    CommonOptions common = parse_common(request);
    const std::string form = check_choice(request, "form", "short", {"short", "screenplay", "outline"});
    const std::string pov = check_choice(request, "pov", "third", {"first", "third"});
    std::string premise = get_string(request, "premise", "A keeper of a lighthouse finds a letter from the sea.");
    const std::string genre = get_string(request, "genre", "literary");
    const int length = static_cast<int>(get_int(request, "length", 600, 50, 20000));
    const int acts = static_cast<int>(get_int(request, "acts", 3, 1, 5));
    const std::string from_outline = get_string(request, "from_outline", "");
    const std::string planner_path = get_string(request, "planner", "");
    const std::string prompt_format = check_choice(request, "prompt_format", "auto", {"auto", "plain", "chat"});
    for (const std::string* s : std::initializer_list<const std::string*>{&premise, &genre}) {
        if (auto bad = gen::find_invalid_utf8(*s)) {
            throw_error(ErrorKind::InvalidArgument, "story: invalid UTF-8 at byte {}; expected UTF-8 text", *bad);
        }
    }
    if (trim(premise).empty() || premise.size() > 4000) {
        throw_error(ErrorKind::InvalidArgument, "premise: expected 1-4000 bytes of text, got {}", premise.size());
    }
    if (genre.size() > 60) throw_error(ErrorKind::InvalidArgument, "genre: expected at most 60 bytes, got {}", genre.size());
    // The planner (t5), when named, is loaded before anything is written: a wrong file fails at once.
    std::shared_ptr<const model::Model> planner;
    if (!planner_path.empty()) {
        try {
            planner = ctx.models->encoder_decoder(planner_path);
        } catch (const Error& e) {
            rethrow_with_context(e, "planner");
        }
    }

    if (common.model.empty()) {
        const std::string dir = gen::find_models_dir();
        const bool have_prose = !dir.empty() && std::filesystem::exists(std::filesystem::path(dir) / kProseModelFile);
        common.model = resolve_model(common, have_prose ? kProseModelFile : kFallbackModelFile);
    }
    const auto model = ctx.models->get(common.model);
    Writer w(*model, *ctx.pool, common, Prompter(*model, prompt_format));

    // 1-2. bible and outline: planned, or read from an edited outline.json
    Bible bible;
    Outline outline;
    std::string title;  // outline.json's own when regenerating from it
    if (!from_outline.empty()) {
        if (!std::filesystem::exists(from_outline)) {
            throw_error(ErrorKind::NotFound, "from_outline: no file '{}'; expected an outline.json written by lyra story", from_outline);
        }
        json j;
        try {
            j = json::parse(core::read_file(from_outline));
        } catch (const json::parse_error& e) {
            throw_error(ErrorKind::Corrupt, "outline '{}': invalid JSON: {}", from_outline, e.what());
        }
        if (!j.is_object() || !j.contains("bible")) {
            throw_error(ErrorKind::Corrupt, "outline '{}': no 'bible'; expected an outline.json written by lyra story", from_outline);
        }
        bible = Bible::from_json(j["bible"], "outline '" + from_outline + "'");
        outline = Outline::from_json(j, bible, "outline '" + from_outline + "'");
        premise = bible.premise;
        if (j.contains("title") && !j["title"].is_null()) {
            if (!j["title"].is_string()) {
                throw_error(ErrorKind::Corrupt, "outline '{}': /title: expected a string, got {}", from_outline, j["title"].dump());
            }
            title = clean_answer(j["title"].get<std::string>(), 200);
        }
    } else {
        bible = make_bible(w, premise, genre, pov);
        const int n_scenes = std::clamp(length / 200, acts, acts * 4);
        outline = make_outline(w, bible, acts, n_scenes);
    }

    // The work's title: the edited outline's, else the planner's from the premise, else the setting's.
    if (title.empty() && planner) title = t5_title(*planner, premise, *ctx.pool);
    if (title.empty()) title = "The " + bible.setting;

    // Each finished scene is recapped once for the prompts of the later ones: abstractively by
    // the planner (t5 "summarize: "), else by its most central sentence under the encoder
    // critic, else by its first sentence.
    std::shared_ptr<const model::EncoderModel> encoder;
    if (!common.critic.empty()) encoder = ctx.models->encoder(common.critic);
    const char* recap_by = planner ? "t5" : encoder ? "encoder" : "first-sentence";
    const auto recap = [&](const std::string& prev) {
        if (planner) return t5_summary(*planner, prev, *ctx.pool);
        if (encoder) return central_sentence(*encoder, prev, *ctx.pool);
        const size_t dot = prev.find_first_of(".!?");
        return dot == std::string::npos ? std::string() : trim(prev.substr(0, dot + 1));
    };

    // 3. the scenes
    std::vector<std::string> scene_texts, recaps;
    int summarized = 0;
    std::string body;
    const int words_per_scene = std::max(20, length / static_cast<int>(outline.scenes.size()));
    if (form == "short") {
        for (size_t k = 0; k < outline.scenes.size(); ++k) {
            scene_texts.push_back(write_prose(w, bible, outline, k, recaps, words_per_scene, &summarized));
            if (k + 1 < outline.scenes.size()) recaps.push_back(recap(scene_texts.back()));
        }
        body = "# " + title + "\n\n*" + bible.premise + "*\n";
        int act = 0;
        for (size_t k = 0; k < outline.scenes.size(); ++k) {
            const Scene& s = outline.scenes[k];
            if (s.act != act) {
                act = s.act;
                body += fmt::format("\n## Act {}\n", roman(act));
            }
            body += fmt::format("\n### {}. {}\n\n{}\n", s.number, s.title, scene_texts[k]);
        }
    } else if (form == "screenplay") {
        body = "Title: " + title + "\nCredit: written by\nAuthor: Lyra\n\n";
        for (size_t k = 0; k < outline.scenes.size(); ++k) {
            const Scene& s = outline.scenes[k];
            const std::string heading = scene_heading(s.place, s.interior, s.night);
            const bool last = k + 1 == outline.scenes.size();
            const int max_blocks = std::clamp(words_per_scene / 12, 2, 12);
            const std::string g = scene_gbnf(heading, s.characters, last, 2, max_blocks);
            const int budget = std::max(80, std::min(w.n_ctx() * 3 / 4, words_per_scene * 7));
            std::string cast;
            for (const std::string& n : s.characters) cast += (cast.empty() ? "" : ", ") + n;
            const std::string line = fmt::format("Scene {}: {}. With {}. {}\n", s.number, s.title, cast, s.summary);
            const PromptParts parts{.system = writer_system(bible, true), .head = {bible.summary()}, .tail = line, .ask = line};
            const std::string prompt = w.prompt(fmt::format("screenplay:scene-{}", s.number), parts, budget);
            std::string text = w.run(prompt, budget, g);
            if (text.empty() || text.back() != '\n') text += "\n";
            scene_texts.push_back(text);
            body += text + (last ? "" : "\n");
        }
    }

    ArtResult r;
    r.form = "story";
    r.title = title;
    r.seed = common.seed;
    r.model = common.model;
    r.model_sha256 = ctx.models->sha256(common.model);
    json full = request;
    full["form"] = form;
    full["premise"] = premise;
    full["genre"] = genre;
    full["pov"] = pov;
    full["length"] = length;
    full["acts"] = acts;
    full["prompt_format"] = w.prompter().name();  // as resolved for this model: a rerun prompts alike
    const json common_json = common_to_json(common);
    for (auto it = common_json.begin(); it != common_json.end(); ++it) full[it.key()] = it.value();
    r.request = full;
    json outline_json = outline.to_json();
    outline_json["bible"] = bible.to_json();
    outline_json["form"] = form;
    outline_json["title"] = title;
    // Keywords of the brief: the encoder's when there is a critic (it ranks the premise's own
    // words, so it cannot stray), else the planner's, kept only where they are premise words.
    if (encoder) {
        outline_json["keywords"] = keywords(*encoder, premise, 5, *ctx.pool);
    } else if (planner) {
        outline_json["keywords"] = t5_keywords(*planner, premise, 5, *ctx.pool);
    }
    const std::string outline_md = outline.to_markdown(bible);
    r.text = form == "outline" ? outline_md : body;
    int words = 0;
    for (const std::string& s : scene_texts) words += count_words(s);
    r.scores = {{"acts", outline.acts}, {"scenes", outline.scenes.size()}, {"words", words},
                {"characters", bible.characters.size()}, {"summarized_scenes", summarized},
                {"tokens", w.tokens()}};
    r.candidates.push_back({.text = r.text, .scores = r.scores, .score = 0});
    apply_encoder_critic(r, common, premise, ctx);  // one candidate: the figures are reported
    r.scores = r.candidates.front().scores;
    if (!ctx.out_dir.empty()) {
        ArtifactSet files(ctx.out_dir);
        files.add("bible", "bible.json", bible.to_json().dump(2) + "\n");
        files.add("outline", "outline.json", outline_json.dump(2) + "\n");
        files.add("md", "outline.md", outline_md);
        // every prompt the decoder saw, by stage, in the format used
        const json prompts = {{"prompt_format", w.prompter().name()}, {"chat_family", w.prompter().family()},
                              {"prompts", w.prompts()}};
        files.add("prompts", "prompts.json", prompts.dump(2) + "\n");
        for (size_t k = 0; k < scene_texts.size(); ++k) {
            const std::string name = fmt::format("scene-{:02}.{}", k + 1, form == "screenplay" ? "fountain" : "txt");
            files.add(fmt::format("scene-{:02}", k + 1), name, scene_texts[k] + (scene_texts[k].empty() || scene_texts[k].back() != '\n' ? "\n" : ""));
        }
        if (!recaps.empty()) {
            json rj = json::array();
            for (size_t k = 0; k < recaps.size(); ++k) {
                rj.push_back({{"scene", outline.scenes[k].number}, {"recap", recaps[k]}, {"by", recap_by}});
            }
            files.add("recaps", "recaps.json", rj.dump(2) + "\n");
        }
        if (form == "short") files.add("story", "story.md", body);
        if (form == "screenplay") {
            files.add("fountain", "screenplay.fountain", body);
            files.add("html", "screenplay.html", fountain_to_html(title, body));
        }
        r.files = files.commit();
    }
    return r;
}

}  // namespace lyra::art::story
