// Loss curve CSV/SVG and the model card (see report.h).
#include "train/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "model/model.h"

namespace lyra::train {

float tail_mean(const std::vector<float>& v, size_t n) {
    if (v.empty()) return NAN;
    const size_t k = std::min(n, v.size());
    double s = 0.0;
    for (size_t i = v.size() - k; i < v.size(); ++i) s += static_cast<double>(v[i]);
    return static_cast<float>(s / static_cast<double>(k));
}

std::string loss_csv(const std::vector<float>& train, const std::vector<float>& lr,
                     const std::vector<int64_t>& eval_steps, const std::vector<float>& eval_losses) {
    std::string out = "step,train_loss,lr,val_loss\n";
    size_t e = 0;
    for (size_t i = 0; i < train.size(); ++i) {
        const auto step = static_cast<int64_t>(i + 1);
        std::string val;
        while (e < eval_steps.size() && eval_steps[e] < step) ++e;
        if (e < eval_steps.size() && eval_steps[e] == step)
            val = fmt::format("{:.6f}", static_cast<double>(eval_losses[e]));
        out += fmt::format("{},{:.6f},{:.6g},{}\n", step, static_cast<double>(train[i]),
                           static_cast<double>(i < lr.size() ? lr[i] : 0.0f), val);
    }
    return out;
}

std::string loss_svg(const std::vector<float>& train, const std::vector<int64_t>& eval_steps,
                     const std::vector<float>& eval_losses, const std::string& title) {
    constexpr double W = 800, H = 400, L = 60, R = 20, Tm = 40, Bm = 50;
    float lo = INFINITY, hi = -INFINITY;
    for (float v : train) if (std::isfinite(v)) { lo = std::min(lo, v); hi = std::max(hi, v); }
    for (float v : eval_losses) if (std::isfinite(v)) { lo = std::min(lo, v); hi = std::max(hi, v); }
    if (!std::isfinite(lo)) { lo = 0.0f; hi = 1.0f; }
    if (hi - lo < 1e-6f) hi = lo + 1.0f;
    const double n = std::max<double>(1.0, static_cast<double>(train.size()));
    auto x = [&](double step) { return L + (W - L - R) * step / n; };
    auto y = [&](double v) { return Tm + (H - Tm - Bm) * (1.0 - (v - static_cast<double>(lo)) / static_cast<double>(hi - lo)); };
    std::string s = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\">\n"
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        "<text x=\"{2}\" y=\"24\" font-family=\"sans-serif\" font-size=\"16\">{3}: loss by step</text>\n"
        "<line x1=\"{2}\" y1=\"{4}\" x2=\"{2}\" y2=\"{5}\" stroke=\"black\"/>\n"
        "<line x1=\"{2}\" y1=\"{5}\" x2=\"{6}\" y2=\"{5}\" stroke=\"black\"/>\n",
        W, H, L, title, Tm, H - Bm, W - R);
    for (int i = 0; i <= 4; ++i) {
        const double v = static_cast<double>(lo) + (static_cast<double>(hi - lo) * i) / 4.0;
        s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-family=\"sans-serif\" font-size=\"11\" text-anchor=\"end\">{:.2f}</text>\n",
                         L - 6, y(v) + 4, v);
    }
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"11\" text-anchor=\"end\">{} steps</text>\n",
                     W - R, H - Bm + 18, train.size());
    // Thin the training line to at most ~800 points.
    const size_t stride = std::max<size_t>(1, train.size() / 800);
    s += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"";
    for (size_t i = 0; i < train.size(); i += stride)
        if (std::isfinite(train[i])) s += fmt::format("{:.1f},{:.1f} ", x(static_cast<double>(i + 1)), y(static_cast<double>(train[i])));
    s += "\"/>\n";
    for (size_t i = 0; i < eval_steps.size() && i < eval_losses.size(); ++i)
        if (std::isfinite(eval_losses[i]))
            s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"#ff7f0e\"/>\n",
                             x(static_cast<double>(eval_steps[i])), y(static_cast<double>(eval_losses[i])));
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#1f77b4\">train</text>\n", W - 140, Tm + 10);
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#ff7f0e\">validation</text>\n", W - 90, Tm + 10);
    s += "</svg>\n";
    return s;
}

