#!/usr/bin/python3
"""Writes a tiny random Hugging Face Transformer-XL directory (TransfoXLLMHeadModel's tensor
names and config keys) for the import and parity tests.

    /usr/bin/python3 make_transfo_xl_fixture.py OUT_DIR [--d-model 32 --d-embed 32 --heads 4
        --d-head 6 --d-inner 48 --layers 2 --cutoffs 40,120 --div-val 2 --mem-len 12
        --clamp-len 0 --tgt-len 48 --pre-lnorm --same-length --shared-r --untied
        --tie-projs 0,1,1 --seed 0]

OUT_DIR receives config.json, tokenizer.json (byte-level BPE, 262 tokens, from
make_hf_fixture.py), tokenizer_config.json and model.safetensors. Tied weights are saved once,
as Hugging Face's safetensors export does: crit.out_layers.K.weight and crit.out_projs.K are left
out where tie_word_embeddings / tie_projs share them with the embedding. --shared-r writes one
transformer.r_w_bias/r_r_bias (untie_r false) instead of one per layer; --untied sets
tie_word_embeddings false and writes the output tables. The values are random but scaled so that
the log-probabilities are far from uniform (a greedy run is then a real check).
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_hf_fixture import byte_level_tokenizer, write_safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--d-model", type=int, default=32)
    ap.add_argument("--d-embed", type=int, default=32)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-head", type=int, default=6)
    ap.add_argument("--d-inner", type=int, default=48)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--cutoffs", default="40,120")
    ap.add_argument("--div-val", type=int, default=2)
    ap.add_argument("--mem-len", type=int, default=12)
    ap.add_argument("--clamp-len", type=int, default=0)
    ap.add_argument("--tgt-len", type=int, default=48)
    ap.add_argument("--pre-lnorm", action="store_true")
    ap.add_argument("--same-length", action="store_true")
    ap.add_argument("--shared-r", action="store_true")
    ap.add_argument("--untied", action="store_true")
    ap.add_argument("--tie-projs", default="0,1,1")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    g = torch.Generator().manual_seed(a.seed)

    tj, tok_cfg, V = byte_level_tokenizer("transfo-xl")
    cutoffs = [int(x) for x in a.cutoffs.split(",") if x]
    tie_projs = [x == "1" for x in a.tie_projs.split(",") if x][: len(cutoffs) + 1]
    C, E, H, D, F, L = a.d_model, a.d_embed, a.heads, a.d_head, a.d_inner, a.layers
    ends = [0] + cutoffs + [V]
    n_clusters = len(cutoffs) + 1

    def rnd(*shape, scale=0.3):
        return (torch.randn(*shape, generator=g) * scale).float()

    t = {}
    widths = [E // (a.div_val ** k) for k in range(n_clusters)] if a.div_val > 1 else [E] * n_clusters
    tables = n_clusters if a.div_val > 1 else 1
    for k in range(tables):
        n = ends[k + 1] - ends[k] if a.div_val > 1 else V
        w = widths[k]
        t["transformer.word_emb.emb_layers.%d.weight" % k] = rnd(n, w, scale=1.0 / w ** 0.5)
        if a.div_val > 1 or C != E:
            t["transformer.word_emb.emb_projs.%d" % k] = rnd(C, w, scale=1.0 / w ** 0.5)
        if a.untied:
            t["crit.out_layers.%d.weight" % k] = rnd(n, w, scale=1.5 / w ** 0.5)
        t["crit.out_layers.%d.bias" % k] = rnd(n, scale=0.5)
    for k in range(n_clusters):
        tied = k < len(tie_projs) and tie_projs[k] and (a.div_val > 1 or C != E)
        if (a.div_val > 1 or C != E) and not tied:
            t["crit.out_projs.%d" % k] = rnd(C, widths[k], scale=1.0 / C ** 0.5)
    if n_clusters > 1:
        t["crit.cluster_weight"] = rnd(n_clusters - 1, E, scale=1.0 / E ** 0.5)
        # Raised so that greedy picks from the tail clusters too (their tokens share the mass).
        t["crit.cluster_bias"] = 2.5 + rnd(n_clusters - 1, scale=0.5)
    t["transformer.pos_emb.inv_freq"] = 1 / (10000 ** (torch.arange(0.0, C, 2.0) / C))
    if a.shared_r:
        t["transformer.r_w_bias"] = rnd(H, D)
        t["transformer.r_r_bias"] = rnd(H, D)
    for i in range(L):
        p = "transformer.layers.%d." % i
        t[p + "dec_attn.qkv_net.weight"] = rnd(3 * H * D, C, scale=1.0 / C ** 0.5)
        t[p + "dec_attn.r_net.weight"] = rnd(H * D, C, scale=1.0 / C ** 0.5)
        t[p + "dec_attn.o_net.weight"] = rnd(C, H * D, scale=1.0 / (H * D) ** 0.5)
        if not a.shared_r:
            t[p + "dec_attn.r_w_bias"] = rnd(H, D)
            t[p + "dec_attn.r_r_bias"] = rnd(H, D)
        t[p + "dec_attn.layer_norm.weight"] = 1.0 + rnd(C, scale=0.1)
        t[p + "dec_attn.layer_norm.bias"] = rnd(C, scale=0.1)
        t[p + "pos_ff.CoreNet.0.weight"] = rnd(F, C, scale=1.0 / C ** 0.5)
        t[p + "pos_ff.CoreNet.0.bias"] = rnd(F, scale=0.1)
        t[p + "pos_ff.CoreNet.3.weight"] = rnd(C, F, scale=1.0 / F ** 0.5)
        t[p + "pos_ff.CoreNet.3.bias"] = rnd(C, scale=0.1)
        t[p + "pos_ff.layer_norm.weight"] = 1.0 + rnd(C, scale=0.1)
        t[p + "pos_ff.layer_norm.bias"] = rnd(C, scale=0.1)
    write_safetensors(os.path.join(a.out, "model.safetensors"), t, {"format": "pt"})

    config = {"architectures": ["TransfoXLLMHeadModel"], "model_type": "transfo-xl",
              "vocab_size": V, "cutoffs": cutoffs, "d_model": C, "d_embed": E, "n_head": H,
              "d_head": D, "d_inner": F, "div_val": a.div_val, "pre_lnorm": a.pre_lnorm,
              "n_layer": L, "mem_len": a.mem_len, "clamp_len": a.clamp_len,
              "same_length": a.same_length, "proj_share_all_but_first": True, "attn_type": 0,
              "sample_softmax": -1, "adaptive": True, "dropout": 0.1, "dropatt": 0.0,
              "untie_r": not a.shared_r, "init": "normal", "init_range": 0.01,
              "proj_init_std": 0.01, "init_std": 0.02, "layer_norm_epsilon": 1e-5,
              "tgt_len": a.tgt_len, "tie_word_embeddings": not a.untied, "tie_projs": tie_projs,
              "eos_token_id": V - 1}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    with open(os.path.join(a.out, "tokenizer.json"), "w") as f:
        json.dump(tj, f)
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump(tok_cfg, f)


if __name__ == "__main__":
    main()
