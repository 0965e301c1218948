// The "text" art form (text_form.h).
#include "studio/text_form.h"
#include "art/common/critic.h"

#include <cmath>

#include "art/common/artifacts.h"
#include "core/error.h"
#include "generate/generator.h"
#include "generate/models_dir.h"

namespace lyra::studio {

art::ArtResult run_text(const nlohmann::json& request, art::Context& ctx) {
    if (!request.is_object()) {
        throw_error(ErrorKind::InvalidArgument, "text request: expected a JSON object, got {}",
                    request.type_name());
    }
    art::check_keys(request, {"form", "prompt", "max_tokens"}, "text");
    const art::CommonOptions common = art::parse_common(request);
    const std::string prompt = art::get_string(request, "prompt");
    if (prompt.empty()) {
        throw_error(ErrorKind::InvalidArgument, "prompt: missing; expected a non-empty string to continue");
    }
    const int max_tokens = static_cast<int>(art::get_int(request, "max_tokens", 120, 1, 2048));

    const std::string model_path = art::resolve_model(common, gen::kDefaultModelFile);
    const auto model = ctx.models->get(model_path);
    gen::GenerateOptions opt = art::generate_options(common, max_tokens);
    opt.n_candidates = common.n;
    gen::Generator generator(*model, *ctx.pool);
    const gen::GenerateResult out = generator.run(prompt, opt, [&](int cand, std::string_view piece) {
        return cand != 0 || !ctx.on_text || ctx.on_text(piece);
    });

    art::ArtResult r;
    r.form = "text";
    r.seed = common.seed;
    r.model = model_path;
    r.model_sha256 = ctx.models->sha256(model_path);
    r.request = art::common_to_json(common);
    r.request["prompt"] = prompt;
    r.request["max_tokens"] = max_tokens;
    if (!common.model.empty()) r.request["model"] = common.model;
    for (const gen::Completion& c : out.candidates) {
        const double n = std::max<double>(1.0, static_cast<double>(c.token_logprobs.size()));
        const double per_token = c.logprob_sum() / n;
        r.candidates.push_back({.text = c.text,
                                .scores = {{"loglik_per_token", per_token},
                                           {"tokens", c.tokens.size()}},
                                .score = per_token});
    }
    art::apply_encoder_critic(r, common, prompt, ctx);
    art::rank_candidates(r);
    if (!ctx.out_dir.empty()) {
        art::ArtifactSet files(ctx.out_dir);
        files.add("txt", "text.txt", prompt + r.text + "\n");
        r.files = files.commit();
    }
    return r;
}

}  // namespace lyra::studio
