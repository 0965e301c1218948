// minimal_generate: the whole token loop through liblyra, greedy, in one screen.
//
//   minimal_generate MODEL.gguf [PROMPT] [N_TOKENS]
//
// load the model -> make a session (the KV cache) -> tokenize the prompt -> forward it ->
// loop { pick the most likely token -> stop on end-of-generation -> print it -> forward it }.
// Prints the prompt followed by the continuation. The real generator (generate/generator.h)
// adds the sampler chain, stop strings, candidates and timings on top of exactly this loop;
// `lyra generate -m MODEL -p PROMPT --temperature 0 --max-tokens N` prints the same text.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "model/model.h"

namespace {

// The index of the largest logit (the lowest index on ties), i.e. greedy decoding.
lyra::model::TokenId argmax(const std::vector<float>& logits) {
    const auto best = std::max_element(logits.begin(), logits.end());
    return static_cast<lyra::model::TokenId>(best - logits.begin());
}

void print(const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

int run(const std::string& path, const std::string& prompt, int n_tokens) {
    using namespace lyra;
    // 1. Load: weights stay memory-mapped; the model is read-only from here on.
    const auto model = model::Model::load(path);
    const model::Tokenizer& tok = model->tokenizer();

    // 2. A session holds one sequence's state: its KV cache and position. The cache is kept in
    //    f16 (IEEE half), as `lyra generate` keeps it by default; DType::F32 would keep it exact.
    model::Session session(*model, 0, core::DType::F16);
    core::ThreadPool pool(1);
    std::vector<float> logits;  // [n_vocab]: the last position's scores

    // 3. Tokenize (with BOS) and run the whole prompt in one forward pass.
    std::vector<model::TokenId> ids = tok.encode(prompt, /*add_bos=*/true);
    if (static_cast<int64_t>(ids.size()) >= session.n_ctx()) {
        throw_error(ErrorKind::ContextFull, "prompt: {} tokens; expected fewer than {}",
                    ids.size(), session.n_ctx());
    }
    model->forward(session, ids, pool, logits);

    // StreamDecoder turns ids into text without ever splitting a UTF-8 character.
    model::StreamDecoder text(tok);
    for (model::TokenId id : ids) print(text.push(id));

    // 4. The token loop.
    for (int i = 0; i < n_tokens; ++i) {
        const model::TokenId next = argmax(logits);  // greedy pick
        if (tok.is_eog(next)) break;                  // the model says it is done
        print(text.push(next));
        if (session.n_free() == 0) break;             // the context is full
        model->forward(session, std::span(&next, 1), pool, logits);
    }
    print(text.finish() + "\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 4) {
        std::fprintf(stderr, "usage: %s MODEL.gguf [PROMPT] [N_TOKENS]\n", argv[0]);
        return 2;
    }
    const std::string prompt = argc > 2 ? argv[2] : "ROMEO:\n";
    const int n_tokens = argc > 3 ? std::atoi(argv[3]) : 64;
    try {
        return run(argv[1], prompt, n_tokens);
    } catch (const lyra::Error& e) {
        std::fprintf(stderr, "minimal_generate: %s\n", e.what());
        return 1;
    }
}
