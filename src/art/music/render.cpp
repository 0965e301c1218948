// MIDI writer, FluidSynth audio and abcm2ps sheet music (render.h).
#include "art/music/render.h"

#include <fluidsynth.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "art/common/data_paths.h"
#include "art/common/process.h"
#include "core/error.h"

namespace lyra::art::music {

Programs programs_for(const std::string& rhythm) {
    std::string r;
    for (char c : rhythm) r += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (r == "hornpipe" || r == "polka" || r == "waltz" || r == "mazurka") return {21, 24, 32};
    if (r == "air" || r == "slow air" || r == "slip jig" || r == "slipjig") return {73, 46, 32};
    if (r == "march") return {56, 25, 33};
    if (r.empty()) return {0, 0, 32};
    return {40, 25, 32};  // reels, jigs, slides: fiddle, steel guitar, acoustic bass
}

namespace {

int64_t to_ticks(const Frac& whole) { return whole.num * 4 * kTicksPerQuarter / whole.den; }

// The beat of a meter in whole notes: a dotted quarter in compound time, else 1/den.
Frac beat_of(const Meter& m) {
    if (m.free) return {1, 4};
    if (m.compound()) return {3, 8};
    return {1, m.beats_den};
}

void put_varlen(std::string& s, uint64_t v) {
    uint8_t buf[10];
    int n = 0;
    buf[n++] = static_cast<uint8_t>(v & 0x7f);
    while (v >>= 7) buf[n++] = static_cast<uint8_t>(0x80 | (v & 0x7f));
    while (n) s += static_cast<char>(buf[--n]);
}

void put_be(std::string& s, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

struct Event {
    int64_t tick;
    int order;  // note-offs before note-ons at the same tick
    std::string bytes;
};

std::string bytes_of(std::initializer_list<int> b) {
    std::string s;
    for (int v : b) s += static_cast<char>(v);
    return s;
}

std::string meta(int type, const std::string& data) {
    std::string s = bytes_of({0xff, type});
    put_varlen(s, data.size());
    return s + data;
}

std::string chunk(const char* id, const std::string& body) {
    std::string s(id, 4);
    put_be(s, body.size(), 4);
    return s + body;
}

std::string track(std::vector<Event> ev, int64_t end_tick) {
    std::stable_sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) {
        return a.tick != b.tick ? a.tick < b.tick : a.order < b.order;
    });
    std::string body;
    int64_t last = 0;
    for (const Event& e : ev) {
        put_varlen(body, static_cast<uint64_t>(e.tick - last));
        body += e.bytes;
        last = e.tick;
    }
    put_varlen(body, static_cast<uint64_t>(std::max<int64_t>(0, end_tick - last)));
    body += meta(0x2f, "");
    return chunk("MTrk", body);
}

std::vector<Event> note_events(const std::vector<MidiNote>& notes, int channel, int program,
                               const std::string& name) {
    std::vector<Event> ev;
    ev.push_back({0, -2, meta(0x03, name)});
    ev.push_back({0, -1, bytes_of({0xc0 | channel, program})});
    for (const MidiNote& n : notes) {
        ev.push_back({n.start, 1, bytes_of({0x90 | channel, n.key, n.velocity})});
        ev.push_back({n.start + n.dur, 0, bytes_of({0x80 | channel, n.key, 0})});
    }
    return ev;
}

int clamp_key(int k) { return std::clamp(k, 0, 127); }

}  // namespace

