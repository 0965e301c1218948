// Model: a loaded Transformer (llama, qwen2, gpt2, gptneo, transfo-xl, xlnet; t5 encoder-decoder) whose
// weights stay in the GGUF memory map. A Model is immutable after load and may be shared by many
// Sessions on many threads; all per-sequence state (KV cache, position) lives in a Session.
// forward() never allocates in the steady state (Session owns its scratch buffers).
// load() throws lyra::Error naming the file and every defect it finds (unknown architecture,
// missing tensors, shapes that disagree with the hyperparameters).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mmap.h"
#include "core/ops.h"
#include "core/thread_pool.h"
#include "model/format/gguf.h"
#include "model/tokenizer/tokenizer.h"

namespace lyra::model {

enum class Arch { Llama, Qwen2, Gpt2, GptNeo, TransfoXl, T5, Xlnet };
// "llama", "qwen2", "gpt2", "gptneo", "transfo-xl", "t5", "xlnet" (general.architecture)
const char* arch_name(Arch a);
// Learned absolute positions (gpt2, gptneo): a session may not outgrow the position table.
inline bool has_learned_positions(Arch a) { return a == Arch::Gpt2 || a == Arch::GptNeo; }
// Rotary positions (llama, qwen2); gpt2/gptneo learn positions, t5 buckets relative ones.
inline bool has_rope(Arch a) { return a == Arch::Llama || a == Arch::Qwen2; }

struct HParams {
    Arch arch = Arch::Llama;
    int64_t n_vocab = 0;
    int64_t n_ctx = 0;       // trained context length (<arch>.context_length)
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;   // grouped-query attention: n_head % n_head_kv == 0
    int64_t n_ff = 0;
    int64_t head_dim = 0;    // usually n_embd / n_head
    float norm_eps = 1e-5f;  // rms or layer norm epsilon
    core::RopeParams rope;   // unused by gpt2 and gptneo
    // gptneo: local_layers[l] is true where layer l attends only to the last sliding_window
    // positions (its own included); other layers attend to every earlier position.
    int64_t sliding_window = 0;
    std::vector<bool> local_layers;
    bool tied_output = false;  // output head shares token_embd.weight
    // transfo-xl (docs/formats/gguf.md, "Transformer-XL"): relative positions, adaptive input
    // embeddings and an adaptive softmax over the vocabulary split at `cutoffs`.
    struct TransfoXl {
        int64_t mem_len = 0;    // a forward() call sees this many cached positions before it
                                // (0: all of them, as HF's generate does without memory)
        int64_t clamp_len = 0;  // relative distances beyond it count as it (0: no clamp)
        bool same_length = false;  // each query sees only itself and mem_len - 1 earlier ones
        bool pre_norm = false;  // LayerNorm before (true) or after (false) each sublayer
        int64_t d_embed = 0;    // the first cluster's embedding width
        int64_t div_val = 1;    // cluster k's width is d_embed / div_val^k
        std::vector<int64_t> cutoffs;  // ascending token ids where a tail cluster starts
    } txl;
    // t5 (encoder-decoder): n_layer counts the decoder's blocks (the KV cache's), n_layer_enc
    // the encoder's. Relative position buckets replace positions; the FFN is gated GELU where
    // the file has ffn_gate tensors, else ReLU. Decoding starts from decoder_start_token.
    int64_t n_layer_enc = 0;
    int64_t rel_buckets = 0;
    int64_t rel_max_distance = 0;
    bool gated_ffn = false;
    int32_t decoder_start_token = 0;
    // xlnet (docs/formats/gguf.md, "XLNet"): two-stream relative attention, post-norm blocks.
    // Generation predicts each next token with the query stream at the position after the
    // text, in one of two factorization orders (model/xlnet.h has the general two-stream form).
    struct Xlnet {
        // causal: each token's content stream sees only earlier tokens, so it is cached like
        // Transformer-XL's memory (and slides); bidirectional: every token sees every other one
        // and the whole text is recomputed for each new token (HF's generate without mems).
        bool causal = false;
        int64_t mem_len = 0;    // causal: a forward() call sees this many cached positions (0: all)
        int64_t clamp_len = 0;  // relative distances beyond +-clamp_len count as it (0: no clamp)
        std::string ffn_act = "gelu";  // gelu (erf), gelu_new (tanh), relu or silu (HF "swish")
    } xlnet;
};

class Session;

class Model {
public:
    virtual ~Model() = default;
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;

    static std::unique_ptr<Model> load(const std::string& path);

