#!/usr/bin/python3
"""Writes a tiny random-init XLNet directory as Hugging Face saves one (config.json,
model.safetensors, tokenizer.json, tokenizer_config.json), for the XLNet import and parity
tests (tests/parity/xlnet_parity_test.cpp, tests/e2e/xlnet_test.cpp).

    /usr/bin/python3 make_xlnet_fixture.py OUT_DIR [--d-model 32 --heads 4 --d-inner 48
        --layers 2 --ff-activation gelu --mem-len 10 --clamp-len -1 --shared-r --untied
        --bare --seed 0 --config KEY=JSON ...]

XLNetLMHeadModel's tensors (transformer.word_embedding, transformer.mask_emb,
transformer.layer.N.rel_attn.{q,k,v,o,r} [d_model, n_head, d_head], r_w/r_r/r_s_bias
[n_head, d_head], seg_embed [2, n_head, d_head], layer_norm; ff.{layer_1,layer_2,layer_norm};
lm_loss.bias, and lm_loss.weight only with --untied: a tied head is saved once, as HF does).
--bare writes an XLNetModel (no "transformer." prefix, no lm_loss). --shared-r sets untie_r
false and writes one transformer.r_w_bias/r_r_bias/r_s_bias/seg_embed for all layers (the
original TensorFlow layout). --config KEY=JSON overrides or adds a config.json key (bad-input
cases), --bad-shape NAME makes that tensor one row short.

Tokenizer: SentencePiece Unigram with XLNet's special ids (<unk> 0, <s> 1, </s> 2, <cls> 3,
<sep> 4, <pad> 5, <mask> 6), its normalizer (`` and '' to ", NFKD, accents stripped, runs of
spaces collapsed), Metaspace, and the "$A <sep> <cls>" post-processor.
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_hf_fixture import write_safetensors  # noqa: E402

SPECIALS = ["<unk>", "<s>", "</s>", "<cls>", "<sep>", "<pad>", "<mask>"]


def xlnet_tokenizer():
    pieces = [(t, 0.0) for t in SPECIALS] + [("\u2581", -2.0)]
    pieces += [(ch, -4.0) for ch in "abcdefghijklmnopqrstuvwxyz0123456789.,!?'\""]
    pieces += [("\u2581" + ch, -4.5) for ch in "abcdefghijklmnopqrstuvwxyz"]
    pieces += [(w, -3.0) for w in ["he", "ll", "the", "\u2581once", "\u2581upon", "\u2581time",
                                   "\u2581a", "\u2581the", "\u2581story"]]
    added = [{"id": i, "content": t, "single_word": False, "lstrip": t == "<mask>",
              "rstrip": False, "normalized": False, "special": True}
             for i, t in enumerate(SPECIALS)]
    special = {t: {"id": t, "ids": [i], "tokens": [t]} for i, t in enumerate(SPECIALS)
               if t in ("<sep>", "<cls>")}
    tj = {"version": "1.0", "added_tokens": added,
          "normalizer": {"type": "Sequence", "normalizers": [
              {"type": "Replace", "pattern": {"String": "``"}, "content": "\""},
              {"type": "Replace", "pattern": {"String": "''"}, "content": "\""},
              {"type": "NFKD"}, {"type": "StripAccents"},
              {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
          "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581",
                            "prepend_scheme": "always", "split": True},
          "post_processor": {"type": "TemplateProcessing",
                             "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                        {"SpecialToken": {"id": "<sep>", "type_id": 0}},
                                        {"SpecialToken": {"id": "<cls>", "type_id": 2}}],
                             "pair": [], "special_tokens": special},
          "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                      "split": True},
          "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": False,
                    "vocab": [[p, s] for p, s in pieces]}}
    cfg = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "<sep>",
           "pad_token": "<pad>", "cls_token": "<cls>", "mask_token": "<mask>",
           "padding_side": "left", "do_lower_case": False, "keep_accents": False}
    return tj, cfg, len(pieces)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--d-model", type=int, default=32)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-inner", type=int, default=48)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--ff-activation", default="gelu")
    ap.add_argument("--mem-len", type=int, default=10)
    ap.add_argument("--clamp-len", type=int, default=-1)
    ap.add_argument("--shared-r", action="store_true")
    ap.add_argument("--untied", action="store_true")
    ap.add_argument("--bare", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--config", action="append", default=[])
    ap.add_argument("--bad-shape", default="")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    g = torch.Generator().manual_seed(a.seed)
    tj, tcfg, V = xlnet_tokenizer()
    C, H, F, L = a.d_model, a.heads, a.d_inner, a.layers
    D = C // H

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).float()

    pre = "" if a.bare else "transformer."
    t = {pre + "word_embedding.weight": rnd(V, C, scale=0.5),
         pre + "mask_emb": rnd(1, 1, C, scale=0.5)}

    def rel_biases(p):
        # Sizeable biases and segment embeddings, so that dropping one is visible in the logits.
        t[p + "r_w_bias"] = rnd(H, D, scale=0.5)
        t[p + "r_r_bias"] = rnd(H, D, scale=0.5)
        t[p + "r_s_bias"] = rnd(H, D, scale=0.5)
        t[p + "seg_embed"] = rnd(2, H, D, scale=1.0)

    if a.shared_r:
        rel_biases(pre)
    for i in range(L):
        p = "%slayer.%d." % (pre, i)
        for w in "qkvr":
            t[p + "rel_attn." + w] = rnd(C, H, D, scale=1.2 / math.sqrt(C))
        t[p + "rel_attn.o"] = rnd(C, H, D, scale=1.5 / math.sqrt(C))
        if not a.shared_r:
            rel_biases(p + "rel_attn.")
        t[p + "rel_attn.layer_norm.weight"] = 1.0 + rnd(C, scale=0.1)
        t[p + "rel_attn.layer_norm.bias"] = rnd(C, scale=0.1)
        t[p + "ff.layer_norm.weight"] = 1.0 + rnd(C, scale=0.1)
        t[p + "ff.layer_norm.bias"] = rnd(C, scale=0.1)
        t[p + "ff.layer_1.weight"] = rnd(F, C, scale=1.0 / math.sqrt(C))
        t[p + "ff.layer_1.bias"] = rnd(F, scale=0.1)
        t[p + "ff.layer_2.weight"] = rnd(C, F, scale=1.5 / math.sqrt(F))
        t[p + "ff.layer_2.bias"] = rnd(C, scale=0.1)
    if not a.bare:
        t["lm_loss.bias"] = rnd(V, scale=0.5)
        if a.untied:
            t["lm_loss.weight"] = rnd(V, C, scale=1.5 / math.sqrt(C))
    if a.bad_shape:
        t[a.bad_shape] = t[a.bad_shape][:-1].clone()
    write_safetensors(os.path.join(a.out, "model.safetensors"), t, {"format": "pt"})

    config = {"architectures": ["XLNetModel" if a.bare else "XLNetLMHeadModel"],
              "model_type": "xlnet", "vocab_size": V, "d_model": C, "n_layer": L, "n_head": H,
              "d_head": D, "d_inner": F, "ff_activation": a.ff_activation, "untie_r": not a.shared_r,
              "attn_type": "bi", "initializer_range": 0.02, "layer_norm_eps": 1e-12,
              "dropout": 0.1, "mem_len": a.mem_len if a.mem_len > 0 else None, "reuse_len": None,
              "bi_data": False, "clamp_len": a.clamp_len, "same_length": False,
              "summary_type": "last", "summary_use_proj": True, "summary_activation": "tanh",
              "summary_last_dropout": 0.1, "start_n_top": 5, "end_n_top": 5,
              "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 5,
              "tie_word_embeddings": not a.untied, "use_mems_eval": True}
    for kv in a.config:
        key, value = kv.split("=", 1)
        config[key] = json.loads(value)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(a.out, "tokenizer.json"), "w") as f:
        json.dump(tj, f, ensure_ascii=False)
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump(tcfg, f, indent=2)


if __name__ == "__main__":
    main()