Arrangement arrange(const Performance& p, const std::string& rhythm) {
    Arrangement a;
    Programs pr = programs_for(rhythm);
    a.program_melody = pr.melody;
    a.program_chords = pr.chords;
    a.program_bass = pr.bass;
    a.tempo_qpm = p.tempo_qpm;
    a.meter = p.meter;
    a.key = p.key;
    a.total_ticks = to_ticks(p.total);
    Frac bar = p.meter.free ? Frac(1) : p.meter.bar;
    for (const PlayedNote& n : p.notes) {
        // Stress the first note of each bar a little.
        bool downbeat = !p.meter.free && (n.start / bar).den == 1;
        a.melody.push_back({0, clamp_key(n.midi), downbeat ? 100 : 84, to_ticks(n.start),
                            std::max<int64_t>(1, to_ticks(n.dur) - 8)});
    }
    Frac beat = beat_of(p.meter);
    bool waltz = !p.meter.free && p.meter.beats_num == 3 && !p.meter.compound();
    for (size_t i = 0; i < p.chords.size(); ++i) {
        std::vector<int> pcs = chord_pitch_classes(p.chords[i].symbol);
        Frac start = p.chords[i].start;
        Frac end = i + 1 < p.chords.size() ? p.chords[i + 1].start : p.total;
        // The bass's main note is the slash bass of an inversion ("C/E" plays E), else the root;
        // it alternates with the chord's fifth as before.
        int root = chord_bass_pc(p.chords[i].symbol);
        int fifth = pcs.size() > 2 ? pcs[2] : pcs[0];
        int k = 0;
        for (Frac t = start; t < end; t = t + beat, ++k) {
            Frac len = std::min(beat, end - t, [](const Frac& x, const Frac& y) { return x < y; });
            int64_t t0 = to_ticks(t), d = std::max<int64_t>(1, to_ticks(len) * 9 / 10);
            // Bass: root on the first beat of the chord and of each bar, fifth between.
            bool on_bar = !p.meter.free && (t / bar).den == 1;
            int bass_pc = (k == 0 || on_bar) ? root : (k % 2 ? fifth : root);
            if (!waltz || on_bar || k == 0) a.bass.push_back({2, 36 + bass_pc, 88, t0, d});
            // Chords: every beat (after the bass in a waltz: the "oom-pah-pah").
            if (waltz && (on_bar || k == 0)) continue;
            for (int pc : pcs) a.chords.push_back({1, 55 + (pc + 5) % 12, 64, t0, d});  // G3..F#4
        }
    }
    return a;
}

std::string write_midi(const Arrangement& a) {
    std::string head;
    put_be(head, 1, 2);  // format 1
    put_be(head, 4, 2);  // tracks
    put_be(head, kTicksPerQuarter, 2);
    std::string out = chunk("MThd", head);

    std::vector<Event> conductor;
    uint32_t uspq = static_cast<uint32_t>(60000000 / std::max(1, a.tempo_qpm));
    std::string tempo;
    put_be(tempo, uspq, 3);
    conductor.push_back({0, 0, meta(0x51, tempo)});
    if (!a.meter.free) {
        int dd = 0;
        while ((1 << dd) < a.meter.beats_den) ++dd;
        int clocks = a.meter.compound() ? 36 : 24 * 4 / a.meter.beats_den;
        conductor.push_back({0, 1, meta(0x58, bytes_of({a.meter.beats_num, dd, clocks, 8}))});
    }
    std::array<int, 7> sig = a.key.signature();
    int sf = 0;
    for (int s : sig) sf += s;
    sf = std::clamp(sf, -7, 7);
    bool minor = a.key.mode == Mode::Minor;
    conductor.push_back({0, 2, meta(0x59, bytes_of({sf & 0xff, minor ? 1 : 0}))});
    out += track(conductor, a.total_ticks);
    out += track(note_events(a.melody, 0, a.program_melody, "melody"), a.total_ticks);
    out += track(note_events(a.chords, 1, a.program_chords, "chords"), a.total_ticks);
    out += track(note_events(a.bass, 2, a.program_bass, "bass"), a.total_ticks);
    return out;
}

std::string find_soundfont() {
    if (const char* env = std::getenv("LYRA_SOUNDFONT"); env && *env) {
        return system_file(env, "timgm6mb-soundfont");
    }
    const char* fallback = "/usr/share/sounds/sf2/default-GM.sf2";
    if (std::filesystem::exists(fallback) && !std::filesystem::exists("/usr/share/sounds/sf2/TimGM6mb.sf2")) {
        return fallback;
    }
    return system_file("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont");
}

double wav_seconds(const Arrangement& a, double tail_s) {
    double sec_per_tick = 60.0 / (a.tempo_qpm * kTicksPerQuarter);
    return static_cast<double>(a.total_ticks) * sec_per_tick + tail_s;
}

