// The tune art form, its evaluation and its corpus builder (tune.h).
#include "art/music/tune.h"
#include "art/common/critic.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_set>

#include "art/common/artifacts.h"
#include "art/common/data_paths.h"
#include "art/common/process.h"
#include "art/music/harmony.h"
#include "art/music/lyrics.h"
#include "art/music/meter.h"
#include "art/music/render.h"
#include "art/music/tune_constraint.h"
#include "core/error.h"
#include "generate/generator.h"

namespace lyra::art::music {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct RhythmInfo {
    const char* name;
    const char* meter;
    int tempo;  // quarter notes per minute
};

constexpr RhythmInfo kRhythms[] = {
    {"reel", "4/4", 200},  {"jig", "6/8", 180},     {"slip jig", "9/8", 180},
    {"hornpipe", "4/4", 150}, {"polka", "2/4", 180}, {"waltz", "3/4", 150},
    {"march", "2/4", 110}, {"slide", "12/8", 200},  {"air", "3/4", 80},
    {"mazurka", "3/4", 140},
};

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

const RhythmInfo* find_rhythm(const std::string& name) {
    std::string n = lower(name);
    if (n == "slipjig" || n == "slip-jig") n = "slip jig";
    if (n == "double jig" || n == "single jig") n = "jig";
    for (const RhythmInfo& r : kRhythms) {
        if (n == r.name) return &r;
    }
    return nullptr;
}

const RhythmInfo& rhythm_or_throw(const std::string& name) {
    if (const RhythmInfo* r = find_rhythm(name)) return *r;
    std::string list;
    for (const RhythmInfo& r : kRhythms) list += std::string(list.empty() ? "" : ", ") + r.name;
    throw_error(ErrorKind::InvalidArgument, "rhythm: unknown rhythm; expected one of {}, got '{}'",
                list, name);
}

std::string read_file(const std::string& path, const char* what) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw_error(ErrorKind::NotFound, "{}: cannot read '{}'; expected a readable file", what, path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string temp_path(const char* ext) {
    static std::atomic<int> counter{0};
    return (fs::temp_directory_path() /
            fmt::format("lyra-tune-{}-{}{}", ::getpid(), counter.fetch_add(1), ext))
        .string();
}

// The request, validated, with defaults filled in.
struct TuneRequest {
    std::string title, rhythm, parts, lyrics, melody;
    std::string write_lyrics, lyrics_model;  // "" none, "en", "zh"; the lyrics model ("" = the default)
    Key key;
    Meter meter;
    int bars = 8, tempo = 0;
    std::string chords;  // "" none, "scored" (harmonize()), "model" (the model writes them)
};

// The "chords" key: false/true (true is the scored harmonizer), "scored" or "model".
std::string parse_chords_mode(const json& r) {
    if (!r.contains("chords")) return {};
    const json& v = r.at("chords");
    if (v.is_boolean()) return v.get<bool>() ? "scored" : "";
    if (v.is_string() && (v == "scored" || v == "model")) return v.get<std::string>();
    throw_error(ErrorKind::InvalidArgument,
                "chords: expected true, false, \"scored\" (the harmonizer) or \"model\" (the model "
                "writes them), got {}",
                v.dump());
}

// Chord symbols in a tune (annotations left out).
int count_chord_symbols(const Tune& t) {
    int n = 0;
    for (const Element& e : t.body) n += e.kind == ElemKind::ChordSymbol && !chord_pitch_classes(e.text).empty();
    return n;
}

TuneRequest parse_request(const json& r) {
    check_keys(r, {"key", "meter", "rhythm", "bars", "parts", "tempo", "title", "chords", "lyrics", "melody",
                   "write_lyrics", "lyrics_model"},
               "tune");
    TuneRequest t;
    const RhythmInfo& rh = rhythm_or_throw(get_string(r, "rhythm", "reel"));
    t.rhythm = rh.name;
    t.key = parse_key(get_string(r, "key", "D"));
    if (t.key.none) throw_error(ErrorKind::InvalidArgument, "key: a generated tune needs a key; got 'none'");
    t.meter = parse_meter(get_string(r, "meter", rh.meter));
    if (t.meter.free) throw_error(ErrorKind::InvalidArgument, "meter: a generated tune needs a meter; got 'none'");
    t.bars = static_cast<int>(get_int(r, "bars", 8, 1, 64));
    t.parts = get_string(r, "parts", "AABB");
    t.tempo = static_cast<int>(get_int(r, "tempo", rh.tempo, 20, 400));
    t.title = get_string(r, "title", "Lyra's " + std::string(rh.name));
    for (char c : t.title) {
        if (c == '\n' || c == '\r') throw_error(ErrorKind::InvalidArgument, "title: expected one line");
    }
    t.chords = parse_chords_mode(r);
    t.lyrics = get_string(r, "lyrics");
    t.melody = get_string(r, "melody");
    t.write_lyrics = get_string(r, "write_lyrics");
    t.lyrics_model = get_string(r, "lyrics_model");
    if (r.contains("write_lyrics")) lyrics_model_file(t.write_lyrics);  // validates the language
    if (!t.write_lyrics.empty() && !t.lyrics.empty()) {
        throw_error(ErrorKind::InvalidArgument,
                    "write_lyrics: the model writes the words, but --lyrics '{}' gives them; expected one of "
                    "--lyrics FILE and --write-lyrics LANG",
                    t.lyrics);
    }
    if (!t.lyrics_model.empty() && t.write_lyrics.empty()) {
        throw_error(ErrorKind::InvalidArgument,
                    "lyrics_model: '{}' is the model that writes lyrics; expected --write-lyrics en|zh with it",
                    t.lyrics_model);
    }
    if (t.chords == "model" && !t.melody.empty()) {
        throw_error(ErrorKind::InvalidArgument,
                    "chords: 'model' has the model write chords while it composes, but --melody '{}' is "
                    "given, not composed; expected --chords (the scored harmonizer) with --melody",
                    t.melody);
    }
    parse_parts(t.parts, t.bars);  // validates
    return t;
}

json request_json(const TuneRequest& t, const CommonOptions& c) {
    json j = common_to_json(c);
    j["form"] = "tune";
    j["key"] = t.key.str();
    j["meter"] = t.meter.str();
    j["rhythm"] = t.rhythm;
    j["bars"] = t.bars;
    j["parts"] = t.parts;
    j["tempo"] = t.tempo;
    j["title"] = t.title;
    j["chords"] = t.chords.empty() ? json(false) : t.chords == "scored" ? json(true) : json(t.chords);
    if (!t.lyrics.empty()) j["lyrics"] = t.lyrics;
    if (!t.melody.empty()) j["melody"] = t.melody;
    if (!t.write_lyrics.empty()) j["write_lyrics"] = t.write_lyrics;
    if (!t.lyrics_model.empty()) j["lyrics_model"] = t.lyrics_model;
    return j;
}

std::string cmu_index() {
    try {
        std::string p = npm_package_dir("cmu-pronouncing-dictionary") + "/index.js";
        return fs::exists(p) ? p : std::string();
    } catch (const Error&) {
        return {};  // the vowel-group syllabifier alone
    }
}

// The sections of a written tune: "AABB" for |:A:| |:B:|.
std::string detect_parts(const Tune& t) {
    std::string out;
    bool any = false;
    char next = 'A';
    for (const Element& e : t.body) {
        if (e.kind == ElemKind::Note || e.kind == ElemKind::Chord) any = true;
        if (e.kind != ElemKind::Bar || !any) continue;
        bool rep = e.text.find(":|") != std::string::npos || e.text == "::";
        if (rep || e.text == "||" || e.text == "|]") {
            out += next;
            if (rep) out += next;
            ++next;
            any = false;
        }
    }
    if (any) out += next;
    return out;
}

struct Scored {
    std::string abc;
    json scores;
    double score = 0;
};

Scored score_tune(const Tune& t, const Key& key, double loglik_per_token) {
    Scored s;
    s.abc = write_abc(t);
    MeterReport m = check_meter(t);
    Performance p = perform(t);
    double fit = key_fit(p, key);
    s.scores = {{"meter_ok", m.ok() ? 1 : 0}, {"key_fit", fit}, {"bars", m.bars.size()},
                {"parts", detect_parts(t)}};
    if (loglik_per_token != 0) s.scores["loglik_per_token"] = loglik_per_token;
    s.score = loglik_per_token + fit + (m.ok() ? 0.0 : -100.0);
    return s;
}

// Generation: one TuneConstraint per run, candidates ranked afterwards.
struct Generated {
    std::vector<std::string> bodies;
    std::vector<double> loglik_per_token;
};

Generated generate_bodies(const std::string& prompt, const TuneSpec& spec_in, const CommonOptions& common,
                          const model::Model& model, Context& ctx) {
    int64_t n_ctx = model.hparams().n_ctx;
    int64_t prompt_tokens = static_cast<int64_t>(model.tokenizer().encode(prompt, true).size());
    int max_tokens = static_cast<int>(std::min<int64_t>(4096, n_ctx - prompt_tokens));
    TuneSpec spec = spec_in;
    spec.max_tokens = max_tokens;
    TuneConstraint constraint(spec, model.tokenizer());
    if (max_tokens < 1 || constraint.min_tokens() > max_tokens) {
        throw_error(ErrorKind::ContextFull,
                    "tune: the tune needs at least {} tokens but the model's context ({}) leaves {} "
                    "after the header; expected fewer --bars or --parts",
                    constraint.min_tokens(), n_ctx, max_tokens);
    }
    gen::GenerateOptions opt = generate_options(common, max_tokens);
    opt.constraint = &constraint;
    gen::Generator g(model, *ctx.pool);
    gen::StreamFn stream;
    if (ctx.on_text) stream = [&](int, std::string_view piece) { return ctx.on_text(piece); };
    gen::GenerateResult res = g.run(prompt, opt, stream);
    Generated out;
    for (const gen::Completion& c : res.candidates) {
        out.bodies.push_back(c.text);
        double n = static_cast<double>(std::max<size_t>(1, c.token_logprobs.size()));
        out.loglik_per_token.push_back(c.logprob_sum() / n);
    }
    return out;
}

}  // namespace

std::string tune_header(const std::string& title, const std::string& rhythm, const Meter& meter,
                        int tempo_qpm, const Key& key) {
    return fmt::format("X:1\nT:{}\nR:{}\nM:{}\nL:1/8\nQ:1/4={}\nK:{}\n", title, rhythm, meter.str(),
                       tempo_qpm, key.str());
}

bool abc2midi_clean(const std::string& abc, std::string* detail) {
    std::string in = temp_path(".abc"), out = temp_path(".mid");
    {
        std::ofstream f(in, std::ios::binary);
        f << abc;
    }
    ProcessResult r;
    try {
        r = run_process({"abc2midi", in, "-o", out}, {}, 60, "abcmidi");
    } catch (...) {
        fs::remove(in);
        throw;
    }
    fs::remove(in);
    fs::remove(out);
    std::string all = r.out + "\n" + r.err;
    bool clean = r.exit_code == 0;
    std::istringstream lines(all);
    std::string line;
    while (std::getline(lines, line)) {
        bool bad = line.find("Error") != std::string::npos ||
                   (line.find("Warning") != std::string::npos &&
                    (line.find("time units") != std::string::npos || line.find("Bar") != std::string::npos));
        if (bad) {
            if (detail && detail->empty()) *detail = line;
            clean = false;
        }
    }
    if (!clean && detail && detail->empty()) *detail = fmt::format("abc2midi exited {}", r.exit_code);
    return clean;
}

ArtResult run_tune(const json& request, Context& ctx) {
    TuneRequest tr = parse_request(request);
    CommonOptions common = parse_common(request);
    std::vector<PartPlan> parts = parse_parts(tr.parts, tr.bars);

    // Everything that can fail on bad input is checked before any work.
    std::vector<Syllable> syllables;
    if (!tr.lyrics.empty()) {
        std::string words = read_file(tr.lyrics, "lyrics");
        try {
            syllables = syllabify(words, cmu_index());
        } catch (const Error& e) {
            throw_error(ErrorKind::InvalidArgument, "lyrics: '{}' has no words to set; expected English "
                        "words or Chinese characters", tr.lyrics);
        }
    }
    std::optional<Tune> given;
    if (!tr.melody.empty()) {
        given = parse_tune(read_file(tr.melody, "melody"), tr.melody, true);
        MeterReport m = check_meter(*given);
        if (!m.ok()) {
            throw_error(ErrorKind::Corrupt, "{}: {}; expected every bar to fill the meter", tr.melody,
                        m.faults[0].message);
        }
        if (!tr.write_lyrics.empty() && count_sung_notes(*given) == 0) {
            throw_error(ErrorKind::InvalidArgument,
                        "write_lyrics: the melody '{}' has no notes to sing; expected a tune with at least one "
                        "note that is not a rest",
                        tr.melody);
        }
    }
    // The lyrics model loads before any work, so a missing one fails fast.
    std::shared_ptr<const model::Model> lyrics_model;
    if (!tr.write_lyrics.empty()) {
        CommonOptions lc;
        lc.model = tr.lyrics_model;
        const std::string path = resolve_model(lc, lyrics_model_file(tr.write_lyrics));
        lyrics_model = ctx.models->get(path);
    }
    std::string soundfont;
    if (!ctx.out_dir.empty()) {
        soundfont = find_soundfont();
        if (find_program("abcm2ps").empty()) {
            throw_error(ErrorKind::NotFound, "abcm2ps: not installed; expected the Debian package abcm2ps "
                        "(apt-get install abcm2ps)");
        }
    }

    ArtResult result;
    result.form = "tune";
    result.seed = common.seed;
    result.request = request_json(tr, common);
    std::vector<Tune> tunes;
    std::vector<double> logliks;
    if (given) {
        tunes.push_back(*given);
        logliks.push_back(0);
    } else {
        std::string model_path;
        try {
            model_path = resolve_model(common, kTuneModelFile);
        } catch (const Error& e) {
            if (tr.chords != "model") throw;
            throw_error(ErrorKind::NotFound,
                        "chords: 'model' has the model write the chords, but there is no model: {}; "
                        "expected -m MODEL.gguf, or --chords alone for the scored harmonizer",
                        e.what());
        }
        std::shared_ptr<const model::Model> model = ctx.models->get(model_path);
        result.model = model_path;
        result.model_sha256 = ctx.models->sha256(model_path);
        TuneSpec spec;
        spec.meter = tr.meter;
        spec.unit = {1, 8};
        spec.key = tr.key;
        spec.parts = parts;
        spec.min_notes = static_cast<int>(syllables.size());
        spec.broken_rhythm = tr.rhythm != "hornpipe";
        if (tr.chords == "model") spec.chords = key_chords(tr.key);
        std::string header = tune_header(tr.title, tr.rhythm, tr.meter, tr.tempo, tr.key);
        Generated g = generate_bodies(header, spec, common, *model, ctx);
        for (size_t i = 0; i < g.bodies.size(); ++i) {
            try {
                Tune t = parse_tune(header + g.bodies[i], "generated", true);
                if (!check_meter(t).ok() || detect_parts(t) != tr.parts) continue;  // unfinished
                tunes.push_back(std::move(t));
                logliks.push_back(g.loglik_per_token[i]);
            } catch (const Error&) {
                // an unfinished candidate (budget or cancel): left out
            }
        }
        if (tunes.empty()) {
            throw_error(ErrorKind::ContextFull, "tune: no candidate finished within the model's context; "
                        "expected fewer --bars");
        }
    }
    std::map<std::string, std::string> written_words;  // candidate ABC -> its model-written lyrics
    for (size_t i = 0; i < tunes.size(); ++i) {
        Tune& t = tunes[i];
        if (!syllables.empty()) set_lyrics(t, syllables);
        double lyrics_loglik = 0;
        std::string words;
        if (lyrics_model) {
            // One line per phrase, as many syllables as the phrase has notes (lyrics.h).
            const std::vector<int> counts = phrase_syllables(t);
            const std::string title = given && !t.field('T').empty() ? t.field('T') : tr.title;
            LyricsOptions lo{.language = tr.write_lyrics, .title = title, .common = common};
            lo.common.seed = common.seed + i;
            const WrittenLyrics wl = write_lyrics(counts, lo, *lyrics_model, ctx);
            set_lyrics(t, lyric_syllables(wl.lines, counts, tr.write_lyrics));
            lyrics_loglik = wl.logprob_sum / std::max(1, wl.tokens);
            for (const std::string& line : wl.lines) words += line + "\n";
        }
        if (tr.chords == "scored") harmonize(t);  // "model": the model's own chords stay
        Scored s = score_tune(t, given ? parse_key(t.field('K')) : tr.key, logliks[i]);
        if (!tr.chords.empty()) s.scores["chords"] = count_chord_symbols(t);
        if (lyrics_model) {
            s.scores["lyrics"] = words;  // one line per phrase, as lyrics.txt holds them
            s.scores["lyrics_loglik_per_token"] = lyrics_loglik;
            written_words[s.abc] = words;
        }
        result.candidates.push_back({s.abc, s.scores, s.score});
    }
    apply_encoder_critic(result, common, tr.title, ctx);
    rank_candidates(result);

    if (!ctx.out_dir.empty()) {
        Tune best = parse_tune(result.text, "tune", true);
        Performance perf = perform(best);
        if (!given) perf.tempo_qpm = tr.tempo;
        std::string rhythm = given ? lower(best.field('R')) : tr.rhythm;
        Arrangement arr = arrange(perf, rhythm);
        std::string midi = write_midi(arr);
        std::string wav = render_wav(arr, soundfont);
        std::string svg = render_svg(result.text);
        ArtifactSet files(ctx.out_dir);
        files.add("abc", "tune.abc", result.text);
        files.add("mid", "tune.mid", midi);
        files.add("wav", "tune.wav", wav);
        files.add("svg", "tune.svg", svg);
        if (lyrics_model) files.add("txt", "lyrics.txt", written_words[result.text]);
        result.files = files.commit();
        result.scores["wav_seconds"] = wav_seconds(arr);
    }
    return result;
}

// --- evaluation ------------------------------------------------------------------------------

namespace {

// 2-bar phrases as (pitch above the tonic, length) sequences, transposition-free.
std::vector<std::string> phrases(const Tune& t) {
    std::vector<std::string> out;
    int tonic = 0;
    try {
        tonic = parse_key(t.field('K')).tonic_pc();
    } catch (const Error&) {
        return out;
    }
    std::vector<std::string> bars;
    for (const WrittenNote& n : written_notes(t)) {
        if (static_cast<size_t>(n.bar) >= bars.size()) bars.resize(static_cast<size_t>(n.bar) + 1);
        std::string& b = bars[static_cast<size_t>(n.bar)];
        b += n.midi.empty() ? std::string("r") : std::to_string(n.midi[0] - tonic);
        b += ':' + n.dur.str() + ' ';
    }
    for (size_t i = 0; i + 1 < bars.size(); ++i) {
        if (!bars[i].empty() && !bars[i + 1].empty()) out.push_back(bars[i] + "|" + bars[i + 1]);
    }
    return out;
}

const std::unordered_set<std::string>& corpus_phrases() {
    static std::once_flag once;
    static std::unordered_set<std::string> set;
    std::call_once(once, [] {
        fs::path root = shared_data_dir();
        for (const char* dir : {"nottingham-abc", "oneills-1850-abc"}) {
            if (!fs::exists(root / dir)) continue;
            for (const auto& entry : fs::directory_iterator(root / dir)) {
                if (entry.path().extension() != ".abc") continue;
                std::vector<Tune> tunes = parse_abc(read_file(entry.path().string(), "corpus"), "corpus", false);
                for (const Tune& t : tunes) {
                    try {
                        for (std::string& p : phrases(t)) set.insert(std::move(p));
                    } catch (const Error&) {
                    }
                }
            }
        }
    });
    return set;
}

}  // namespace

json eval_tunes(const json& request, Context& ctx) {
    check_keys(request, {"rhythm", "count", "bars", "parts", "chords"}, "tune eval");
    std::string chords_mode = parse_chords_mode(request);
    if (chords_mode == "scored") {
        throw_error(ErrorKind::InvalidArgument, "chords: tune eval measures model-written chords only; "
                    "expected \"model\" or none");
    }
    CommonOptions common = parse_common(request);
    std::string only = get_string(request, "rhythm");
    int count = static_cast<int>(get_int(request, "count", 100, 1, 10000));
    int bars = static_cast<int>(get_int(request, "bars", 8, 1, 64));
    std::string parts_s = get_string(request, "parts", "AABB");
    std::vector<PartPlan> parts = parse_parts(parts_s, bars);
    std::vector<const RhythmInfo*> rhythms;
    if (only.empty()) {
        for (const RhythmInfo& r : kRhythms) rhythms.push_back(&r);
    } else {
        rhythms.push_back(&rhythm_or_throw(only));
    }
    std::string model_path = resolve_model(common, kTuneModelFile);
    std::shared_ptr<const model::Model> model = ctx.models->get(model_path);
    const auto& corpus = corpus_phrases();
    static const char* keys[] = {"D", "G", "A", "Em", "Ador", "Dmix", "Bm", "C", "F", "Gm"};
    json out = {{"model", model_path}, {"count", count}, {"rhythms", json::object()}};
    double t_clean = 0, t_meter = 0, t_fit = 0, t_parts = 0, t_novel = 0, t_ll = 0, t_cpb = 0;
    int t_n = 0;
    for (const RhythmInfo* rh : rhythms) {
        double clean = 0, meter = 0, fit = 0, parts_ok = 0, novel = 0, ll = 0, chords_per_bar = 0;
        std::string first_fault;
        for (int i = 0; i < count; ++i) {
            CommonOptions c = common;
            c.seed = common.seed + static_cast<uint64_t>(i);
            c.n = 1;
            Key key = parse_key(keys[i % 10]);
            Meter m = parse_meter(rh->meter);
            TuneSpec spec;
            spec.meter = m;
            spec.key = key;
            spec.parts = parts;
            spec.broken_rhythm = std::string(rh->name) != "hornpipe";
            if (chords_mode == "model") spec.chords = key_chords(key);
            std::string header = tune_header(fmt::format("Eval {}", i + 1), rh->name, m, rh->tempo, key);
            Generated g = generate_bodies(header, spec, c, *model, ctx);
            std::string abc = header + g.bodies[0];
            std::string detail;
            bool ok = abc2midi_clean(abc, &detail);
            clean += ok;
            if (!ok && first_fault.empty()) first_fault = detail;
            try {
                Tune t = parse_tune(abc, "generated", true);
                meter += check_meter(t).ok();
                fit += key_fit(perform(t), key);
                parts_ok += detect_parts(t) == parts_s;
                MeterReport mr = check_meter(t);
                if (!mr.bars.empty()) {
                    chords_per_bar += count_chord_symbols(t) / static_cast<double>(mr.bars.size());
                }
                std::vector<std::string> ph = phrases(t);
                double found = 0;
                for (const std::string& p : ph) found += corpus.count(p) ? 1 : 0;
                novel += ph.empty() ? 0 : found / static_cast<double>(ph.size());
            } catch (const Error& e) {
                if (first_fault.empty()) first_fault = e.what();
            }
            ll += g.loglik_per_token[0];
        }
        double n = count;
        json r = {{"count", count}, {"meter", rh->meter}, {"abc2midi_clean", clean / n},
                  {"meter_ok", meter / n}, {"key_fit", fit / n}, {"parts_ok", parts_ok / n},
                  {"phrases_in_corpus", novel / n}, {"loglik_per_token", ll / n}};
        if (!chords_mode.empty()) r["chords_per_bar"] = chords_per_bar / n;
        if (!first_fault.empty()) r["first_fault"] = first_fault;
        out["rhythms"][rh->name] = r;
        t_clean += clean, t_meter += meter, t_fit += fit, t_parts += parts_ok, t_novel += novel, t_ll += ll;
        t_cpb += chords_per_bar;
        t_n += count;
    }
    double n = t_n;
    out["total"] = {{"count", t_n}, {"abc2midi_clean", t_clean / n}, {"meter_ok", t_meter / n},
                    {"key_fit", t_fit / n}, {"parts_ok", t_parts / n},
                    {"phrases_in_corpus", t_novel / n}, {"loglik_per_token", t_ll / n}};
    if (!chords_mode.empty()) out["total"]["chords_per_bar"] = t_cpb / n;
    return out;
}

// --- transposition and the corpus -----------------------------------------------------------

bool transpose_tune(Tune& tune, int semitones, bool keep_chords) {
    if (semitones == 0) return true;
    Key old;
    try {
        old = parse_key(tune.field('K'));
    } catch (const Error&) {
        return false;
    }
    if (old.none) return false;
    for (int e : old.extra) {
        if (e != kNoAccidental) return false;
    }
    for (const Element& e : tune.body) {
        if ((e.kind == ElemKind::Field || e.kind == ElemKind::InlineField) && !e.text.empty() && e.text[0] == 'K') {
            return false;
        }
    }
    // The new tonic: the spelling with the fewest sharps or flats.
    int pc = ((old.tonic_pc() + semitones) % 12 + 12) % 12;
    Key best;
    int best_cost = 99;
    for (char l : std::string("CDEFGAB")) {
        for (int acc = -1; acc <= 1; ++acc) {
            if (((letter_semitone(l) + acc) % 12 + 12) % 12 != pc) continue;
            Key k = old;
            k.tonic = l;
            k.tonic_acc = acc;
            int cost = 0;
            for (int s : k.signature()) cost += std::abs(s) * (std::abs(s) > 1 ? 10 : 1);
            if (cost < best_cost) best_cost = cost, best = k;
        }
    }
    if (best_cost > 6) return false;
    int steps = (letter_index(best.tonic) - letter_index(old.tonic) + 7) % 7;
    if (semitones < 0 && steps != 0) steps -= 7;
    static const char letters[] = "CDEFGAB";
    std::array<int, 7> old_sig = old.signature(), new_sig = best.signature();
    auto move = [&](Pitch& p) {
        int abs_old = letter_index(p.letter) + 7 * p.octave;
        int abs_new = abs_old + steps;
        int nl = ((abs_new % 7) + 7) % 7;
        int no = (abs_new - nl) / 7;
        int old_acc = p.acc != kNoAccidental ? p.acc : old_sig[static_cast<size_t>(letter_index(p.letter))];
        int old_pitch = letter_semitone(p.letter) + 12 * p.octave + old_acc;
        int new_nat = letter_semitone(letters[nl]) + 12 * no;
        int acc = old_pitch + semitones - new_nat;
        if (acc < -2 || acc > 2 || no < -3 || no > 4) return false;
        if (p.acc == kNoAccidental && acc != new_sig[static_cast<size_t>(nl)]) return false;
        p.letter = letters[nl];
        p.octave = no;
        if (p.acc != kNoAccidental) p.acc = acc;
        return true;
    };
    Tune out = tune;
    std::vector<Element> body;
    for (Element& e : out.body) {
        if (e.kind == ElemKind::ChordSymbol) {
            if (!keep_chords) continue;
            e.text = transpose_chord(e.text, steps, semitones);
            if (e.text.empty()) continue;  // an annotation
        }
        for (Note& n : e.notes) {
            if (n.rest) continue;
            if (!move(n.pitch)) return false;
        }
        body.push_back(std::move(e));
    }
    out.body = std::move(body);
    for (auto& [k, v] : out.header) {
        if (k == 'K') v = best.str();
    }
    tune = std::move(out);
    return true;
}

namespace {

// The corpus form of a tune: the conditioning header, L:1/8, the melody alone. Empty when the
// tune does not fit the form (no meter, meter or key changes inside, an odd unit length).
std::string corpus_document(Tune t, const std::string& file_stem, bool keep_chords) {
    Meter m;
    Key k;
    Frac unit;
    try {
        if (!t.has_field('M') || !t.has_field('K')) return {};
        m = parse_meter(t.field('M'));
        if (m.free) return {};
        k = parse_key(t.field('K'));
        if (k.none) return {};
        unit = t.has_field('L') ? parse_unit(t.field('L')) : default_unit(m);
    } catch (const Error&) {
        return {};
    }
    std::string rhythm;
    if (const RhythmInfo* r = find_rhythm(t.field('R'))) rhythm = r->name;
    if (rhythm.empty()) {
        std::string s = lower(file_stem);
        if (s.rfind("jig", 0) == 0) rhythm = "jig";
        else if (s.rfind("reel", 0) == 0) rhythm = "reel";
        else if (s.rfind("hpps", 0) == 0) rhythm = "hornpipe";
        else if (s.rfind("slip", 0) == 0) rhythm = "slip jig";
        else if (s.rfind("waltz", 0) == 0) rhythm = "waltz";
    }
    if (rhythm.empty()) {
        std::string ms = m.str();
        rhythm = ms == "6/8" ? "jig" : ms == "9/8" ? "slip jig" : ms == "2/4" ? "polka" : ms == "12/8" ? "slide"
               : ms == "3/4" ? "waltz" : ms == "4/4" || ms == "2/2" ? "reel" : "air";
    }
    Frac scale = unit / Frac(1, 8);
    std::vector<Element> body;
    for (Element& e : t.body) {
        switch (e.kind) {
            case ElemKind::Field:
            case ElemKind::InlineField:
                if (!e.text.empty() && (e.text[0] == 'K' || e.text[0] == 'M' || e.text[0] == 'L')) return {};
                continue;
            case ElemKind::ChordSymbol:
                if (!keep_chords) continue;
                e.text = transpose_chord(e.text, 0, 0);  // the canonical spelling
                if (e.text.empty()) continue;            // an annotation
                break;
            case ElemKind::Decoration:
            case ElemKind::Grace:
            case ElemKind::SlurOpen:
            case ElemKind::SlurClose:
            case ElemKind::Overlay:
            case ElemKind::Spacer:
                continue;
            case ElemKind::Note:
                if (e.notes[0].rest != 'Z' && e.notes[0].rest != 'X') e.notes[0].len = e.notes[0].len * scale;
                break;
            case ElemKind::Chord:
                e.len = e.len * scale;
                break;
            case ElemKind::Space:
                // (Nor after a chord symbol: the symbol goes right before its note, the only
                // place TuneConstraint lets a model write one.)
                if (body.empty() || body.back().kind == ElemKind::Space || body.back().kind == ElemKind::LineBreak ||
                    body.back().kind == ElemKind::ChordSymbol) {
                    continue;
                }
                break;
            case ElemKind::LineBreak:
                while (!body.empty() && body.back().kind == ElemKind::Space) body.pop_back();
                if (body.empty() || body.back().kind == ElemKind::LineBreak) continue;
                e.flag = false;
                break;
            default: break;
        }
        body.push_back(std::move(e));
    }
    if (body.empty()) return {};
    if (body.back().kind != ElemKind::LineBreak) body.push_back(Element{ElemKind::LineBreak});
    std::string title = t.field('T');
    int tempo = find_rhythm(rhythm) ? find_rhythm(rhythm)->tempo : 120;
    return tune_header(title.empty() ? "Untitled" : title, rhythm, m, tempo, k) + write_body(body);
}

}  // namespace

void build_abc_corpus(const json& options, const std::function<void(std::string)>& emit) {
    std::vector<std::string> dirs = {"nottingham-abc", "oneills-1850-abc"};
    if (options.contains("dirs")) dirs = options.at("dirs").get<std::vector<std::string>>();
    std::vector<int> shifts = {-2, 2, 5};
    if (options.contains("transpose")) shifts = options.at("transpose").get<std::vector<int>>();
    bool chords = options.value("chords", false);
    // O'Neill's files that repeat tunes of other files (SOURCE.md).
    static const std::set<std::string> skip = {"0626-0635.abc", "0732-0758_mh.abc", "1116-1135_ml.abc",
                                               "1556-1576.abc", "1577-1624.abc", "1710-1750.abc"};
    fs::path root = shared_data_dir();
    std::unordered_set<std::string> seen;
    for (const std::string& d : dirs) {
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(root / d)) {
            if (entry.path().extension() == ".abc" && !skip.count(entry.path().filename().string())) {
                files.push_back(entry.path());
            }
        }
        std::sort(files.begin(), files.end());
        for (const fs::path& f : files) {
            for (Tune& t : parse_abc(read_file(f.string(), "corpus"), f.string(), false)) {
                std::string doc = corpus_document(t, f.stem().string(), chords);
                if (doc.empty()) continue;
                // De-duplicate by melody (the body), whatever the title.
                std::string body = doc.substr(doc.find("\nK:") + 1);
                body = body.substr(body.find('\n') + 1);
                std::string sig = t.field('K') + "|" + body;
                if (!seen.insert(sig).second) continue;
                emit(doc);
                for (int s : shifts) {
                    Tune u = parse_tune(doc, "corpus", true);
                    if (transpose_tune(u, s, chords)) emit(write_abc(u));
                }
            }
        }
    }
}

}  // namespace lyra::art::music
