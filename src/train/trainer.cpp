// The training run (see trainer.h).
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/check.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/sha256.h"
#include "model/tokenizer/char_vocab.h"
#include "train/bpe_trainer.h"
#include "train/kernels.h"
#include "train/report.h"

namespace lyra::train {

namespace fs = std::filesystem;

namespace {

core::Tensor f32_view(const float* data, const std::vector<int64_t>& shape) {
    core::Tensor t;
    t.dtype = core::DType::F32;
    for (int64_t d : shape) t.shape[static_cast<size_t>(t.n_dims++)] = d;
    t.data = data;
    return t;
}

// The recipe's tokenizer (kinds checked by the recipe parser): a file, or built from the
// training split.
std::unique_ptr<model::Tokenizer> build_tokenizer(const Recipe& r, const BaseModel* base,
                                                  const std::string& text) {
    if (base != nullptr) return model::Tokenizer::from_gguf(base->model->gguf());
    if (!r.tokenizer_file.empty()) return read_tokenizer_file(r.tokenizer_file);
    const std::string& kind = r.tokenizer;
    if (kind == "bytes") return model::build_byte_vocab();
    if (kind.rfind("bpe:", 0) == 0) {
        BpeTrainer bpe({.vocab_size = std::stoll(kind.substr(4)),
                        .special_tokens = r.tokenizer_specials,
                        .min_pair_count = r.tokenizer_min_count});
        bpe.add_text(text);
        return model::Tokenizer::from_vocab(bpe.train());
    }
    const auto n = static_cast<size_t>(std::stoull(kind.substr(5)));
    return model::build_char_vocab(text, n);
}

std::string format_eta(double seconds) {
    const auto s = static_cast<int64_t>(seconds);
    if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
    return fmt::format("{}m{:02}s", s / 60, s % 60);
}

}  // namespace

void add_model_to_gguf(model::GgufWriter& w, const TrainModel& m, const model::Tokenizer* tok,
                       const std::string& name) {
    const TrainConfig& c = m.config();
    const std::string a = model::arch_name(c.arch);
    const auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
    w.set_string("general.architecture", a);
    w.set_string("general.name", name);
    w.set_u32("general.file_type", 0);  // all F32
    w.set_u32(a + ".context_length", u32(c.n_ctx));
    w.set_u32(a + ".embedding_length", u32(c.n_embd));
    w.set_u32(a + ".block_count", u32(c.n_layer));
    w.set_u32(a + ".feed_forward_length", u32(c.n_ff));
    w.set_u32(a + ".attention.head_count", u32(c.n_head));
    if (c.arch == model::Arch::Gpt2) {
        w.set_f32(a + ".attention.layer_norm_epsilon", c.norm_eps);
    } else {
        w.set_u32(a + ".attention.head_count_kv", u32(c.n_head_kv));
        w.set_f32(a + ".attention.layer_norm_rms_epsilon", c.norm_eps);
        w.set_f32(a + ".rope.freq_base", c.rope_base);
        w.set_u32(a + ".rope.dimension_count", u32(c.n_embd / c.n_head));
    }
    if (tok != nullptr) tok->write_gguf(w);
    for (const auto& p : m.param_info())
        w.add_tensor(p.name, f32_view(m.params().data() + p.offset, p.shape));
}

std::string sample_text(TrainModel& m, const model::Tokenizer& tok, core::ThreadPool& pool,
                        const std::string& prompt, int64_t n, float temperature, uint64_t seed) {
    std::vector<int32_t> ids = tok.encode(prompt.empty() ? std::string("\n") : prompt, false, false);
    core::Rng rng(seed);
    const int64_t V = m.config().n_vocab;
    std::vector<float> p(static_cast<size_t>(V));
    for (int64_t i = 0; i < n; ++i) {
        const int64_t T = std::min<int64_t>(static_cast<int64_t>(ids.size()), m.config().n_ctx);
        m.forward(pool, ids.data() + ids.size() - static_cast<size_t>(T), nullptr, 1, T);
        const float* logits = m.logits() + (T - 1) * V;
        float mx = logits[0];
        for (int64_t v = 1; v < V; ++v) mx = std::max(mx, logits[v]);
        double sum = 0.0;
        for (int64_t v = 0; v < V; ++v) {
            p[static_cast<size_t>(v)] = std::exp((logits[v] - mx) / temperature);
            sum += static_cast<double>(p[static_cast<size_t>(v)]);
        }
        double u = static_cast<double>(rng.uniform()) * sum;
        int32_t pick = static_cast<int32_t>(V - 1);
        for (int64_t v = 0; v < V; ++v) {
            u -= static_cast<double>(p[static_cast<size_t>(v)]);
            if (u <= 0.0) {
                pick = static_cast<int32_t>(v);
                break;
            }
        }
        if (tok.is_eog(pick)) break;
        ids.push_back(pick);
    }
    return tok.decode(ids);
}

Trainer::Trainer(Recipe recipe, TrainOptions opt) : r_(std::move(recipe)), opt_(std::move(opt)) {
    const int threads = opt_.threads > 0 ? opt_.threads : r_.threads;
    pool_ = std::make_unique<core::ThreadPool>(threads);
    const fs::path out(r_.output);
    if (out.has_parent_path()) fs::create_directories(out.parent_path());
    fs::create_directories(r_.work_dir);
    if (!r_.base_model.empty()) {
        base_ = std::make_unique<BaseModel>(open_base_model(r_.base_model));
        base_sha256_ = core::sha256_file_hex(r_.base_model);
    }
    prepare_data();
    TrainConfig cfg = r_.model;
    cfg.n_vocab = tok_->n_vocab();
    if (base_) {
        cfg = base_->config;  // the base's n_ctx: gpt2 keeps its whole position table
        model_ = std::make_unique<TrainModel>(cfg);
        load_weights(*model_, base_->model->gguf());
    } else {
        cfg.n_ctx = r_.context;
        model_ = std::make_unique<TrainModel>(cfg);
        model_->init_random(r_.seed);
    }
    if (r_.lora) {
        lora_ = std::make_unique<LoraAdapter>(*model_, r_.lora_config);
        lora_->init_random(r_.seed);
        model_->set_adapter(lora_.get());
    }
    adam_ = std::make_unique<AdamW>(trained_info(), AdamWOptions{.beta1 = r_.beta1, .beta2 = r_.beta2,
                                                                 .eps = 1e-8f,
                                                                 .weight_decay = r_.weight_decay,
                                                                 .decay_all = r_.decay_all});
    sched_ = LrSchedule{.lr = r_.lr, .min_lr = r_.min_lr, .warmup = r_.warmup, .steps = r_.steps};
    tokens_.resize(static_cast<size_t>(r_.batch * r_.context));
    targets_.resize(tokens_.size());
}

const std::vector<ParamInfo>& Trainer::trained_info() const {
    return lora_ ? lora_->param_info() : model_->param_info();
}
std::span<float> Trainer::trained_params() { return lora_ ? lora_->params() : model_->params(); }
std::span<float> Trainer::trained_grads() { return lora_ ? lora_->grads() : model_->grads(); }

size_t Trainer::state_bytes() const {
    return model_->grad_bytes() + (lora_ ? lora_->grad_bytes() : 0) + adam_->state_bytes();
}

void Trainer::add_model(model::GgufWriter& w) const {
    if (lora_) {
        add_lora_adapter(w, *lora_, model_->config().arch, r_.name, base_->name, base_sha256_);
        return;
    }
    // A fine-tuned model keeps the base's metadata and tokenizer as they were.
    if (base_) add_base_metadata(w, base_->model->gguf(), base_->name, base_sha256_);
    add_model_to_gguf(w, *model_, base_ ? nullptr : tok_.get(), r_.name);
}

void Trainer::log(const std::string& line) const {
    if (opt_.log) {
        opt_.log(line);
    } else {
        std::fprintf(stderr, "%s\n", line.c_str());
        std::fflush(stderr);
    }
}

void Trainer::prepare_data() {
    const auto files = expand_data_paths(r_.data_files);
    corpus_info_ = load_corpus(files, r_.val_fraction, r_.seed);
    tok_ = build_tokenizer(r_, base_.get(), corpus_info_.train_text);
    const auto train_ids = encode_documents(*tok_, corpus_info_.train_text, r_.eos_between_documents);
    const auto val_ids = encode_documents(*tok_, corpus_info_.val_text, r_.eos_between_documents);
    n_train_tokens_ = static_cast<int64_t>(train_ids.size());
    n_val_tokens_ = static_cast<int64_t>(val_ids.size());
    corpus_info_.train_text.clear();
    corpus_info_.val_text.clear();
    // The shards sit in the work directory; the loader memory-maps them.
    write_token_shard(r_.work_dir + "/train.tok", train_ids, tok_->n_vocab());
    write_token_shard(r_.work_dir + "/val.tok", val_ids, tok_->n_vocab());
    train_shard_ = std::make_unique<TokenShard>(r_.work_dir + "/train.tok");
    val_shard_ = std::make_unique<TokenShard>(r_.work_dir + "/val.tok");
    sampler_ = std::make_unique<BatchSampler>(*train_shard_, r_.batch, r_.context, r_.seed ^ 0x7a11ull,
                                              "training");
    if (r_.val_fraction > 0.0) {
        // Fail now, not at the first eval, if validation cannot fill a window.
        BatchSampler probe(*val_shard_, r_.batch, r_.context, 0, "validation");
    }
}

float Trainer::step() {
    // next batch → forward → loss → zero grads → backward → clip → update → log
    StepProfile* prof = opt_.profile ? &profile_ : nullptr;
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t cpu0 = prof != nullptr ? process_cpu_ns() : 0;
    model_->set_profile(prof);
    const float lr = sched_.at(step_);
    const float inv_accum = 1.0f / static_cast<float>(r_.grad_accum);
    {
        PhaseTimer timer(prof, Phase::ZeroGrad);
        model_->zero_grad(*pool_);
        if (lora_) lora_->zero_grad();
    }
    float loss = 0.0f;
    for (int64_t micro = 0; micro < r_.grad_accum; ++micro) {
        // LoRA dropout masks follow the batch count, so a resumed run draws the same ones.
        if (lora_) lora_->set_training(true, r_.seed ^ (sampler_->draws() * 0x9e3779b97f4a7c15ull));
        {
            PhaseTimer timer(prof, Phase::Data);
            sampler_->next(tokens_.data(), targets_.data());
        }
        loss += model_->forward(*pool_, tokens_.data(), targets_.data(), r_.batch, r_.context) * inv_accum;
        model_->backward(*pool_, inv_accum);
    }
    {
        PhaseTimer timer(prof, Phase::ClipNorm);
        clip_grad_norm(*pool_, trained_grads(), r_.grad_clip);
    }
    {
        PhaseTimer timer(prof, Phase::AdamW);
        adam_->update(*pool_, trained_params(), trained_grads(), lr);
    }
    model_->set_profile(nullptr);  // evaluation and sampling are not part of a step
    if (prof != nullptr) {
        prof->step_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now() - t0).count();
        prof->step_cpu_ns += process_cpu_ns() - cpu0;
        ++prof->steps;
    }
    ++step_;
    last_lr_ = lr;
    train_losses_.push_back(loss);
    return loss;
}