std::string render_wav(const Arrangement& a, const std::string& soundfont, int sample_rate,
                       double tail_s) {
    static std::once_flag quiet;
    std::call_once(quiet, [] {
        for (int level : {FLUID_PANIC, FLUID_ERR, FLUID_WARN, FLUID_INFO, FLUID_DBG}) {
            fluid_set_log_function(level, nullptr, nullptr);
        }
    });
    fluid_settings_t* settings = new_fluid_settings();
    if (!settings) throw_error(ErrorKind::Io, "fluidsynth: cannot create settings");
    fluid_settings_setnum(settings, "synth.sample-rate", sample_rate);
    fluid_settings_setint(settings, "synth.threadsafe-api", 0);
    fluid_synth_t* synth = new_fluid_synth(settings);
    struct Guard {
        fluid_settings_t* s;
        fluid_synth_t* y;
        ~Guard() {
            if (y) delete_fluid_synth(y);
            delete_fluid_settings(s);
        }
    } guard{settings, synth};
    if (!synth) throw_error(ErrorKind::Io, "fluidsynth: cannot create a synthesizer");
    if (fluid_synth_sfload(synth, soundfont.c_str(), 1) == FLUID_FAILED) {
        throw_error(ErrorKind::Corrupt, "{}: fluidsynth cannot load this sound font; expected a "
                    "General MIDI .sf2 (Debian timgm6mb-soundfont)", soundfont);
    }
    fluid_synth_program_change(synth, 0, a.program_melody);
    fluid_synth_program_change(synth, 1, a.program_chords);
    fluid_synth_program_change(synth, 2, a.program_bass);

    struct Ev {
        int64_t frame;
        bool on;
        MidiNote n;
    };
    double frames_per_tick = sample_rate * 60.0 / (a.tempo_qpm * kTicksPerQuarter);
    std::vector<Ev> ev;
    for (const auto* list : {&a.melody, &a.chords, &a.bass}) {
        for (const MidiNote& n : *list) {
            ev.push_back({static_cast<int64_t>(std::llround(n.start * frames_per_tick)), true, n});
            ev.push_back({static_cast<int64_t>(std::llround((n.start + n.dur) * frames_per_tick)), false, n});
        }
    }
    std::stable_sort(ev.begin(), ev.end(), [](const Ev& x, const Ev& y) {
        return x.frame != y.frame ? x.frame < y.frame : (!x.on && y.on);
    });
    int64_t total = static_cast<int64_t>(std::llround(wav_seconds(a, tail_s) * sample_rate));
    std::string pcm;
    pcm.resize(static_cast<size_t>(total) * 4);
    auto* out = reinterpret_cast<int16_t*>(pcm.data());
    int64_t pos = 0;
    size_t e = 0;
    while (pos < total) {
        while (e < ev.size() && ev[e].frame <= pos) {
            const MidiNote& n = ev[e].n;
            if (ev[e].on) fluid_synth_noteon(synth, n.channel, n.key, n.velocity);
            else fluid_synth_noteoff(synth, n.channel, n.key);
            ++e;
        }
        int64_t next = e < ev.size() ? std::min(total, ev[e].frame) : total;
        int64_t n = std::min<int64_t>(next - pos, 4096);
        if (n <= 0) n = 1;
        n = std::min(n, total - pos);
        fluid_synth_write_s16(synth, static_cast<int>(n), out + pos * 2, 0, 2, out + pos * 2, 1, 2);
        pos += n;
    }
    std::string wav = "RIFF";
    auto le = [&](uint32_t v, int bytes) {
        for (int i = 0; i < bytes; ++i) wav += static_cast<char>((v >> (8 * i)) & 0xff);
    };
    le(static_cast<uint32_t>(36 + pcm.size()), 4);
    wav += "WAVEfmt ";
    le(16, 4);
    le(1, 2);  // PCM
    le(2, 2);  // stereo
    le(static_cast<uint32_t>(sample_rate), 4);
    le(static_cast<uint32_t>(sample_rate * 4), 4);
    le(4, 2);
    le(16, 2);
    wav += "data";
    le(static_cast<uint32_t>(pcm.size()), 4);
    return wav + pcm;
}

std::string render_svg(const std::string& abc) {
    ProcessResult r = run_process({"abcm2ps", "-q", "-g", "-O", "-", "-"}, abc, 60, "abcm2ps");
    if (r.exit_code != 0 || r.out.find("<svg") == std::string::npos) {
        throw_error(ErrorKind::Io, "abcm2ps: could not engrave the tune (exit {}): {}", r.exit_code,
                    r.err.substr(0, 300));
    }
    // abcm2ps stamps the minute it ran; without it the same tune always gives the same file (the
    // same seed reproduces every artifact, locally or through a remote server).
    std::string& svg = r.out;
    if (const size_t at = svg.find("<!-- CreationDate:"); at != std::string::npos) {
        const size_t end = svg.find("-->", at);
        if (end != std::string::npos) svg.erase(at, end + 3 - at + (svg.compare(end + 3, 1, "\n") == 0 ? 1 : 0));
    }
    return svg;
}

}  // namespace lyra::art::music
