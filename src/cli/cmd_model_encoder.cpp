// `lyra model fill` and `lyra model embed`: the encoder (BERT, RoBERTa, ALBERT) commands. Flags
// here, the work in model/encoder.h.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "model/encoder.h"

namespace lyra::cli {
namespace {

// A token may be part of a UTF-8 character (byte-level vocabularies); such bytes print as U+FFFD
// rather than failing the whole output.
std::string dump(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Loads an encoder; a decoder file gets one line saying what the command needs instead.
std::unique_ptr<model::EncoderModel> load_encoder(const std::string& path, const char* command) {
    try {
        return model::EncoderModel::load(path);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::Unsupported) throw;
        rethrow_with_context(
            e,
            fmt::format("lyra model {} needs an encoder model (bert, roberta, albert)", command));
    }
}

void add_fill(CLI::App& model) {
    struct Flags {
        std::string model, text;
        int top_k = 5, threads = 0;
        bool json = false;
    };
    auto f = std::make_shared<Flags>();
    auto* cmd = model.add_subcommand(
        "fill", "Predict the masked tokens of a text with a masked-LM encoder");
    cmd->add_option("-m,--model", f->model, "Encoder .gguf (bert, roberta, albert)")->required();
    cmd->add_option("TEXT", f->text, "Text with one or more mask tokens ([MASK], <mask>)")
        ->required();
    cmd->add_option("--top-k", f->top_k, "Predictions per mask")
        ->check(whole_between(1, 1000))
        ->capture_default_str();
    cmd->add_option("--threads", f->threads, "Threads (0 = all cores)")->capture_default_str();
    cmd->add_flag("--json", f->json, "One JSON object on stdout");
    cmd->callback([f] {
        const auto m = load_encoder(f->model, "fill");
        if (m->mask() < 0)
            throw_error(ErrorKind::InvalidArgument,
                        "model '{}' has no mask token; it cannot fill masks", f->model);
        const std::string& mask_text = m->tokenizer().token_text(m->mask());
        const std::vector<model::TokenId> ids = m->tokenize(f->text);
        std::vector<int64_t> at;
        for (size_t t = 0; t < ids.size(); ++t)
            if (ids[t] == m->mask()) at.push_back(static_cast<int64_t>(t));
        if (at.empty())
            throw_error(ErrorKind::Usage,
                        "the text has no mask token; write {} where a word should be predicted",
                        mask_text);
        core::ThreadPool pool(f->threads);
        const std::vector<float> logits = m->mlm_logits(ids, pool);
        const int64_t V = m->hparams().n_vocab;
        const auto k = static_cast<size_t>(std::min<int64_t>(f->top_k, V));
        nlohmann::json masks = nlohmann::json::array();
        for (size_t i = 0; i < at.size(); ++i) {
            const float* row = logits.data() + at[i] * V;
            const float mx = *std::max_element(row, row + V);
            double z = 0.0;
            for (int64_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(row[v] - mx));
            std::vector<int32_t> order(static_cast<size_t>(V));
            std::iota(order.begin(), order.end(), 0);
            std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k),
                              order.end(), [row](int32_t a, int32_t b) {
                                  return row[a] > row[b] || (row[a] == row[b] && a < b);
                              });
            nlohmann::json preds = nlohmann::json::array();
            if (!f->json)
                std::printf("mask %zu (token %lld):\n", i + 1, static_cast<long long>(at[i]));
            for (size_t r = 0; r < k; ++r) {
                const int32_t id = order[r];
                const double p = std::exp(static_cast<double>(row[id] - mx)) / z;
                std::string piece = m->tokenizer().decode(std::span(&id, 1));
                if (piece.empty()) piece = m->tokenizer().token_text(id);  // a special token
                preds.push_back({{"token", id}, {"text", piece}, {"prob", p}});
                if (!f->json) std::printf("  %-20s %.4f  (id %d)\n", dump(piece).c_str(), p, id);
            }
            masks.push_back({{"position", at[i]}, {"predictions", preds}});
        }
        if (f->json)
            std::printf("%s\n",
                        dump(nlohmann::json{{"model", f->model}, {"masks", masks}}).c_str());
    });
}

void add_embed(CLI::App& model) {
    struct Flags {
        std::string model;
        std::vector<std::string> texts;
        int threads = 0;
        bool pooler = false;
    };
    auto f = std::make_shared<Flags>();
    auto* cmd = model.add_subcommand(
        "embed", "Sentence embeddings (JSON) from an encoder, with cosine similarities");
    cmd->add_option("-m,--model", f->model, "Encoder .gguf (bert, roberta, albert)")->required();
    cmd->add_option("TEXT", f->texts, "One or more texts")->required();
    cmd->add_option("--threads", f->threads, "Threads (0 = all cores)")->capture_default_str();
    cmd->add_flag("--pooler", f->pooler,
                  "Also print the pooler output (dense + tanh on [CLS]) where the model has one");
    cmd->callback([f] {
        const auto m = load_encoder(f->model, "embed");
        if (f->pooler && !m->hparams().has_pooler)
            throw_error(ErrorKind::InvalidArgument, "--pooler: model '{}' has no pooler", f->model);
        core::ThreadPool pool(f->threads);
        std::vector<std::vector<model::TokenId>> ids;
        for (const std::string& text : f->texts) ids.push_back(m->tokenize(text));
        const auto [embs, pooled] = m->embeddings_batch(ids, pool, f->pooler);  // one pass
        nlohmann::json items = nlohmann::json::array();
        for (size_t i = 0; i < ids.size(); ++i) {
            nlohmann::json item = {
                {"text", f->texts[i]}, {"tokens", ids[i].size()}, {"embedding", embs[i]}};
            if (f->pooler) item["pooler"] = pooled[i];
            items.push_back(std::move(item));
        }
        nlohmann::json out = {{"model", f->model},
                              {"pooling", "mean, L2-normalised"},
                              {"dim", m->hparams().n_embd},
                              {"embeddings", items}};
        if (embs.size() >= 2) {
            // The embeddings are unit vectors, so the dot product is the cosine similarity.
            nlohmann::json sims = nlohmann::json::array();
            for (size_t a = 0; a < embs.size(); ++a) {
                nlohmann::json row = nlohmann::json::array();
                for (size_t b = 0; b < embs.size(); ++b)
                    row.push_back(
                        std::inner_product(embs[a].begin(), embs[a].end(), embs[b].begin(), 0.0));
                sims.push_back(std::move(row));
            }
            out["cosine"] = std::move(sims);
        }
        std::printf("%s\n", dump(out).c_str());
    });
}

}  // namespace

void add_encoder_commands(CLI::App& model) {
    add_fill(model);
    add_embed(model);
}

}  // namespace lyra::cli