float Trainer::evaluate() {
    if (r_.val_fraction <= 0.0) return NAN;
    BatchSampler ev(*val_shard_, r_.batch, r_.context, r_.seed ^ 0xe7a1ull, "validation");
    if (lora_) lora_->set_training(false, 0);
    double total = 0.0;
    for (int64_t i = 0; i < r_.eval_iters; ++i) {
        ev.next(tokens_.data(), targets_.data());
        total += static_cast<double>(
            model_->forward(*pool_, tokens_.data(), targets_.data(), r_.batch, r_.context));
    }
    return static_cast<float>(total / static_cast<double>(r_.eval_iters));
}

void Trainer::save_checkpoint() {
    model::GgufWriter w;
    add_model(w);
    for (const auto& p : trained_info()) {
        w.add_tensor("opt.m." + p.name, f32_view(adam_->m().data() + p.offset, p.shape));
        w.add_tensor("opt.v." + p.name, f32_view(adam_->v().data() + p.offset, p.shape));
    }
    w.set_u64("lyra.train.step", static_cast<uint64_t>(step_));
    w.set_u64("lyra.train.sampler_draws", sampler_->draws());
    w.set_u64("lyra.train.seed", r_.seed);
    if (!train_losses_.empty()) w.set_f32_array("lyra.train.losses", train_losses_);
    if (!eval_steps_.empty()) {
        std::vector<int32_t> es(eval_steps_.begin(), eval_steps_.end());
        w.set_i32_array("lyra.train.eval_steps", es);
        w.set_f32_array("lyra.train.eval_losses", eval_losses_);
    }
    // New file complete first (atomic), then the swap; at every moment a complete checkpoint
    // exists as checkpoint.gguf, .next or .prev.
    const std::string ckpt = r_.checkpoint_path();
    w.write(ckpt + ".next");
    std::error_code ec;
    if (fs::exists(ckpt)) fs::rename(ckpt, ckpt + ".prev", ec);
    fs::rename(ckpt + ".next", ckpt);
}

