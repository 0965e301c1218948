// `lyra poem`: writes a poem that keeps its form (--form, --theme/--title, --acrostic, --rhyme,
// --lines/--tone-rhyme/--stanzas/--pattern for 古体, the common art flags), lists the forms
// (--list-forms), checks a poem a person wrote (--check FILE --form F: one line per fault, exit 1
// when there are faults), revises one character or word of it with a masked LM (--revise FILE
// --line N --pos P --critic M), and measures the model under the constraints (`lyra poem eval
// [--form F] [--count N]`).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "art/poetry/en/en_poem.h"
#include "art/poetry/poem.h"
#include "cli/art_cli.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "generate/result_json.h"

namespace lyra::cli {

namespace {

struct PoemFlags {
    ArtCliState st;
    std::string form, theme, title, acrostic, rhyme, check, revise;
    int line = 0, pos = 0;
    // 古体 options; unset = not given (a value typed, 0 or "" included, is checked, never dropped).
    std::optional<int> lines;
    std::optional<std::string> tone_rhyme, stanzas, pattern;
    bool list = false;
    // eval
    std::vector<std::string> eval_forms;
    int count = 100;
    std::string eval_model, eval_rhyme = "pingshui";
    std::optional<std::string> eval_tone_rhyme, eval_stanzas, eval_pattern;
    std::optional<int> eval_lines;
    int eval_threads = 0;
    bool eval_json = false;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_error(ErrorKind::NotFound, "poem: cannot open '{}'; expected a readable text file", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// `s` padded with spaces to `width` terminal columns (a CJK character takes two).
std::string pad(const std::string& s, int width) {
    int cols = 0;
    for (size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        const size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : 4;
        cols += n >= 3 ? 2 : 1;
        i += n;
    }
    return s + std::string(static_cast<size_t>(std::max(1, width - cols)), ' ');
}

void run_poem(PoemFlags& f, CLI::App* cmd) {
    if (f.list) {
        for (const auto& [name, desc] : art::poetry::list_forms())
            std::printf("%s%s\n", pad(name, 15).c_str(), desc.c_str());
        return;
    }
    if (f.form.empty())
        throw_error(ErrorKind::Usage, "poem: --form is required; expected e.g. --form wujue (see --list-forms)");
    if (!f.check.empty()) {
        const std::string text = read_file(f.check);
        auto faults = art::poetry::check_poem(f.form, text, f.rhyme.empty() ? "pingshui" : f.rhyme,
                                              f.acrostic,
                                              {.lines = f.lines,
                                               .tone_rhyme = f.tone_rhyme,
                                               .stanzas = f.stanzas,
                                               .pattern = f.pattern});
        if (f.st.json) {
            nlohmann::json arr = nlohmann::json::array();
            for (const auto& x : faults)
                arr.push_back({{"line", x.line}, {"position", x.position}, {"expected", x.expected},
                               {"found", x.found}, {"message", x.message}});
            nlohmann::json out = {{"form", f.form}, {"ok", faults.empty()}, {"faults", arr}};
            std::printf("%s\n", gen::dump_json(out).c_str());
        } else if (faults.empty()) {
            std::printf("ok: the poem keeps the form %s\n", f.form.c_str());
        } else {
            for (const auto& x : faults) std::printf("%s\n", x.message.c_str());
        }
        std::fflush(stdout);
        if (!faults.empty())
            throw_error(ErrorKind::InvalidArgument, "check: {} fault{} against {}", faults.size(),
                        faults.size() == 1 ? "" : "s", f.form);
        return;
    }
    auto& r = f.st.request;
    r["form"] = f.form;
    if (cmd->count("--theme")) r["theme"] = f.theme;
    if (cmd->count("--title")) r["title"] = f.title;
    if (cmd->count("--acrostic")) r["acrostic"] = f.acrostic;
    if (cmd->count("--rhyme")) r["rhyme"] = f.rhyme;
    if (f.lines) r["lines"] = *f.lines;
    if (f.tone_rhyme) r["tone_rhyme"] = *f.tone_rhyme;
    if (f.stanzas) r["stanzas"] = *f.stanzas;
    if (f.pattern) r["pattern"] = *f.pattern;
    if (!f.revise.empty()) {
        if (f.line == 0 || f.pos == 0)
            throw_error(ErrorKind::Usage, "poem: --revise needs --line N and --pos P (1-based)");
        r["revise"] = read_file(f.revise);
        r["line"] = f.line;
        r["pos"] = f.pos;
    } else if (f.line != 0 || f.pos != 0) {
        throw_error(ErrorKind::Usage, "poem: --line and --pos go with --revise FILE");
    }
    run_art_command("poem", art::poetry::write_poem, f.st);
}

void run_eval(PoemFlags& f) {
    const int threads = f.eval_threads > 0
                            ? f.eval_threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    core::ThreadPool pool(threads);
    art::ModelCache models;
    art::Context ctx{.pool = &pool, .models = &models};
    art::CommonOptions common;
    common.model = f.eval_model;
    std::vector<std::string> zh, en;
    for (const std::string& name : f.eval_forms) (art::poetry::en::is_form(name) ? en : zh).push_back(name);
    nlohmann::json rows = nlohmann::json::array();
    std::string model;
    if (!zh.empty() || en.empty()) {
        model = art::resolve_model(common, art::poetry::kZhModel);
        rows = art::poetry::eval_poems(zh, f.count, model, f.eval_rhyme, ctx,
                                       {.lines = f.eval_lines,
                                        .tone_rhyme = f.eval_tone_rhyme,
                                        .stanzas = f.eval_stanzas,
                                        .pattern = f.eval_pattern});
    }
    for (const std::string& name : en) {
        const std::string en_model = art::resolve_model(common, art::poetry::en::kDefaultModel);
        if (model.empty()) model = en_model;
        nlohmann::json row = art::poetry::en::eval_form(name, f.count, en_model, ctx);
        // The English report names its accuracies by syllables; the table reads these keys.
        if (!row.contains("line_length_accuracy")) row["line_length_accuracy"] = row.value("syllable_accuracy", 0.0);
        if (!row.contains("tone_accuracy")) row["tone_accuracy"] = nullptr;
        rows.push_back(row);
    }
    if (f.eval_json) {
        std::printf("%s\n", gen::dump_json(nlohmann::json{{"model", model}, {"forms", rows}}).c_str());
        return;
    }
    std::printf("model %s, %d poems per form, rhyme book %s (Chinese forms)\n", model.c_str(), f.count,
                f.eval_rhyme.c_str());
    std::printf("%s %7s %7s %7s %7s %8s %8s %9s\n", pad("form", 14).c_str(), "length", "rhyme", "tone", "full",
                "dist-2", "copied", "ll/char");
    for (const auto& row : rows) {
        std::string copied = row["copied_line_share"].is_null()
                                 ? std::string("n/a")
                                 : fmt::format("{:.3f}", row["copied_line_share"].get<double>());
        const std::string tone = row["tone_accuracy"].is_null()
                                     ? std::string("n/a")
                                     : fmt::format("{:.1f}%", 100 * row["tone_accuracy"].get<double>());
        std::printf("%s %6.1f%% %6.1f%% %7s %6.1f%% %8.3f %8s %9.3f\n",
                    pad(row["form"].get<std::string>(), 14).c_str(), 100 * row["line_length_accuracy"].get<double>(),
                    100 * row["rhyme_accuracy"].get<double>(), tone.c_str(),
                    100 * row["full_compliance"].get<double>(), row["distinct_2"].get<double>(),
                    copied.c_str(), row["loglik_per_char"].get<double>());
    }
}

}  // namespace

void add_poem_command(CLI::App& app) {
    auto f = std::make_shared<PoemFlags>();
    auto* cmd = app.add_subcommand("poem", "Write a poem that keeps its form (Chinese and English forms)");
    cmd->add_option(
        "--form", f->form,
        "the form: wujue, qijue, wulv, qilv, wugu, qigu, zayan, ci:<词牌>, ... (--list-forms)");
    cmd->add_option("--theme", f->theme, "a keyword, a title or a first line");
    cmd->add_option("--title", f->title, "the poem's title (instead of --theme)");
    cmd->add_option("--acrostic", f->acrostic, "藏头: characters (letters) that begin each line");
    cmd->add_option("--rhyme", f->rhyme, "rhyme book for Chinese forms: pingshui (default; 词 by 词林正韵 部), pingshui-strict (词 too in one group) or xinyun");
    // No CLI11 range check: the library's one message says why the count must be even.
    cmd->add_option("--lines", f->lines,
                    "古体 (wugu, qigu): the number of lines, even, 4-24 (default 8, or the sum of "
                    "--stanzas); "
                    "with --check, the count to hold the poem to, even, 4-400 "
                    "(default: its own)");
    cmd->add_option(
        "--tone-rhyme", f->tone_rhyme,
        "古体 (wugu, qigu, zayan): rhyme on ping (平) or ze (仄; 上/去/入 under pingshui) "
        "(default any: each candidate, and with --stanzas each stanza, draws one); "
        "alternate: 平 and 仄 in turn, stanza by stanza");
    cmd->add_option(
        "--stanzas", f->stanzas,
        "古体: change the rhyme (换韵) at each stanza: N (every N lines) or a list of "
        "stanza lengths such as 4,4,8 (each even, 2 or more; they add up to the lines)");
    cmd->add_option("--pattern", f->pattern,
                    "zayan (杂言古诗): characters per line, 3-9 each, an even count of lines, "
                    "e.g. 3,3,7,7,5,5,7,7 (the default); with --check, default: the poem's own");
    cmd->add_flag("--list-forms", f->list, "print every form with a one-line description");
    cmd->add_option("--check", f->check, "check the poem in FILE against --form and explain each fault");
    cmd->add_option("--revise", f->revise,
                    "propose replacements for one character (word) of the poem in FILE from the "
                    "masked LM given by --critic, each keeping the form (with --line, --pos)");
    cmd->add_option("--line", f->line, "--revise: the line, 1-based")->check(whole_between(1, 1000));
    cmd->add_option("--pos", f->pos, "--revise: the character (Chinese) or word (English), 1-based")
        ->check(whole_between(1, 1000));
    add_common_art_flags(cmd, f->st);
    auto* ev = cmd->add_subcommand("eval", "Measure form compliance of generated poems");
    ev->add_option("--form", f->eval_forms, "a form to evaluate (repeatable; default: every Chinese form)");
    ev->add_option("--count", f->count, "poems per form, seeds 1..count (default 100)")->check(whole_between(1, 10000));
    ev->add_option("-m,--model", f->eval_model, "GGUF model (default models/poetry-zh.gguf)");
    ev->add_option("--rhyme", f->eval_rhyme, "rhyme book: pingshui (default), pingshui-strict or xinyun");
    ev->add_option("--lines", f->eval_lines, "古体 forms: lines per poem, even, 4-24 (default 8)");
    ev->add_option("--tone-rhyme", f->eval_tone_rhyme,
                   "古体 forms: ping, ze, any (default) or alternate");
    ev->add_option("--stanzas", f->eval_stanzas,
                   "古体 forms: 换韵 stanzas, N or a list such as 4,4,8");
    ev->add_option("--pattern", f->eval_pattern,
                   "zayan: characters per line, e.g. 3,3,7,7,5,5,7,7");
    ev->add_option("--threads", f->eval_threads, "worker threads (default: all cores)");
    ev->add_flag("--json", f->eval_json, "print the figures as one JSON object");
    ev->callback([f] { run_eval(*f); });
    cmd->callback([f, cmd, ev] {
        if (ev->parsed()) return;
        run_poem(*f, cmd);
    });
}

}  // namespace lyra::cli
