// `lyra demo`: one work of every art form with the embedded models, through the same registry
// (registry.h) the CLI and the server use, a scripted three-turn game excerpt (art/play/game.h),
// plus the original text continuations with the shipped
// Shakespeare model; writes DIR/index.html linking every work, DIR/demo.json, and each work's
// artifacts under DIR/<slug>/. A form that is not built yet, or whose embedded model is missing,
// is shown as such on the page (not a failure); a form that exists but fails is a failure (the
// page is still written, then the caller exits 1). The text model is loaded first: if it is
// missing, nothing at all is written.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "art/common/art.h"

namespace lyra::studio {

struct DemoOptions {
    std::string out_dir = "demo-out";
    std::string text_model;  // "" = the shipped text model
    int threads = 1;         // 0 = all cores
    bool record = true;      // record every work in the gallery (source "demo")
};

struct DemoEntry {
    std::string slug, title, form;
    nlohmann::json request;
    std::string status;   // "ok", "not built", "model missing", "failed"
    std::string message;  // the error for anything but ok
    art::ArtResult result;
    double seconds = 0;
};

struct DemoReport {
    std::vector<DemoEntry> entries;
    std::string index_path, json_path;
    double seconds = 0;
    bool ok() const;  // every entry is ok, not built or model missing
};

DemoReport run_demo(const DemoOptions& opt);

// The summary printed by `lyra demo`: one line per work.
std::string format_demo_summary(const DemoReport& r);

}  // namespace lyra::studio