bool Trainer::load_checkpoint() {
    const std::string ckpt = r_.checkpoint_path();
    for (const std::string& path : {ckpt, ckpt + ".next", ckpt + ".prev"}) {
        if (!fs::exists(path)) continue;
        // A damaged newest checkpoint falls back to the previous good one (issue 3).
        try {
            const auto f = model::GgufFile::open(path);
            load_params(trained_info(), trained_params(), *f);
            for (const auto& p : trained_info()) {
                for (auto [prefix, buf] : {std::pair{"opt.m.", &adam_->m()}, std::pair{"opt.v.", &adam_->v()}}) {
                    const auto* t = f->find_tensor(prefix + p.name);
                    if (t == nullptr || t->tensor.dtype != core::DType::F32 ||
                        static_cast<size_t>(t->tensor.numel()) != p.numel)
                        throw_error(ErrorKind::Corrupt, "checkpoint '{}': optimizer tensor '{}{}' missing or wrong size",
                                    path, prefix, p.name);
                    std::copy_n(t->tensor.f32(), p.numel, buf->data() + p.offset);
                }
            }
            const auto step = f->get_int("lyra.train.step");
            const auto draws = f->get_int("lyra.train.sampler_draws");
            if (!step || !draws)
                throw_error(ErrorKind::Corrupt, "checkpoint '{}': missing lyra.train.step or sampler_draws", path);
            auto losses = f->get_float_array("lyra.train.losses").value_or(std::vector<float>{});
            if (static_cast<int64_t>(losses.size()) != *step)
                throw_error(ErrorKind::Corrupt, "checkpoint '{}': {} losses for {} steps", path, losses.size(), *step);
            step_ = *step;
            adam_->set_step(step_);
            sampler_->reset(static_cast<uint64_t>(*draws));
            train_losses_ = std::move(losses);
            const auto es = f->get_int_array("lyra.train.eval_steps").value_or(std::vector<int64_t>{});
            eval_steps_.assign(es.begin(), es.end());
            eval_losses_ = f->get_float_array("lyra.train.eval_losses").value_or(std::vector<float>{});
            log(fmt::format("resumed from '{}' at step {}", path, step_));
            return true;
        } catch (const Error& e) {
            log(fmt::format("warning: checkpoint '{}' unusable ({}); trying an older one", path, e.what()));
        }
    }
    return false;
}

