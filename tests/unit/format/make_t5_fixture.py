#!/usr/bin/python3
"""Writes a tiny random-init T5ForConditionalGeneration directory as Hugging Face saves one
(config.json, model.safetensors, tokenizer.json, tokenizer_config.json), for the T5 import and
parity tests (tests/parity/t5_parity_test.cpp, tests/e2e/t5_test.cpp).

    /usr/bin/python3 make_t5_fixture.py OUT_DIR [--dim 64 --layers 2 --dec-layers 3 --heads 4
        --d-kv 8 --ffn 96 --buckets 16 --max-distance 12 --ctx 64 --seed 0
        --feed-forward-proj relu|gated-gelu|... --tie|--no-tie --config-d-ff N]

--feed-forward-proj takes any string (the import must refuse unknown ones); weights follow
"gated-*" (wi_0, wi_1) or not (wi). --config-d-ff writes a d_ff into config.json that disagrees
with the tensors (a bad-input case). d_kv * heads need not equal dim (it does not in the
defaults, so the import must read d_kv). Tied models save lm_head.weight as a copy of
shared.weight, and both stacks' embed_tokens copies, as HF does.

Tokenizer: SentencePiece Unigram with T5's special ids (<pad> 0, </s> 1, <unk> 2); see
t5_tokenizer().
"""
import argparse
import json
import math
import os

import torch

from make_hf_fixture import write_safetensors


def t5_tokenizer():
    """A SentencePiece Unigram tokenizer.json as T5's: <pad> 0, </s> 1, <unk> 2, pieces with
    log-probability scores, a Metaspace pre-tokenizer and the "$A </s>" post-processor. No byte
    fallback (as T5): letters, digits and a few words are pieces, anything else is <unk>."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    pieces += [(ch, -4.0) for ch in "abcdefghijklmnopqrstuvwxyz0123456789.,!?'"]
    pieces += [("\u2581" + ch, -4.5) for ch in "abcdefghijklmnopqrstuvwxyz"]
    pieces += [(w, -3.0) for w in ["ab", "ba", "he", "ll", "hell", "\u2581hello", "\u2581the"]]
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True}
             for i, t in enumerate(["<pad>", "</s>", "<unk>"])]
    tj = {"version": "1.0", "added_tokens": added,
          "normalizer": {"type": "Sequence", "normalizers": [
              {"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
          "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581",
                            "prepend_scheme": "always", "split": True},
          "post_processor": {"type": "TemplateProcessing",
                             "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                        {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                             "pair": [], "special_tokens": {
                                 "</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
          "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                      "split": True},
          "model": {"type": "Unigram", "unk_id": 2, "byte_fallback": False,
                    "vocab": [[p, s] for p, s in pieces]}}
    cfg = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
           "model_max_length": 512}
    return tj, cfg, len(pieces)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dec-layers", type=int, default=3)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-kv", type=int, default=8)
    ap.add_argument("--ffn", type=int, default=96)
    ap.add_argument("--buckets", type=int, default=16)
    ap.add_argument("--max-distance", type=int, default=12)
    ap.add_argument("--ctx", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--feed-forward-proj", default="relu")
    ap.add_argument("--tie", dest="tie", action="store_true", default=True)
    ap.add_argument("--no-tie", dest="tie", action="store_false")
    ap.add_argument("--config-d-ff", type=int, default=None)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(a.seed)
    tj, tcfg, V = t5_tokenizer()
    C, H, DK, F, NB = a.dim, a.heads, a.d_kv, a.ffn, a.buckets
    HD = H * DK
    gated = a.feed_forward_proj.startswith("gated-")

    def rnd(*shape, scale=None):
        return torch.randn(*shape) * (scale if scale is not None else 1.0 / math.sqrt(shape[-1]))

    def norm_w(n):
        return 1.0 + 0.1 * torch.randn(n)

    # Small embeddings and strong block outputs: the residual stream is dominated by the blocks,
    # so a tied head does not just echo the input token and greedy runs vary.
    hf = {"shared.weight": rnd(V, C, scale=0.2)}
    hf["encoder.embed_tokens.weight"] = hf["shared.weight"].clone()
    hf["decoder.embed_tokens.weight"] = hf["shared.weight"].clone()

    def attention(p, rel):
        # T5 has no 1/sqrt(d_kv) in its scores; q at reduced scale keeps them moderate.
        hf[p + "q.weight"] = rnd(HD, C, scale=0.5 / math.sqrt(C))
        hf[p + "k.weight"] = rnd(HD, C)
        hf[p + "v.weight"] = rnd(HD, C)
        hf[p + "o.weight"] = rnd(C, HD, scale=2.0 / math.sqrt(HD))
        if rel:
            hf[p + "relative_attention_bias.weight"] = rnd(NB, H, scale=2.0)

    def ffn(p):
        d = p + "DenseReluDense."
        if gated:
            hf[d + "wi_0.weight"] = rnd(F, C)
            hf[d + "wi_1.weight"] = rnd(F, C)
        else:
            hf[d + "wi.weight"] = rnd(F, C)
        hf[d + "wo.weight"] = rnd(C, F, scale=2.0 / math.sqrt(F))
        hf[p + "layer_norm.weight"] = norm_w(C)

    for stack, n in [("encoder", a.layers), ("decoder", a.dec_layers)]:
        for i in range(n):
            p = f"{stack}.block.{i}.layer."
            attention(p + "0.SelfAttention.", i == 0)
            hf[p + "0.layer_norm.weight"] = norm_w(C)
            if stack == "decoder":
                attention(p + "1.EncDecAttention.", False)
                hf[p + "1.layer_norm.weight"] = norm_w(C)
            ffn(p + ("2." if stack == "decoder" else "1."))
        hf[stack + ".final_layer_norm.weight"] = norm_w(C)
    hf["lm_head.weight"] = hf["shared.weight"].clone() if a.tie else rnd(V, C, scale=1.0)

    config = {"architectures": ["T5ForConditionalGeneration"], "model_type": "t5",
              "vocab_size": V, "d_model": C, "d_kv": DK,
              "d_ff": a.config_d_ff if a.config_d_ff else F,
              "num_layers": a.layers, "num_decoder_layers": a.dec_layers, "num_heads": H,
              "relative_attention_num_buckets": NB, "relative_attention_max_distance": a.max_distance,
              "layer_norm_epsilon": 1e-6, "feed_forward_proj": a.feed_forward_proj,
              "tie_word_embeddings": a.tie, "is_encoder_decoder": True, "n_positions": a.ctx,
              "decoder_start_token_id": 0, "pad_token_id": 0, "eos_token_id": 1,
              "dropout_rate": 0.1, "initializer_factor": 1.0}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(a.out, "tokenizer.json"), "w") as f:
        json.dump(tj, f, ensure_ascii=False)
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump(tcfg, f, indent=2)
    write_safetensors(os.path.join(a.out, "model.safetensors"), hf, {"format": "pt"})


if __name__ == "__main__":
    main()
