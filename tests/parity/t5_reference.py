#!/usr/bin/python3
"""Plain PyTorch T5ForConditionalGeneration over a Hugging Face directory (HF's layout and
names), for tests/parity/t5_parity_test.cpp. Written from the T5 paper and HF's modeling_t5
semantics, not from Lyra's code:

  - T5LayerNorm: x * rsqrt(mean(x^2) + eps) * w (no mean subtraction, no bias);
  - attention scores q.k^T + position_bias, NOT scaled by 1/sqrt(d_kv);
  - position_bias from block 0's relative_attention_bias of each stack, bucketed as HF's
    _relative_position_bucket (bidirectional in the encoder, causal in the decoder), shared by
    every block of the stack; cross-attention has none;
  - FFN relu (wi, wo) or gated-gelu (gelu_new(wi_0 x) * wi_1 x, wo);
  - tied embeddings: the decoder output is scaled by d_model^-0.5 before lm_head.

Usage: t5_reference.py HF_DIR OUT --source T... --decoder T... [--greedy N]
Writes OUT.enc (float32 [S, d_model], the encoder output after its final norm), OUT.logits
(float32 [T, vocab], the decoder logits at every decoder-input position) and, with --greedy,
OUT.greedy: N token ids (text) continued greedily from the decoder start token, recomputing the
whole decoder each step (no cache). float64 except the bucket arithmetic, which is float32 as in
HF so that bucket edges agree.
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_reference import read_safetensors  # noqa: E402

DT = torch.float64


def bucket(rel, bidirectional, num_buckets, max_distance):
    """HF's T5Attention._relative_position_bucket on a LongTensor of key - query offsets."""
    ret = torch.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        ret += (rel > 0).to(torch.long) * num_buckets
        rel = torch.abs(rel)
    else:
        rel = -torch.min(rel, torch.zeros_like(rel))
    max_exact = num_buckets // 2
    is_small = rel < max_exact
    large = max_exact + (torch.log(rel.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return ret + torch.where(is_small, rel, large)


class T5:
    def __init__(self, d):
        self.cfg = json.load(open(os.path.join(d, "config.json")))
        self.w = read_safetensors(os.path.join(d, "model.safetensors"))
        c = self.cfg
        self.H, self.DK = c["num_heads"], c["d_kv"]
        self.eps = c.get("layer_norm_epsilon", 1e-6)
        self.gated = c["feed_forward_proj"].startswith("gated-")
        self.nb = c.get("relative_attention_num_buckets", 32)
        self.md = c.get("relative_attention_max_distance", 128)
        self.tied = c.get("tie_word_embeddings", True)

    def norm(self, x, name):
        var = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.eps) * self.w[name]

    def bias(self, stack, q_len, k_len, bidirectional):
        rel = torch.arange(k_len)[None, :] - torch.arange(q_len)[:, None]
        b = bucket(rel, bidirectional, self.nb, self.md)
        table = self.w[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        return table[b].permute(2, 0, 1)  # [H, q, k]

    def attn(self, p, xq, xkv, bias, causal):
        H, DK = self.H, self.DK
        q = (xq @ self.w[p + "q.weight"].T).view(-1, H, DK).transpose(0, 1)
        k = (xkv @ self.w[p + "k.weight"].T).view(-1, H, DK).transpose(0, 1)
        v = (xkv @ self.w[p + "v.weight"].T).view(-1, H, DK).transpose(0, 1)
        s = q @ k.transpose(1, 2)
        if bias is not None:
            s = s + bias
        if causal:
            n = s.shape[-1]
            s = s.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
        o = torch.softmax(s, -1) @ v
        return o.transpose(0, 1).reshape(xq.shape[0], H * DK) @ self.w[p + "o.weight"].T

    def ffn(self, p, x):
        d = p + "DenseReluDense."
        if self.gated:
            g = torch.nn.functional.gelu(x @ self.w[d + "wi_0.weight"].T, approximate="tanh")
            h = g * (x @ self.w[d + "wi_1.weight"].T)
        else:
            h = torch.relu(x @ self.w[d + "wi.weight"].T)
        return h @ self.w[d + "wo.weight"].T

    def encode(self, ids):
        x = self.w["shared.weight"][torch.tensor(ids)]
        bias = self.bias("encoder", len(ids), len(ids), True)
        for i in range(self.cfg["num_layers"]):
            p = f"encoder.block.{i}.layer."
            x = x + self.attn(p + "0.SelfAttention.", self.norm(x, p + "0.layer_norm.weight"),
                              self.norm(x, p + "0.layer_norm.weight"), bias, False)
            x = x + self.ffn(p + "1.", self.norm(x, p + "1.layer_norm.weight"))
        return self.norm(x, "encoder.final_layer_norm.weight")

    def decode(self, enc, ids):
        x = self.w["shared.weight"][torch.tensor(ids)]
        bias = self.bias("decoder", len(ids), len(ids), False)
        for i in range(self.cfg.get("num_decoder_layers") or self.cfg["num_layers"]):
            p = f"decoder.block.{i}.layer."
            h = self.norm(x, p + "0.layer_norm.weight")
            x = x + self.attn(p + "0.SelfAttention.", h, h, bias, True)
            x = x + self.attn(p + "1.EncDecAttention.", self.norm(x, p + "1.layer_norm.weight"),
                              enc, None, False)
            x = x + self.ffn(p + "2.", self.norm(x, p + "2.layer_norm.weight"))
        x = self.norm(x, "decoder.final_layer_norm.weight")
        if self.tied:
            x = x * self.cfg["d_model"] ** -0.5
            return x @ self.w["shared.weight"].T
        return x @ self.w["lm_head.weight"].T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("out")
    ap.add_argument("--source", type=int, nargs="+", required=True)
    ap.add_argument("--decoder", type=int, nargs="+", required=True)
    ap.add_argument("--greedy", type=int, default=0)
    a = ap.parse_args()
    m = T5(a.dir)
    with torch.no_grad():
        enc = m.encode(a.source)
        enc.to(torch.float32).numpy().tofile(a.out + ".enc")
        m.decode(enc, a.decoder).to(torch.float32).numpy().tofile(a.out + ".logits")
        if a.greedy:
            ids = [m.cfg.get("decoder_start_token_id", 0)]
            for _ in range(a.greedy):
                ids.append(int(m.decode(enc, ids)[-1].argmax()))
            with open(a.out + ".greedy", "w") as f:
                f.write(" ".join(str(t) for t in ids[1:]) + "\n")


if __name__ == "__main__":
    main()