std::string model_card(const CardInfo& c) {
    const Recipe& r = *c.recipe;
    const TrainConfig& m = *c.config;
    const float train_loss = tail_mean(*c.train_losses, 50);
    const float val_loss = c.eval_losses->empty() ? NAN : c.eval_losses->back();
    std::string files;
    for (const auto& f : r.data_files) files += (files.empty() ? "" : ", ") + fmt::format("`{}`", f);
    std::string s = fmt::format("# {}\n\n{}\n\n", r.name, r.brief.empty() ? "(no brief)" : r.brief);
    if (r.base_model.empty()) {
        s += "Trained from scratch by Lyra's own trainer (`lyra train`, issue 3).\n\n";
    } else {
        s += fmt::format("Fine-tuned by Lyra's own trainer (`lyra train`, issue 3) from the base model "
                         "**{}** (`{}`, sha256 `{}`), whose tokenizer and metadata it keeps.\n\n",
                         c.base_name, r.base_model, c.base_sha256);
    }
    if (c.lora != nullptr) {
        std::string targets;
        for (const auto& t : c.lora->targets) targets += (targets.empty() ? "" : ", ") + t;
        s += fmt::format("This file is a LoRA adapter (rank {}, alpha {}, dropout {}, targets {}); the base "
                         "stays frozen. Run it with `lyra generate -m BASE --lora ADAPTER` or bake it in "
                         "with `lyra model merge`. Parameters below count the adapter.\n\n",
                         c.lora->rank, c.lora->alpha, c.lora->dropout, targets);
    }
    s += "## Model\n\n";
    s += fmt::format("| | |\n|---|---|\n| architecture | {} |\n| parameters | {} ({:.2f} M) |\n",
                     model::arch_name(m.arch), c.n_params, static_cast<double>(c.n_params) / 1e6);
    s += fmt::format("| layers × width | {} × {} |\n| heads (kv heads) | {} ({}) |\n| feed-forward | {} |\n",
                     m.n_layer, m.n_embd, m.n_head, m.n_head_kv, m.n_ff);
    const std::string tokenizer = !r.base_model.empty()       ? "the base model's"
                                  : r.tokenizer_file.empty() ? r.tokenizer
                                                             : "file " + r.tokenizer_file;
    s += fmt::format("| context | {} tokens |\n| tokenizer | {} ({} tokens) |\n| output head | {} |\n\n",
                     m.n_ctx, tokenizer, c.n_vocab, m.tied_output ? "tied to the embedding" : "separate");
    s += "## Data\n\n";
    s += fmt::format("- files: {}\n- {} bytes ({} invalid UTF-8 bytes), {} documents split by blank lines\n",
                     files, c.corpus->n_bytes, c.corpus->n_invalid_utf8,
                     c.corpus->n_train_docs + c.corpus->n_val_docs);
    s += fmt::format("- train: {} documents, {} tokens; validation: {} documents, {} tokens "
                     "(split by document, fraction {}, seed {})\n\n",
                     c.corpus->n_train_docs, c.n_train_tokens, c.corpus->n_val_docs, c.n_val_tokens,
                     r.val_fraction, r.seed);
    s += "## Training\n\n";
    s += fmt::format("- {} steps × {} sequences × {} tokens (grad accumulation {}), AdamW lr {} → {} "
                     "(warmup {}, cosine), weight decay {}, clip {}\n",
                     c.train_losses->size(), r.batch, r.context, r.grad_accum, r.lr, r.min_lr,
                     r.warmup, r.weight_decay, r.grad_clip);
    s += fmt::format("- final train loss {:.4f} (mean of the last 50 steps)\n",
                     static_cast<double>(train_loss));
    s += fmt::format("- final validation loss {:.4f} (perplexity {:.2f})\n",
                     static_cast<double>(val_loss), std::exp(static_cast<double>(val_loss)));
    s += fmt::format("- loss curve: [{}]({}), ![loss]({})\n\n", c.csv_name, c.csv_name, c.svg_name);
    s += "## Sample (temperature 0.8)\n\n```text\n" + c.sample + "\n```\n\n";
    s += "## Recipe\n\n```toml\n" + r.text + (r.text.ends_with('\n') ? "" : "\n") + "```\n";
    return s;
}

}  // namespace lyra::train
