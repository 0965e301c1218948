// The art-form and corpus-builder lists (registry.h). Each form adds its entry here when it
// lands (a form not listed is answered with Unsupported by its callers).
#include "studio/registry.h"

#include "art/poetry/en/en_poem.h"
#include "art/poetry/poem.h"
#include "art/visual/corpus.h"
#include "art/visual/paint.h"
#include "art/story/corpus.h"
#include "art/story/story.h"
#include "art/music/tune.h"
#include "core/error.h"
#include "studio/data_prep.h"
#include "studio/text_form.h"

namespace lyra::studio {

const std::vector<ArtformInfo>& artforms() {
    static const std::vector<ArtformInfo> list = {
        {"poem", "Chinese and English poems that keep their form", art::poetry::write_poem},
        {"tune", "folk tunes as ABC, MIDI, WAV and sheet music", art::music::run_tune},
        {"paint", "vector drawings and abstract compositions", art::visual::paint},
        {"story", "stories and screenplays, planned then written", art::story::run_story},
        {"text", "continues a prompt with a text model (the shipped Shakespeare model)", run_text},
    };
    return list;
}

const ArtformInfo* find_artform(std::string_view name) {
    for (const ArtformInfo& f : artforms()) {
        if (f.name == name) return &f;
    }
    return nullptr;
}

const std::vector<CorpusBuilderInfo>& corpus_builders() {
    static const std::vector<CorpusBuilderInfo> list = {
        {"prose", "English stories and plays from ../shared/data (english-stories, tinyshakespeare), one paragraph per document", art::story::build_prose_corpus},
        {"text", "plain text files, folders or globs, one document per paragraph",
         build_text_corpus},
        {"abc", "folk tunes from ../shared/data's ABC corpora, de-duplicated, with transposed copies", art::music::build_abc_corpus},
        {"english-verse", "English verse from ../shared/data/english-poetry as \"form: ...\" poems", art::poetry::en::build_corpus},
        {"svg-icons", "emoji (npm @twemoji/svg) and icons (npm @tabler/icons) as paint DSL, \"subject: <name/tags>\\n<DSL>\"", art::visual::build_svg_icons_corpus},
        {"chinese-poetry", "Tang 绝句/律诗 and Song 词 from npm chinese-poetry, Simplified, as \"形式:...\\n题:...\" poems", art::poetry::build_zh_corpus},
    };
    return list;
}

const CorpusBuilderInfo* find_corpus_builder(std::string_view name) {
    for (const CorpusBuilderInfo& b : corpus_builders()) {
        if (b.name == name) return &b;
    }
    return nullptr;
}

}  // namespace lyra::studio
