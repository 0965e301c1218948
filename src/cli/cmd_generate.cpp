// `lyra generate`: text continuation of a prompt with any GGUF model (DESIGN.md contract).
// Text streams to stdout as it is generated; --json prints one JSON object instead.
// Flag values out of range are usage errors (exit 2); a bad prompt or model file exits 1.
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "art/poetry/en/pronounce.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/mmap.h"
#include "generate/constraint/constraint.h"
#include "generate/constraint/form_spec.h"
#include "generate/generator.h"
#include "generate/models_dir.h"
#include "generate/result_json.h"
#include "model/model.h"
#include "train/lora.h"
#include "server/remote.h"

namespace lyra::cli {

namespace {

struct GenerateFlags {
    std::string model;
    std::string prompt;
    gen::GenerateOptions opt;
    bool seed_given = false;
    bool json = false;
    bool no_stream = false;
    std::string grammar, regex, json_schema, form;
    std::string trigger;          // the constraint governs only what follows this text
    bool release_at_end = false;  // text is free again once the constraint has matched
    std::string lora;         // LoRA adapter merged into the model at load ("" = none)
    float lora_scale = 1.0f;  // multiplies the adapter's alpha / rank
};

// "ID=BIAS" (e.g. 198=-100) as a logit bias; a usage error otherwise.
gen::LogitBias parse_logit_bias(const std::string& item) {
    const size_t eq = item.find('=');
    const auto usage = [&] {
        return CLI::ValidationError("--logit-bias", "expected ID=BIAS with a token id and a bias "
                                                    "from -100 to 100, e.g. 198=-100; got '" + item + "'");
    };
    if (eq == std::string::npos) throw usage();
    try {
        size_t used_id = 0, used_bias = 0;
        const std::string id = item.substr(0, eq), bias = item.substr(eq + 1);
        const long long token = std::stoll(id, &used_id);
        const double b = std::stod(bias, &used_bias);
        if (used_id != id.size() || used_bias != bias.size() || token < 0 || token > INT32_MAX ||
            !(b >= -100.0 && b <= 100.0))
            throw usage();
        return {static_cast<gen::TokenId>(token), static_cast<float>(b)};
    } catch (const std::logic_error&) {  // stoll / stod: not a number, out of range
        throw usage();
    }
}

void write_stdout(std::string_view s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

// Prints candidates the way a local run does when it does not stream: separated by "---".
void print_candidates(const gen::GenerateResult& r) {
    for (size_t i = 0; i < r.candidates.size(); ++i) {
        if (i > 0) write_stdout("\n---\n");
        write_stdout(r.candidates[i].text);
    }
    write_stdout("\n");
}

// -m openai:MODEL@URL: the remote writes the text (server/remote.h); it arrives whole.
void run_remote(const GenerateFlags& f, bool constrained) {
    const server::RemoteModel remote = server::parse_remote_model(f.model);
    // A JSON schema travels as OpenAI's response_format, which lyra serve keeps by its own
    // grammar; the other constraints have no such request key.
    nlohmann::json response_format = nullptr;
    if (!f.trigger.empty() || f.release_at_end) {
        throw_error(ErrorKind::Unsupported, "--trigger/--release-at-end: not available with the remote model "
                    "'{}'; a remote schema governs the whole text", remote.spec());
    }
    if (!f.json_schema.empty()) {
        const nlohmann::json schema = nlohmann::json::parse(core::read_file(f.json_schema), nullptr, false);
        if (schema.is_discarded() || !schema.is_object())
            throw_error(ErrorKind::InvalidArgument, "--json-schema: '{}' is not a JSON object", f.json_schema);
        response_format = {{"type", "json_schema"}, {"json_schema", {{"name", "lyra"}, {"schema", schema}}}};
    } else if (constrained) {
        throw_error(ErrorKind::Unsupported, "--grammar/--regex/--form: not available with the remote model "
                    "'{}'; they run token by token next to a local model (--json-schema is sent as "
                    "response_format)",
                    remote.spec());
    }
    if (!f.lora.empty()) {
        throw_error(ErrorKind::Unsupported, "--lora: not available with the remote model '{}'; merge "
                    "the adapter (lyra model merge) and serve the merged model there",
                    remote.spec());
    }
    if (f.json || f.no_stream || f.opt.n_candidates > 1) {  // several choices arrive interleaved
        const gen::GenerateResult r = server::remote_generate(remote, f.prompt, f.opt, {}, response_format);
        if (f.json) {
            write_stdout(gen::dump_json(gen::result_to_json(r, f.opt, remote.spec())) + "\n");
            return;
        }
        return print_candidates(r);
    }
    // One choice: streamed as the remote sends it.
    server::remote_generate(
        remote, f.prompt, f.opt,
        [](int, std::string_view piece) {
            write_stdout(piece);
            return true;
        },
        response_format);
    write_stdout("\n");
}

void run_generate(GenerateFlags& f) {
    // Constrained decoding (issue #4): the grammar is compiled before the model loads, so a
    // bad grammar fails fast.
    const int n_constraints = !f.grammar.empty() + !f.regex.empty() + !f.json_schema.empty() + !f.form.empty();
    if (n_constraints > 1) {
        throw_error(ErrorKind::Usage, "--grammar, --regex, --json-schema, --form: expected at most one, got {}",
                    n_constraints);
    }
    std::optional<gen::constraint::FormSpec> form;
    if (!f.form.empty()) {
        // "dictionary": "cmu" names the CMU dictionary the English poems count syllables with.
        form = gen::constraint::load_form_spec(f.form, [](std::string_view name) {
            return name == "cmu" ? art::poetry::en::cmu_syllables() : nullptr;
        });
    }
    std::string gbnf, gbnf_name;
    if (!f.grammar.empty()) {
        gbnf = core::read_file(f.grammar);
        gbnf_name = f.grammar;
    } else if (!f.regex.empty()) {
        gbnf = gen::constraint::regex_to_gbnf(f.regex);
        gbnf_name = "--regex";
    } else if (!f.json_schema.empty()) {
        gbnf = gen::constraint::json_schema_to_gbnf(core::read_file(f.json_schema));
        gbnf_name = f.json_schema;
    }
    std::shared_ptr<const gen::constraint::Grammar> grammar;
    if (n_constraints > 0 && !form) {
        grammar = std::make_shared<const gen::constraint::Grammar>(
            gen::constraint::compile_gbnf(gbnf, gbnf_name));
    }
    if (f.model.empty()) f.model = gen::default_model_path();
    if (!f.seed_given) f.opt.seed = std::random_device{}();  // recorded in --json output
    if ((!f.trigger.empty() || f.release_at_end) && !grammar)
        throw_error(ErrorKind::Usage, "--trigger and --release-at-end go with --grammar, --regex or --json-schema");
    if (server::is_remote_model(f.model)) return run_remote(f, n_constraints > 0);

    const auto model = f.lora.empty() ? model::Model::load(f.model)
                                      : train::load_model_with_lora(f.model, f.lora, f.lora_scale);
    std::unique_ptr<gen::constraint::GrammarConstraint> constraint;
    if (grammar) {
        constraint = std::make_unique<gen::constraint::GrammarConstraint>(
            grammar, std::make_shared<const gen::constraint::TokenTrie>(model->tokenizer()),
            gen::constraint::GrammarOptions{.max_tokens = f.opt.max_tokens, .trigger = f.trigger,
                                            .release_at_end = f.release_at_end});
        f.opt.constraint = constraint.get();
    }
    std::unique_ptr<gen::constraint::FormConstraint> form_constraint;
    if (form) {
        form_constraint = std::make_unique<gen::constraint::FormConstraint>(std::move(*form), model->tokenizer());
        f.opt.constraint = form_constraint.get();
    }
    const bool stream = !f.json && !f.no_stream;
    int last_cand = 0;
    gen::StreamFn on_text;
    if (stream) {
        on_text = [&](int cand, std::string_view piece) {
            if (cand != last_cand) {
                write_stdout("\n---\n");  // separates candidates when -n > 1
                last_cand = cand;
            }
            write_stdout(piece);
            return true;
        };
    }
    const gen::GenerateResult r = gen::generate(*model, f.prompt, f.opt, on_text);
    if (constraint && constraint->status() == gen::constraint::ConstraintStatus::DeadEnd) {
        throw_error(ErrorKind::InvalidArgument,
                    "{}: dead end after {} bytes of output: no token of the model's vocabulary "
                    "continues the grammar; expected a vocabulary that can write every byte",
                    gbnf_name, constraint->matched().size());
    }
    if (form_constraint && form_constraint->status() == gen::constraint::ConstraintStatus::DeadEnd) {
        throw_error(ErrorKind::InvalidArgument,
                    "{}: dead end after {} bytes of output: no token of the model's vocabulary can "
                    "continue the form (a fixed character, class, rhyme or word it cannot write); expected "
                    "a form the vocabulary can fill",
                    f.form, form_constraint->text().size());
    }

    if (f.json) {
        write_stdout(gen::dump_json(gen::result_to_json(r, f.opt, f.model)) + "\n");
        return;
    }
    if (!stream) return print_candidates(r);
    write_stdout("\n");
}

}  // namespace

void add_kv_type_option(CLI::App* cmd, core::DType& out) {
    cmd->add_option_function<std::string>(
           "--kv-type", [&out](const std::string& v) { out = model::parse_kv_type(v); },
           std::string("KV cache element type: f16 (half the memory and attention bandwidth), q8_0 "
                       "(int8 with a scale per 32: 9/32 of f32's bytes) or f32 (exact) (default: ") +
               model::kv_type_name(out) + ")")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                try {
                    model::parse_kv_type(v);  // the names and the message are the model's
                    return {};
                } catch (const Error& e) {
                    return e.what();
                }
            },
            ""));
}