    const HParams& hparams() const { return hparams_; }
    const Tokenizer& tokenizer() const { return *tokenizer_; }
    const GgufFile& gguf() const { return *gguf_; }
    const std::string& path() const { return gguf_->path(); }
    // tokenizer.chat_template, if the file has one.
    std::optional<std::string> chat_template() const { return gguf_->get_string("tokenizer.chat_template"); }
    // Total parameters (elements) over all weight tensors.
    int64_t n_params() const;

    // Runs `tokens` through the model at positions s.n_past() … and appends them to s's KV cache.
    // logits receives [n_out, n_vocab]: the last token's row only, or every token's when
    // all_logits. Throws Error(ContextFull) (and leaves s unchanged) if they don't fit.
    virtual void forward(Session& s, std::span<const TokenId> tokens, core::ThreadPool& pool,
                         std::vector<float>& logits, bool all_logits = false) const = 0;

    // One decode step of several sequences at once: tokens[i] goes into *sessions[i] at that
    // session's next position, and logits receives [n, n_vocab], row i for sequence i. Row i is
    // bit for bit what forward(*sessions[i], {tokens[i]}) gives (the kernels' per-row arithmetic
    // does not depend on how many rows a matmul has), so batching never changes a sequence's
    // output. A decoder that batches_decode() reads each weight once for all rows; the default
    // runs forward() per session. Throws like forward() before touching any session.
    // (The default is forward_batch with one token per session.)
    virtual void decode_batch(std::span<Session* const> sessions, std::span<const TokenId> tokens,
                              core::ThreadPool& pool, std::vector<float>& logits) const;
    // The general step: sessions[i] takes the next counts[i] of `tokens` (every sequence's tokens
    // end to end; empty counts = one each) at its next positions, e.g. a joining sequence's whole
    // prompt beside the others' decode steps, and logits receives [n, n_vocab], row i the logits
    // after sequence i's last token. Row i is bit for bit what forward(*sessions[i], its tokens)
    // gives as long as the batch holds at most kExactBatchRows rows in all: up to there every
    // matmul takes the dot-product kernels, whose per-row arithmetic does not depend on the row
    // count (from 32 rows on, float weights take the blocked GEMM, core/gemm.h). Throws like
    // forward() before touching any session.
    virtual void forward_batch(std::span<Session* const> sessions, std::span<const TokenId> tokens,
                               std::span<const int32_t> counts, core::ThreadPool& pool,
                               std::vector<float>& logits) const;
    static constexpr int64_t kExactBatchRows = 31;
    // Whether a forward over rows_a rows and one over rows_b rows compute each token's cache
    // rows and logits with the same arithmetic, so that rows of one may continue the other bit
    // for bit: the prompt cache copies a kept prompt's beginning into a new prompt's session and
    // runs only the rest, which is exact when the kept prompt's forward agrees with the new
    // prompt's and the new prompt's with the rest's. Every per-token step, and attention over
    // cached rows, is the same at any row count; only a matmul's kernel can change. Quantized
    // weights run the same kernels at any count; float weights take the blocked GEMM past
    // kExactBatchRows rows, so two counts agree when both are on the same side of it.
    bool same_row_arithmetic(int64_t rows_a, int64_t rows_b) const {
        return !float_linears_ || ((rows_a <= kExactBatchRows) == (rows_b <= kExactBatchRows));
    }
    // True when decode_batch is one batched forward rather than a loop over forward().
    virtual bool batches_decode() const { return false; }

    // How many of a full session's last positions a forward() may carry on with after
    // Session::keep_last moves them to the front: 0 (the default) when positions are absolute
    // (learned tables, RoPE) and the cache cannot slide. Transformer-XL answers mem_len: it only
    // ever reads that many earlier positions and only by distance, so sliding is exact and
    // generation can go on without end, carrying its memory.
    virtual int64_t slide_keep() const { return 0; }

    // Starts a sequence from a prompt in a fresh (or cleared) session and returns the tokens
    // now in its KV cache, which the generation loop treats as the prompt (truncates back to,
    // shows the penalties, primes the text decoder with); logits get the last row. Decoders
    // run the prompt through forward() and return it. An encoder-decoder (t5) encodes the
    // prompt as the source instead, keeps its cross-attention keys/values in the session, and
    // runs only decoder_start_token through the decoder.
    virtual std::vector<TokenId> prefill(Session& s, std::span<const TokenId> prompt,
                                         core::ThreadPool& pool, std::vector<float>& logits) const {
        forward(s, prompt, pool, logits);
        return {prompt.begin(), prompt.end()};
    }

