// EncoderModel: a bidirectional Transformer encoder (BERT, RoBERTa, ALBERT) loaded from GGUF,
// for understanding and judging text rather than generating it: final hidden states, masked-LM
// logits, sentence embeddings and pseudo-log-likelihood (issue 10's critics and infilling).
// Every method has a batch form that runs several sequences of different lengths through one
// forward (each attends only to its own tokens); the single-sequence methods are that batch of one.
// Immutable after load; every method allocates its own working memory, so one EncoderModel may
// be shared by many threads. load() throws lyra::Error naming the file and every defect it
// finds; the methods throw Error(InvalidArgument) for token ids outside the vocabulary, an
// empty input or one longer than the position table (naming the sequence of a batch), and
// Error(Unsupported) for a head the file does not have (mlm_logits without an MLM head, pooled
// without a pooler).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ops.h"
#include "core/thread_pool.h"
#include "model/format/gguf.h"
#include "model/tokenizer/tokenizer.h"

namespace lyra::model {

enum class EncoderArch { Bert, Roberta, Albert };
const char* encoder_arch_name(EncoderArch a);  // "bert", "roberta", "albert"
// True for a general.architecture an EncoderModel loads (Model::load refuses these).
bool is_encoder_arch(std::string_view general_architecture);

// The feed-forward (and, except RoBERTa's, MLM-head) activation: HF's hidden_act.
enum class EncoderAct { Gelu, GeluTanh, Relu };  // "gelu" (erf), "gelu_new", "relu"

struct EncoderHParams {
    EncoderArch arch = EncoderArch::Bert;
    int64_t n_vocab = 0;
    int64_t n_ctx = 0;       // positions in the table: the longest input, [CLS] and [SEP] included
    int64_t n_embd = 0;      // hidden width C
    int64_t n_embd_tok = 0;  // token embedding width E (ALBERT's embedding_size; else C)
    int64_t n_layer = 0;     // layers run
    int64_t n_group = 0;     // distinct layer weight sets (ALBERT shares; else n_layer)
    int64_t n_head = 0;
    int64_t head_dim = 0;
    int64_t n_ff = 0;
    int64_t n_token_types = 0;
    float norm_eps = 1e-12f;  // every LayerNorm's epsilon
    EncoderAct act = EncoderAct::Gelu;
    bool has_mlm_head = false;  // mlm_dense/mlm_norm/output.bias present
    bool has_pooler = false;    // cls.weight/cls.bias (dense + tanh on [CLS]) present
    bool tied_output = true;    // the MLM decoder is token_embd
};

class EncoderModel {
public:
    ~EncoderModel();
    EncoderModel(const EncoderModel&) = delete;
    EncoderModel& operator=(const EncoderModel&) = delete;

    static std::unique_ptr<EncoderModel> load(const std::string& path);

    const EncoderHParams& hparams() const { return hp_; }
    const Tokenizer& tokenizer() const { return *tokenizer_; }
    const GgufFile& gguf() const { return *gguf_; }
    const std::string& path() const { return gguf_->path(); }
    int64_t n_params() const;
    TokenId cls() const { return cls_; }
    TokenId sep() const { return sep_; }
    TokenId mask() const { return mask_; }  // -1 when the vocabulary has no mask token

    // The model's input for `text`: [CLS] pieces [SEP]. Special tokens written in the text
    // (the mask token, [SEP] ...) become their ids; whitespace right before the mask token is
    // dropped, as the lstrip of RoBERTa's and ALBERT's <mask>/[MASK] does.
    std::vector<TokenId> tokenize(std::string_view text) const;

    // Final hidden states [T, C] of one sequence (token type 0, positions 0..T-1, every token
    // attending to every token).
    std::vector<float> hidden(std::span<const TokenId> tokens, core::ThreadPool& pool) const;
    // Masked-LM logits [T, V].
    std::vector<float> mlm_logits(std::span<const TokenId> tokens, core::ThreadPool& pool) const;
    // A sentence embedding [C]: the mean over all T tokens ([CLS] and [SEP] included) of the last
    // hidden states, L2-normalised, so that a dot product is a cosine similarity. Mean pooling
    // works for every checkpoint (the pooler is trained only by BERT's next-sentence task and
    // absent from MLM-only checkpoints).
    std::vector<float> embed(std::span<const TokenId> tokens, core::ThreadPool& pool) const;
    // The pooler output [C]: tanh(W · h[CLS] + b). Error(Unsupported) without a pooler.
    std::vector<float> pooled(std::span<const TokenId> tokens, core::ThreadPool& pool) const;
    // Sum over the positions that are not special tokens ([CLS], [SEP], [MASK], [UNK], [PAD],
    // other control tokens) of log p(true token | the sequence with that one position masked),
    // in nats (Salazar et al. 2020's PLL). 0 when no position qualifies. Error(Unsupported)
    // without an MLM head or a mask.
    double pseudo_log_likelihood(std::span<const TokenId> tokens, core::ThreadPool& pool) const;