TrainReport Trainer::run() {
    TrainReport rep;
    rep.n_params = static_cast<int64_t>(trained_params().size());
    if (opt_.resume) rep.resumed = load_checkpoint();
    log(fmt::format("training '{}': {} {} params, vocab {}, {} train / {} val tokens, {} threads ({})",
                    r_.name, rep.n_params, model::arch_name(model_->config().arch), tok_->n_vocab(),
                    n_train_tokens_, n_val_tokens_, pool_->size(), "gemm " + std::string(kern::gemm_isa())));
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t first = step_;
    const int64_t tokens_per_step = r_.batch * r_.context * r_.grad_accum;
    while (step_ < r_.steps && !(opt_.stop_after > 0 && step_ >= opt_.stop_after)) {
        const float loss = step();
        // The run's first step allocates and first-touches the activations; leave it out.
        if (step_ == first + 1) profile_ = StepProfile{};
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (step_ % r_.log_interval == 0 || step_ == r_.steps) {
            const double per_step = secs / static_cast<double>(step_ - first);
            log(fmt::format("step {:>6}/{} | loss {:.4f} | lr {:.2e} | {:.0f} tok/s | ETA {}", step_,
                            r_.steps, static_cast<double>(loss), static_cast<double>(last_lr_),
                            static_cast<double>(tokens_per_step) / per_step,
                            format_eta(per_step * static_cast<double>(r_.steps - step_))));
        }
        if (r_.eval_interval > 0 && step_ % r_.eval_interval == 0 && step_ < r_.steps) {
            const float vl = evaluate();
            eval_steps_.push_back(step_);
            eval_losses_.push_back(vl);
            log(fmt::format("eval step {} | val loss {:.4f} | ppl {:.2f}", step_, static_cast<double>(vl),
                            std::exp(static_cast<double>(vl))));
        }
        if (r_.checkpoint_interval > 0 && step_ % r_.checkpoint_interval == 0) save_checkpoint();
    }
    rep.steps_done = step_;
    if (opt_.profile) log(profile_.table(pool_->size()));
    if (step_ >= r_.steps) {
        const float vl = evaluate();
        eval_steps_.push_back(step_);
        eval_losses_.push_back(vl);
        log(fmt::format("final | val loss {:.4f} | ppl {:.2f}", static_cast<double>(vl),
                        std::exp(static_cast<double>(vl))));
        write_outputs(rep);
        rep.finished = true;
    }
    rep.train_losses = train_losses_;
    rep.eval_steps = eval_steps_;
    rep.eval_losses = eval_losses_;
    return rep;
}