    // Optional hook for tests and `lyra model trace`: called with each named intermediate
    // ("attn_norm", layer, data, rows, cols). Costs nothing when null.
    using TraceFn = void (*)(void* user, const char* name, int layer, const float* data,
                             int64_t rows, int64_t cols);
    void set_trace(TraceFn fn, void* user) const { trace_fn_ = fn; trace_user_ = user; }

protected:
    Model() = default;
    void trace(const char* name, int layer, const float* data, int64_t rows, int64_t cols) const {
        if (trace_fn_) trace_fn_(trace_user_, name, layer, data, rows, cols);
    }

    HParams hparams_;
    // Set by an architecture that binds every matmul weight through WeightBinder::linear
    // (float_linears()); true, the conservative answer, for the others.
    bool float_linears_ = true;
    std::unique_ptr<GgufFile> gguf_;
    std::unique_ptr<Tokenizer> tokenizer_;
    mutable TraceFn trace_fn_ = nullptr;
    mutable void* trace_user_ = nullptr;
};

// The KV cache's element type from a user option: "f32", "f16" or "q8_0" (DType::F32, F16,
// Q8_0). Throws Error(InvalidArgument) naming the value for anything else.
core::DType parse_kv_type(std::string_view name);
// "f32", "f16" or "q8_0".
const char* kv_type_name(core::DType t);

// One layer's K or V rows as attention reads them, head by head: head(h) is a core::KvView of
// KV head h's rows (f32, f16 or Q8_0), `row_stride` elements from one position to the next, and head
// h + 1 starts `head_stride` elements after head h. A Session's cache is head-major (row_stride
// head_dim, head_stride n_ctx * head_dim), so one head's keys are contiguous and a pass over
// them streams through memory instead of jumping kv_dim elements (a new page every few keys at
// long context); a flat f32 [T, n_head_kv * head_dim] buffer is row_stride n_head_kv * head_dim,
// head_stride head_dim.
struct KvHeads {
    const void* data = nullptr;
    core::DType type = core::DType::F32;  // F32, F16 or Q8_0
    int64_t row_stride = 0;
    int64_t head_stride = 0;
    const float* scales = nullptr;  // Q8_0: one per 32 elements, laid out like the elements

    core::KvView head(int64_t h) const {
        const auto bytes = h * head_stride * core::KvView::elem_bytes(type);
        return {static_cast<const uint8_t*>(data) + bytes, type, row_stride,
                scales != nullptr ? scales + h * head_stride / 32 : nullptr};
    }
};

// Per-sequence state: the KV cache ([n_layer][n_head_kv][n_ctx][head_dim] for K and V: each KV
// head's positions contiguous, with room for n_ctx of them so appending never moves a row; in
// f32 or, with kv_type F16, IEEE half: half the memory and half the bytes attention reads, each
// cached element rounded to 11 significant bits, relative error <= 2^-11; or, with Q8_0, int8
// with one f32 scale per 32 elements of a head's row (amax / 127, so an element is off by at
// most 1/254 of its block's largest): 9/32 of f32's bytes, and the head dimension must be a
// multiple of 32) and scratch buffers for forward(). Every architecture
// reads the cache through k_view/v_view and writes it through store_k/store_v, so each works with
// either type and neither depends on the layout. Not thread-safe; one Session per stream of
// generation.
class Session {
public:
    // n_ctx = 0 uses the model's context length. Throws Error(InvalidArgument) if n_ctx < 0, for
    // gpt2/gptneo if it exceeds the learned position table, if kv_type is not F32, F16 or Q8_0,
    // or for Q8_0 if the head dimension is not a multiple of 32.
    explicit Session(const Model& model, int64_t n_ctx = 0, core::DType kv_type = core::DType::F32);
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    Session(Session&&) = default;
    Session& operator=(Session&&) = default;

    int64_t n_past() const { return n_past_; }
    int64_t n_ctx() const { return n_ctx_; }
    int64_t n_free() const { return n_ctx_ - n_past_; }
    void clear() { n_past_ = 0; }
    // Forgets everything from position n on (for backtracking); n ≤ n_past().
    void truncate(int64_t n);
    // Keeps only the last n positions, moved to the front of the cache (n_past() becomes n);
    // n ≤ n_past(). Only for models whose slide_keep() allows it.
    void keep_last(int64_t n);

    // Makes this session hold src's first n positions (n_past() becomes n): the same cached
    // bytes, so a forward from here gives what it gives after src's forward over them (a shared
    // prompt's prefill, copied rather than run again). The sessions belong to one model and
    // share a KV type; this one's context may differ but must hold n positions. Not for
    // encoder-decoder sessions (the source's cross-attention rows are not copied).
    void copy_prefix(const Session& src, int64_t n);

