// `lyra tune`: composes a folk tune in ABC under the meter/key constraint (--key, --meter,
// --rhythm, --bars, --parts, --tempo, --title), optionally harmonized (--chords, or --chords model
// for chords the model writes itself) and set to words
// (--lyrics FILE, or --write-lyrics en|zh for words a language model writes), or takes a melody (--melody FILE.abc) instead of generating; writes tune.abc,
// tune.mid, tune.wav and tune.svg into -o DIR. `lyra tune eval [--rhythm R] [--count N]` measures
// the model under the constraints (abc2midi-clean share, meter, key fit, parts, novelty, loglik).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "art/music/tune.h"
#include "cli/art_cli.h"
#include "cli/commands.h"
#include "core/thread_pool.h"
#include "generate/result_json.h"

namespace lyra::cli {

namespace {

struct TuneFlags {
    ArtCliState st;
    std::string key, meter, rhythm, parts, title, lyrics, melody, write_lyrics, lyrics_model;
    int bars = 8, tempo = 0;
    std::string chords;  // "scored" when --chords has no value
    // eval
    std::string eval_rhythm, eval_model, eval_parts = "AABB", eval_chords;
    int count = 100, eval_bars = 8, eval_threads = 0;
    uint64_t eval_seed = 1;
    bool eval_json = false;
};

void run_tune_cmd(TuneFlags& f, CLI::App* cmd) {
    auto& r = f.st.request;
    const std::pair<const char*, const std::string*> strings[] = {
        {"--key", &f.key},       {"--meter", &f.meter},   {"--rhythm", &f.rhythm},
        {"--parts", &f.parts},   {"--title", &f.title},   {"--lyrics", &f.lyrics},
        {"--melody", &f.melody}, {"--write-lyrics", &f.write_lyrics}, {"--lyrics-model", &f.lyrics_model}};
    for (const auto& [opt, value] : strings) {
        if (!cmd->count(opt)) continue;
        std::string name = std::string(opt).substr(2);
        std::replace(name.begin(), name.end(), '-', '_');  // the request key: write_lyrics
        r[name] = *value;
    }
    if (cmd->count("--bars")) r["bars"] = f.bars;
    if (cmd->count("--tempo")) r["tempo"] = f.tempo;
    if (cmd->count("--chords")) r["chords"] = f.chords == "scored" ? nlohmann::json(true) : nlohmann::json(f.chords);
    run_art_command("tune", art::music::run_tune, f.st);
}

void run_eval(TuneFlags& f) {
    const int threads = f.eval_threads > 0 ? f.eval_threads
                                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    core::ThreadPool pool(threads);
    art::ModelCache models;
    art::Context ctx{.pool = &pool, .models = &models};
    nlohmann::json req = {{"count", f.count}, {"bars", f.eval_bars}, {"parts", f.eval_parts},
                          {"seed", f.eval_seed}};
    if (!f.eval_rhythm.empty()) req["rhythm"] = f.eval_rhythm;
    if (!f.eval_model.empty()) req["model"] = f.eval_model;
    if (!f.eval_chords.empty()) req["chords"] = f.eval_chords;
    nlohmann::json out = art::music::eval_tunes(req, ctx);
    if (f.eval_json) {
        std::printf("%s\n", gen::dump_json(out).c_str());
        return;
    }
    std::printf("model %s, %d tunes per rhythm (seeds %llu..), parts %s of %d bars\n",
                out["model"].get<std::string>().c_str(), f.count,
                static_cast<unsigned long long>(f.eval_seed), f.eval_parts.c_str(), f.eval_bars);
    std::printf("%-10s %6s %9s %7s %8s %7s %9s %9s\n", "rhythm", "meter", "abc2midi", "bars", "key fit",
                "parts", "in corpus", "ll/token");
    auto row = [](const std::string& name, const nlohmann::json& r) {
        std::printf("%-10s %6s %8.1f%% %6.1f%% %7.1f%% %6.1f%% %8.1f%% %9.3f\n", name.c_str(),
                    r.value("meter", std::string("")).c_str(), 100 * r["abc2midi_clean"].get<double>(),
                    100 * r["meter_ok"].get<double>(), 100 * r["key_fit"].get<double>(),
                    100 * r["parts_ok"].get<double>(), 100 * r["phrases_in_corpus"].get<double>(),
                    r["loglik_per_token"].get<double>());
    };
    for (const auto& [name, r] : out["rhythms"].items()) row(name, r);
    row("total", out["total"]);
    for (const auto& [name, r] : out["rhythms"].items()) {
        if (r.contains("first_fault")) {
            std::printf("%s: first fault: %s\n", name.c_str(), r["first_fault"].get<std::string>().c_str());
        }
    }
}

}  // namespace

void add_tune_command(CLI::App& app) {
    auto f = std::make_shared<TuneFlags>();
    auto* cmd = app.add_subcommand("tune", "Compose a folk tune: ABC, MIDI, WAV and sheet music");
    cmd->add_option("--key", f->key, "key in ABC syntax: D, Em, Ador, Bb, F#m, Gmix (default D)");
    cmd->add_option("--meter", f->meter, "time signature: 6/8, 4/4, 3/4, 2/4, 9/8 (default: the rhythm's)");
    cmd->add_option("--rhythm", f->rhythm,
                    "reel, jig, slip jig, hornpipe, polka, waltz, march, slide, air, mazurka (default reel)");
    cmd->add_option("--bars", f->bars, "bars per part (default 8)");
    cmd->add_option("--parts", f->parts, "part structure: AABB (default), AB, AABBCC...");
    cmd->add_option("--tempo", f->tempo, "quarter notes per minute (default: the rhythm's)");
    cmd->add_option("--title", f->title, "the tune's title (T: field)");
    // --chords alone: the scored harmonizer; --chords model: the model writes them (in the key).
    cmd->add_option("--chords", f->chords,
                    "add chord symbols and an accompaniment: --chords (scored harmonizer) or --chords model "
                    "(the model writes them, diatonic to the key)")
        ->expected(0, 1)
        ->default_str("scored");
    cmd->add_option("--lyrics", f->lyrics, "a text file of words to set, one syllable per note");
    cmd->add_option("--melody", f->melody, "an ABC file to harmonize or set instead of generating");
    cmd->add_option("--write-lyrics", f->write_lyrics,
                    "en or zh: a language model writes the words, one line per 2-bar phrase, one syllable "
                    "per note (with --melody: for that melody)");
    cmd->add_option("--lyrics-model", f->lyrics_model,
                    "GGUF model for --write-lyrics (default models/verse-en.gguf or models/poetry-zh.gguf)");
    add_common_art_flags(cmd, f->st);
    auto* ev = cmd->add_subcommand("eval", "Measure generated tunes: abc2midi, meter, key, parts, novelty");
    ev->add_option("--rhythm", f->eval_rhythm, "one rhythm (default: every rhythm)");
    ev->add_option("--count", f->count, "tunes per rhythm, seeds seed..seed+count-1 (default 100)")
        ->check(whole_between(1, 10000));
    ev->add_option("--bars", f->eval_bars, "bars per part (default 8)");
    ev->add_option("--parts", f->eval_parts, "part structure (default AABB)");
    ev->add_option("--seed", f->eval_seed, "first seed (default 1)");
    ev->add_option("--chords", f->eval_chords, "model: the model writes chords (adds chords per bar)");
    ev->add_option("-m,--model", f->eval_model, "GGUF model (default models/abc-tunes.gguf)");
    ev->add_option("--threads", f->eval_threads, "worker threads (default: all cores)");
    ev->add_flag("--json", f->eval_json, "print the figures as one JSON object");
    ev->callback([f] { run_eval(*f); });
    cmd->callback([f, cmd, ev] {
        if (ev->parsed()) return;
        run_tune_cmd(*f, cmd);
    });
}

}  // namespace lyra::cli