void add_generate_command(CLI::App& app) {
    auto f = std::make_shared<GenerateFlags>();
    auto* cmd = app.add_subcommand("generate", "Continue a prompt with a language model");
    auto& o = f->opt;
    o.max_tokens = 128;
    cmd->add_option("-m,--model", f->model, "GGUF model (default: the shipped " +
                                                std::string(gen::kDefaultModelFile) +
                                                "), or openai:MODEL@URL for a remote server");
    cmd->add_option("-p,--prompt", f->prompt, "Text to continue")->required();
    cmd->add_option("--max-tokens", o.max_tokens, "New tokens per candidate, at most")
        ->check(whole_at_least(1))
        ->capture_default_str();
    cmd->add_option("--stop", o.stop, "Stop string (repeatable); cut from the output");
    cmd->add_option_function<uint64_t>(
        "--seed",
        [f](const uint64_t& s) {
            f->opt.seed = s;
            f->seed_given = true;
        },
        "Random seed (default: a fresh one, reported by --json)");
    add_kv_type_option(cmd, o.kv_type);
    cmd->add_option("--threads", o.threads, "Threads (0 = all cores)")
        ->check(whole_at_least(0))
        ->capture_default_str();
    cmd->add_option("-n,--candidates", o.n_candidates, "Candidates (seeds seed, seed+1, ...)")
        ->check(whole_at_least(1))
        ->capture_default_str();
    cmd->add_option("--temperature", o.temperature, "Sampling temperature (0 = greedy)")
        ->check(at_least(0))
        ->capture_default_str();
    cmd->add_option("--top-k", o.top_k, "Keep the k most likely tokens (0 = off)")
        ->check(whole_at_least(0))
        ->capture_default_str();
    cmd->add_option("--top-p", o.top_p, "Nucleus mass in (0, 1] (1 = off)")
        ->check(between(1e-6, 1.0))
        ->capture_default_str();
    cmd->add_option("--min-p", o.min_p, "Drop tokens below p x the top probability (0 = off)")
        ->check(between(0.0, 1.0))
        ->capture_default_str();
    cmd->add_option("--repeat-penalty", o.repeat_penalty, "Repetition penalty (1 = off)")
        ->check(between(1e-6, 1e6))
        ->capture_default_str();
    cmd->add_option("--repeat-last-n", o.repeat_last_n, "Penalty window in tokens (-1 = all)")
        ->check(whole_at_least(-1))
        ->capture_default_str();
    cmd->add_option_function<std::vector<std::string>>(
           "--logit-bias",
           [&o](const std::vector<std::string>& items) {
               for (const std::string& item : items) o.logit_bias.push_back(parse_logit_bias(item));
           },
           "ID=BIAS: add BIAS (-100..100) to token ID's logit (repeatable; -100 all but bans it)")
        ->type_name("ID=BIAS");
    cmd->add_option("--frequency-penalty", o.frequency_penalty, "Per-occurrence penalty")
        ->capture_default_str();
    cmd->add_option("--presence-penalty", o.presence_penalty, "Penalty once a token appeared")
        ->capture_default_str();
    cmd->add_flag("--json", f->json, "Print one JSON object instead of streaming text");
    cmd->add_option("--lora", f->lora, "LoRA adapter GGUF (from a recipe with [lora]) to apply to -m");
    cmd->add_option("--lora-scale", f->lora_scale, "Strength of the --lora adapter (1 = as trained)")
        ->check(between(0.0, 1e3))
        ->capture_default_str();
    cmd->add_flag("--no-stream", f->no_stream, "Print the text only when it is complete");
    auto* g = cmd->add_option("--grammar", f->grammar, "GBNF grammar file the output must match");
    auto* r = cmd->add_option("--regex", f->regex, "Regular expression the output must match");
    auto* s = cmd->add_option("--json-schema", f->json_schema, "JSON schema file the output must follow");
    auto* fm = cmd->add_option("--form", f->form,
                    "JSON form file: line lengths (characters or syllables), fixed characters, "
                    "classes by position, rhymes (docs/user-guide.md, Form files)");
    g->excludes(r)->excludes(s)->excludes(fm);
    r->excludes(s)->excludes(fm);
    s->excludes(fm);
    cmd->add_option("--trigger", f->trigger,
                    "with --grammar/--regex/--json-schema: text is free until the model writes this "
                    "string; the constraint governs what follows it");
    cmd->add_flag("--release-at-end", f->release_at_end,
                  "with a constraint: once it has matched and cannot continue, text is free again "
                  "(default: only end-of-text may follow)");
    cmd->callback([f] { run_generate(*f); });
}

}  // namespace lyra::cli