    core::DType kv_type() const { return kv_type_; }
    // Bytes the KV cache holds: self-attention K and V of every layer and position, plus an
    // encoder-decoder's cross-attention K and V.
    size_t kv_bytes() const {
        return k_.size() + v_.size() + cross_k_.size() + cross_v_.size() + ks_.size() + vs_.size() +
               cross_ks_.size() + cross_vs_.size();
    }
    // The self-attention K and V bytes a session of n_ctx positions of m allocates, before making
    // one (the prompt cache sizes its entries by it).
    static size_t kv_bytes_for(const Model& m, int64_t n_ctx, core::DType kv_type);
    // K or V rows of one layer as attention reads them: head h's n_ctx rows of head_dim elements
    // are k_view(layer).head(h), of kv_type().
    KvHeads k_view(int64_t layer) const { return view(k_, ks_, layer, n_ctx_); }
    KvHeads v_view(int64_t layer) const { return view(v_, vs_, layer, n_ctx_); }
    // Writes n f32 rows of kv_dim (src_stride floats apart) into K or V positions pos ..
    // pos+n-1 of a layer, each row split into its heads, rounded to f16 for an F16 cache and
    // quantized per 32 elements for a Q8_0 one.
    void store_k(int64_t layer, int64_t pos, const float* src, int64_t n, int64_t src_stride);
    void store_v(int64_t layer, int64_t pos, const float* src, int64_t n, int64_t src_stride);
    void advance(int64_t n) { n_past_ += n; }
    // Scratch memory for forward(), grown on demand and reused across calls.
    std::vector<float>& scratch(size_t slot) {
        if (slot >= scratch_.size()) scratch_.resize(slot + 1);
        return scratch_[slot];
    }
    // Integer scratch (token positions), grown on demand like scratch().
    std::vector<int32_t>& scratch_i32() { return iscratch_; }
    int64_t kv_dim() const { return kv_dim_; }
    int64_t head_dim() const { return head_dim_; }
    // The token at each cached position, for models that re-read earlier positions (XLNet's
    // bidirectional order recomputes the whole text for every new token); only they fill it.
    // Entries at n_past() and later are stale, like the cache rows; keep_last() moves it too.
    std::vector<TokenId>& history() { return history_; }

    // Encoder-decoder models: the source's cross-attention keys and values, [n_layer][n_head_kv]
    // [n_source][head_dim] each (head-major like the self-attention cache), of kv_type(), filled
    // by Model::prefill. Empty (n_source 0) for decoders; clear() and truncate() keep it (it
    // belongs to the source, not to the decoded positions).
    void set_source_len(int64_t n);
    int64_t n_source() const { return n_source_; }
    KvHeads cross_k_view(int64_t layer) const { return view(cross_k_, cross_ks_, layer, n_source_); }
    KvHeads cross_v_view(int64_t layer) const { return view(cross_v_, cross_vs_, layer, n_source_); }
    // Writes the layer's n_source() K and V rows from f32 [n_source, kv_dim].
    void store_cross(int64_t layer, const float* k, const float* v);

private:
    size_t elem_bytes() const { return static_cast<size_t>(core::KvView::elem_bytes(kv_type_)); }
    // A layer of `rows` positions per head: [n_head_kv][rows][head_dim], and for Q8_0 its scales
    // [n_head_kv][rows][head_dim / 32].
    KvHeads view(const core::ZeroedBuffer& buf, const core::ZeroedBuffer& scales, int64_t layer, int64_t rows) const {
        return {buf.data() + static_cast<size_t>(layer * rows * kv_dim_) * elem_bytes(), kv_type_, head_dim_,
                rows * head_dim_, scales.empty() ? nullptr : scales.as<float>() + layer * rows * kv_dim_ / 32};
    }
    void store(core::ZeroedBuffer& buf, core::ZeroedBuffer& scales, int64_t rows, int64_t layer, int64_t pos,
               const float* src, int64_t n, int64_t src_stride);

    int64_t n_ctx_ = 0;
    int64_t kv_dim_ = 0;
    int64_t head_dim_ = 0;
    int64_t n_past_ = 0;
    int64_t n_layer_ = 0;
    int64_t n_source_ = 0;
    core::DType kv_type_ = core::DType::F32;
    // Raw bytes of kv_type_ elements (64-byte aligned), and a Q8_0 cache's f32 scales (empty for
    // the other types), in buffers whose pages are all brought in at once (core::ZeroedBuffer).
    core::ZeroedBuffer k_, v_;
    core::ZeroedBuffer cross_k_, cross_v_;
    core::ZeroedBuffer ks_, vs_, cross_ks_, cross_vs_;
    std::vector<std::vector<float>> scratch_;
    std::vector<int32_t> iscratch_;
    std::vector<TokenId> history_;
};

}  // namespace lyra::model