    // ---- Batches: sequence i of the result belongs to seqs[i] ----
    // The sequences (any lengths, each 1..n_ctx) run through shared matmuls, packed row after
    // row with no padding rows, and each attends only to its own tokens with its own positions
    // 0..T_i-1: what HF computes for a right-padded batch with attention_mask, without computing
    // the padding. A sequence's result therefore does not depend on its neighbours: it is
    // bit-identical to the single-sequence method whenever both forwards take the same matmul
    // kernel (quantized weights always; F32/F16/BF16 when both forwards hold >= 32 rows, or
    // both fewer: core matmul's GEMM threshold) and otherwise differs by float rounding only.
    // Forwards hold at most `max_rows` rows (0 = kBatchRows; a longer sequence runs alone), so
    // working memory stays near max_rows * (7 C + F) floats however many sequences come in.
    static constexpr int64_t kBatchRows = 512;

    // Hidden states [T_i, C] of each sequence.
    std::vector<std::vector<float>> hidden_batch(std::span<const std::vector<TokenId>> seqs,
                                                 core::ThreadPool& pool,
                                                 int64_t max_rows = 0) const;
    // Masked-LM logits [T_i, V] of each sequence.
    std::vector<std::vector<float>> mlm_logits_batch(std::span<const std::vector<TokenId>> seqs,
                                                     core::ThreadPool& pool,
                                                     int64_t max_rows = 0) const;
    // Mean-pooled unit embeddings [C] of each sequence (embed()).
    std::vector<std::vector<float>> embed_batch(std::span<const std::vector<TokenId>> seqs,
                                                core::ThreadPool& pool, int64_t max_rows = 0) const;
    // Both of the above from one pass of the encoder: `mean` as embed_batch(), and, when
    // with_pooler, `pooled` as pooled_batch() (else empty).
    struct Embeddings {
        std::vector<std::vector<float>> mean, pooled;
    };
    Embeddings embeddings_batch(std::span<const std::vector<TokenId>> seqs, core::ThreadPool& pool,
                                bool with_pooler, int64_t max_rows = 0) const;
    // The pooler output [C] of each sequence (pooled()): the [CLS] rows of all sequences go
    // through the pooler's dense layer as one matrix product. Error(Unsupported) without a pooler.
    std::vector<std::vector<float>> pooled_batch(std::span<const std::vector<TokenId>> seqs,
                                                 core::ThreadPool& pool,
                                                 int64_t max_rows = 0) const;
    // pseudo_log_likelihood() of each text. The masked copies of all texts (one per scored
    // position) are the rows of the forwards: the T copies of one text share its length, and
    // copies of texts of different lengths are packed side by side, up to max_rows rows per
    // forward; the MLM head runs only on each copy's masked row.
    std::vector<double> pseudo_log_likelihood_batch(std::span<const std::vector<TokenId>> texts,
                                                    core::ThreadPool& pool,
                                                    int64_t max_rows = 0) const;

private:
    EncoderModel() = default;
    struct Weights;
    void check_tokens(std::span<const TokenId> tokens) const;
    // check_tokens for every sequence, the message naming the sequence that fails.
    void check_batch(std::span<const std::vector<TokenId>> seqs) const;
    void require_mlm_head() const;
    void require_pooler() const;
    // Each sequence's output rows (hidden states, or MLM logits when `logits`), copied out.
    std::vector<std::vector<float>> rows_batch(std::span<const std::vector<TokenId>> seqs, int64_t max_rows,
                                               bool logits, core::ThreadPool& pool) const;
    // tanh(W h + b) of n [CLS] rows [n, C] -> [n, C].
    std::vector<float> pool_cls(const float* cls_rows, int64_t n, core::ThreadPool& pool) const;
    // Hidden states [N, C] of sequences packed row after row (tokens [N], N = sum of lengths);
    // sequence b has rows offset_b .. offset_b + lengths[b] - 1 and attends only to them.
    std::vector<float> encode(const TokenId* tokens, std::span<const int64_t> lengths,
                              core::ThreadPool& pool) const;
    // encode() of whole sequences, packed in order.
    std::vector<float> encode_seqs(std::span<const std::vector<TokenId>> seqs,
                                   core::ThreadPool& pool) const;
    // Runs the (checked) seqs in forwards of at most max_rows rows and hands each sequence's
    // output rows to take(i, rows) in order: hidden states [T_i, C], or MLM logits [T_i, V]
    // when `logits`. The rows live until take returns.
    void for_each_output(std::span<const std::vector<TokenId>> seqs, int64_t max_rows, bool logits,
                         core::ThreadPool& pool,
                         const std::function<void(size_t, const float*)>& take) const;
    // The pseudo-log-likelihood of each (checked) text.
    std::vector<double> pll(std::span<const std::vector<TokenId>> texts, core::ThreadPool& pool,
                            int64_t max_rows) const;
    // MLM logits [n, V] of n hidden rows [n, C].
    std::vector<float> head(const float* h, int64_t n, core::ThreadPool& pool) const;

    EncoderHParams hp_;
    std::unique_ptr<GgufFile> gguf_;
    std::unique_ptr<Tokenizer> tokenizer_;
    std::unique_ptr<Weights> w_;
    TokenId cls_ = -1, sep_ = -1, mask_ = -1;
};

}  // namespace lyra::model
