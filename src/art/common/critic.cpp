// Encoder critics shared by every art form (critic.h).
#include "art/common/critic.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace lyra::art {

namespace {

constexpr size_t kCorpusBlocks = 256;  // corpus sample size: enough to find a near copy

double dot(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    return s;
}

std::string trim(std::string s) {
    const auto not_space = [](unsigned char c) { return !std::isspace(c); };
    s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
    s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
    return s;
}

}  // namespace

std::vector<model::TokenId> critic_tokens(const model::EncoderModel& enc, std::string_view text) {
    std::vector<model::TokenId> t = enc.tokenize(text);
    const auto limit = static_cast<size_t>(enc.hparams().n_ctx);
    if (t.size() > limit && limit >= 2) {
        const model::TokenId last = t.back();  // [SEP] (or </s>) closes the cut sequence
        t.resize(limit);
        t.back() = last;
    }
    return t;
}

std::vector<std::vector<float>> corpus_embeddings(const model::EncoderModel& enc,
                                                  const std::string& path, size_t max_blocks,
                                                  core::ThreadPool& pool) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw_error(ErrorKind::NotFound, "critic_corpus: cannot open '{}'; expected a text file",
                    path);
    std::vector<std::vector<model::TokenId>> works;  // embedded as one batch below
    std::string line, block;
    auto flush = [&] {
        block = trim(std::move(block));
        if (!block.empty() && works.size() < max_blocks) works.push_back(critic_tokens(enc, block));
        block.clear();
    };
    while (std::getline(in, line) && works.size() < max_blocks) {
        if (trim(line).empty())
            flush();
        else
            block += line + "\n";
    }
    flush();
    if (works.empty())
        throw_error(ErrorKind::InvalidArgument,
                    "critic_corpus: '{}' holds no text; expected works separated by blank lines",
                    path);
    return enc.embed_batch(works, pool);
}

CriticReference critic_reference(const model::EncoderModel& enc, std::string_view theme,
                                 std::vector<std::vector<float>> corpus, core::ThreadPool& pool) {
    CriticReference ref;
    if (!theme.empty()) ref.theme = enc.embed(critic_tokens(enc, theme), pool);
    ref.corpus = std::move(corpus);
    return ref;
}

CriticFigures judge(const model::EncoderModel& enc, std::string_view text, const CriticReference& ref,
                    core::ThreadPool& pool) {
    const std::string one(text);
    return judge_batch(enc, std::span(&one, 1), ref, pool)[0];
}

std::vector<CriticFigures> judge_batch(const model::EncoderModel& enc,
                                       std::span<const std::string> texts,
                                       const CriticReference& ref, core::ThreadPool& pool) {
    std::vector<std::vector<model::TokenId>> tokens;
    for (const std::string& t : texts) tokens.push_back(critic_tokens(enc, t));
    const std::vector<double> pll = enc.pseudo_log_likelihood_batch(tokens, pool);
    std::vector<std::vector<float>> embeds;
    if (!ref.theme.empty() || !ref.corpus.empty()) embeds = enc.embed_batch(tokens, pool);
    std::vector<CriticFigures> out(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
        CriticFigures& f = out[i];
        size_t scored = 0;
        for (model::TokenId t : tokens[i])
            if (!enc.tokenizer().is_control(t)) ++scored;
        f.fluency = scored == 0 ? 0.0 : pll[i] / static_cast<double>(scored);
        if (embeds.empty()) continue;
        if (!ref.theme.empty()) {
            f.relevance = dot(embeds[i], ref.theme);
            f.has_relevance = true;
        }
        if (!ref.corpus.empty()) {
            double nearest = -1.0;
            for (const auto& c : ref.corpus) nearest = std::max(nearest, dot(embeds[i], c));
            f.novelty = 1.0 - nearest;
            f.has_novelty = true;
        }
    }
    return out;
}

std::string central_sentence(const model::EncoderModel& enc, std::string_view text, core::ThreadPool& pool) {
    std::vector<std::string> sentences;
    std::string cur;
    for (char c : text) {
        if (c != '\n') cur += c;
        if (c == '.' || c == '!' || c == '?' || c == '\n') {
            if (!trim(cur).empty()) sentences.push_back(trim(cur));
            cur.clear();
        }
    }
    if (!trim(cur).empty()) sentences.push_back(trim(cur));
    if (sentences.size() <= 1) return sentences.empty() ? std::string() : sentences[0];
    std::vector<std::vector<model::TokenId>> tokens;
    for (const std::string& s : sentences) tokens.push_back(critic_tokens(enc, s));
    const std::vector<std::vector<float>> e = enc.embed_batch(tokens, pool);
    std::vector<float> mean(e[0].size(), 0.0f);
    for (const std::vector<float>& v : e)
        for (size_t i = 0; i < mean.size(); ++i) mean[i] += v[i];
    size_t best = 0;
    for (size_t i = 1; i < e.size(); ++i)
        if (dot(e[i], mean) > dot(e[best], mean)) best = i;
    return sentences[best];
}

std::vector<std::string> keywords(const model::EncoderModel& enc, std::string_view brief, size_t k,
                                  core::ThreadPool& pool) {
    std::vector<std::string> words;
    std::string cur;
    auto flush = [&] {
        if (cur.size() >= 3 && std::find(words.begin(), words.end(), cur) == words.end()) words.push_back(cur);
        cur.clear();
    };
    for (char c : brief) {
        if (std::isalpha(static_cast<unsigned char>(c)))
            cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        else
            flush();
    }
    flush();
    if (words.empty()) return {};
    std::vector<std::vector<model::TokenId>> tokens = {critic_tokens(enc, brief)};
    for (const std::string& w : words) tokens.push_back(critic_tokens(enc, w));
    const std::vector<std::vector<float>> e = enc.embed_batch(tokens, pool);  // e[0]: the brief
    std::vector<std::pair<double, std::string>> scored;
    for (size_t i = 0; i < words.size(); ++i) scored.emplace_back(dot(e[i + 1], e[0]), words[i]);
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> out;
    for (size_t i = 0; i < scored.size() && i < k; ++i) out.push_back(scored[i].second);
    return out;
}

void apply_encoder_critic(ArtResult& r, const CommonOptions& o, std::string_view theme,
                          Context& ctx) {
    if (o.critic.empty()) return;
    const auto enc = ctx.models->encoder(o.critic);
    std::vector<std::vector<float>> corpus;
    if (!o.critic_corpus.empty()) corpus = corpus_embeddings(*enc, o.critic_corpus, kCorpusBlocks, *ctx.pool);
    const CriticReference ref = critic_reference(*enc, theme, std::move(corpus), *ctx.pool);
    std::vector<std::string> texts;  // the candidates with text, judged as one batch
    std::vector<Candidate*> judged;
    for (Candidate& c : r.candidates) {
        if (c.text.empty()) continue;
        texts.push_back(c.text);
        judged.push_back(&c);
    }
    const std::vector<CriticFigures> figures = judge_batch(*enc, texts, ref, *ctx.pool);
    for (size_t i = 0; i < judged.size(); ++i) {
        Candidate& c = *judged[i];
        const CriticFigures& f = figures[i];
        double total = f.fluency;
        c.scores["critic_fluency"] = f.fluency;
        if (f.has_relevance) {
            c.scores["critic_relevance"] = f.relevance;
            total += 2.0 * f.relevance;
        }
        if (f.has_novelty) {
            c.scores["critic_novelty"] = f.novelty;
            total += f.novelty;
        }
        c.score += o.critic_weight * total;
    }
}

}  // namespace lyra::art
