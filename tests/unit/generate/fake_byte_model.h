// A weightless Model for the generate tests: the byte vocabulary and a one-unit shape (enough
// for a Session), so a test writes only forward() with the logits it wants to see sampled.
#pragma once

#include <cstdint>
#include <string>

#include "model/model.h"
#include "model/tokenizer/char_vocab.h"

namespace lyra::gen {

class FakeByteModel : public model::Model {
public:
    model::TokenId id_of(char c) const { return tokenizer_->encode(std::string(1, c), false).at(0); }

protected:
    explicit FakeByteModel(int64_t n_ctx) {
        tokenizer_ = model::build_byte_vocab();
        hparams_.n_vocab = tokenizer_->n_vocab();
        hparams_.n_ctx = n_ctx;
        hparams_.n_embd = 1;
        hparams_.n_layer = 1;
        hparams_.n_head = 1;
        hparams_.n_head_kv = 1;
        hparams_.head_dim = 1;
    }
};

}  // namespace lyra::gen
