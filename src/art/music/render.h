// Rendering a tune: Standard MIDI File (type 1: conductor, melody, chords, bass), audio through
// FluidSynth with Debian's General MIDI sound font, and sheet music through abcm2ps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "art/music/meter.h"

namespace lyra::art::music {

// One note of any track, in MIDI ticks.
struct MidiNote {
    int channel = 0;
    int key = 60;
    int velocity = 90;
    int64_t start = 0, dur = 0;
};

struct Arrangement {
    std::vector<MidiNote> melody, chords, bass;
    int program_melody = 40, program_chords = 24, program_bass = 32;
    int tempo_qpm = 120;
    Meter meter = {};
    Key key = {};
    int64_t total_ticks = 0;
};

constexpr int kTicksPerQuarter = 480;

// General MIDI programs for a rhythm ("reel" -> violin, "hornpipe" -> accordion, "air" -> flute,
// "march" -> trumpet, "waltz" -> accordion...): melody, chords, bass.
struct Programs {
    int melody, chords, bass;
};
Programs programs_for(const std::string& rhythm);

// The melody plus, from its chord symbols, an accompaniment suited to the meter: the bass plays
// root (a slash chord's bass note: "C/E" plays E) and fifth on the beats, the chords sound on each beat (3 beats of a waltz after the bass,
// the dotted-quarter pulse of a jig, the half-bar pulse of a reel).
Arrangement arrange(const Performance& p, const std::string& rhythm);

// SMF type 1, 480 ticks per quarter: track 0 tempo, time signature, key signature; tracks 1-3
// melody, chords, bass (each with its program change).
std::string write_midi(const Arrangement& a);

// The GM sound font: $LYRA_SOUNDFONT, else /usr/share/sounds/sf2/TimGM6mb.sf2, else
// default-GM.sf2. Throws Error(NotFound) naming the Debian package timgm6mb-soundfont.
std::string find_soundfont();

// 16-bit stereo WAV at `sample_rate`, the arrangement played through FluidSynth, with
// `tail_s` seconds after the last note for the release. Throws Error(Io/NotFound).
std::string render_wav(const Arrangement& a, const std::string& soundfont, int sample_rate = 44100,
                       double tail_s = 1.0);
// The WAV's length in seconds for an arrangement (what render_wav produces).
double wav_seconds(const Arrangement& a, double tail_s = 1.0);

// Sheet music: the tune engraved by abcm2ps (Debian abcm2ps) as SVG. Throws Error.
std::string render_svg(const std::string& abc);

}  // namespace lyra::art::music