void Trainer::write_outputs(TrainReport& rep) {
    model::GgufWriter w;
    add_model(w);
    w.write(r_.output);
    rep.model_path = r_.output;
    const std::string stem = (fs::path(r_.output).parent_path() / fs::path(r_.output).stem()).string();
    rep.csv_path = stem + ".loss.csv";
    rep.svg_path = stem + ".loss.svg";
    rep.card_path = stem + ".md";
    std::vector<float> lrs;
    for (int64_t s = 0; s < static_cast<int64_t>(train_losses_.size()); ++s) lrs.push_back(sched_.at(s));
    core::write_file_atomic(rep.csv_path, loss_csv(train_losses_, lrs, eval_steps_, eval_losses_));
    core::write_file_atomic(rep.svg_path, loss_svg(train_losses_, eval_steps_, eval_losses_, r_.name));
    rep.sample = sample_text(*model_, *tok_, *pool_, r_.sample_prompt, r_.sample_tokens, 0.8f, r_.seed);
    CardInfo ci;
    ci.recipe = &r_;
    if (lora_) ci.lora = &lora_->config();
    if (base_) {
        ci.base_name = base_->name;
        ci.base_sha256 = base_sha256_;
    }
    ci.corpus = &corpus_info_;
    ci.n_train_tokens = n_train_tokens_;
    ci.n_val_tokens = n_val_tokens_;
    ci.n_vocab = tok_->n_vocab();
    ci.n_params = rep.n_params;
    ci.config = &model_->config();
    ci.train_losses = &train_losses_;
    ci.eval_steps = &eval_steps_;
    ci.eval_losses = &eval_losses_;
    ci.sample = rep.sample;
    ci.csv_name = fs::path(rep.csv_path).filename().string();
    ci.svg_name = fs::path(rep.svg_path).filename().string();
    core::write_file_atomic(rep.card_path, model_card(ci));
    log(fmt::format("wrote {}, {}, {}, {}", rep.model_path, rep.card_path, rep.csv_path, rep.svg_path));
}

}  // namespace lyra::train
