#!/usr/bin/env bash
# Installs every Debian (and, later, npm) dependency Lyra builds, runs and tests with.
# Idempotent: packages already present are skipped, so a second run costs a few seconds.
set -euo pipefail

# Build tools and libraries (DESIGN.md "Dependencies").
packages=(
  build-essential cmake ninja-build g++ clang libclang-rt-14-dev pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libfmt-dev libcpp-httplib-dev
  libsqlite3-dev libopenblas-dev libutf8proc-dev libpcre2-dev
  # Art forms: Traditional->Simplified, SVG/XML, rasterizing, MIDI->audio with a GM sound font.
  libopencc-dev opencc libpugixml-dev libcairo2-dev libfluidsynth-dev fluidsynth timgm6mb-soundfont
  # Prosody data: Unihan readings (pinyin, Middle Chinese), emoji names, a pinyin dictionary.
  unicode-data golang-github-mozillazg-go-pinyin-dev rime-data-zyenpheng
  # Emoji names in ~140 languages (CLDR annotations), so a subject in any language finds its drawing.
  unicode-cldr-core
  # Outside validators and renderers: abc2midi, abcm2ps (sheet music), rsvg-convert, midicsv, sox;
  # Chromium for the studio page's browser test; a CJK font for rendered Chinese text.
  abcmidi abcm2ps librsvg2-bin midicsv sox chromium fonts-noto-cjk sqlite3 curl
  # Numeric reference for parity tests and benchmarks (run as /usr/bin/python3), never at run time.
  python3-torch python3-numpy
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi
# npm packages the art forms read (corpora, pronunciation, icons) and the web page and e2e tests use
# (package.json at the root, installed into node_modules/).
root="$(cd "$(dirname "$0")/.." && pwd)"
if command -v npm >/dev/null && ! npm ls --prefix "$root" --depth=0 >/dev/null 2>&1; then
  echo "setup: npm install (package.json)"
  npm install --no-audit --no-fund --prefix "$root"
fi
# npm reference tokenizers for tests/unit/tokenizer (pinned in tests/fixtures/npm/package.json).
if command -v npm >/dev/null && [[ ! -d "$(dirname "$0")/../tests/fixtures/npm/node_modules/@huggingface/tokenizers" ]]; then npm install --no-audit --no-fund --prefix "$(dirname "$0")/../tests/fixtures/npm" || echo "setup: npm reference packages not installed; tokenizer reference tests will skip"; fi
