#!/usr/bin/python3
"""Plain PyTorch reference forward passes for Lyra's inference parity test (issue 2).

Usage: reference_models.py SPEC.json

SPEC.json (written by tests/parity/model_parity_test.cpp) names one architecture, its
hyperparameters, a prompt of token ids, and one or more models: for each, a float32 file of the
model's weights AS LYRA DEQUANTIZES THEM (so quantized types are compared on equal weights) with
a manifest of tensor names, shapes (PyTorch order, [out, in]) and offsets. For each model this
writes:
  <out>.logits.bin      float32 [T, V]: logits for every prompt position (one batched forward)
  <out>.trace.bin       float32 intermediates, listed in <out>.json
  <out>.json            {"trace": [{"name", "layer", "rows", "cols", "offset"}], "greedy": [...]}
"greedy" holds n_greedy tokens continued greedily from the prompt, each step recomputing the
whole sequence from scratch (no KV cache), so it checks Lyra's cache independently.

The architectures are written from their definitions, not from Lyra's code, in float64:
  llama: RMSNorm, RoPE (positions x freq_scale, frequencies divided by rope_freqs.weight when
         the file has it, as Llama 3.1 files do) on adjacent pairs (GGUF llama files store q/k permuted for that, which
         is Meta's original complex-number formulation), causal grouped-query attention, SwiGLU.
  qwen2: llama plus q/k/v biases, RoPE on (i, i + n_rot/2) pairs (the NeoX / HF "rotate_half").
  gpt2:  learned positions, LayerNorm with bias, fused QKV, GELU (tanh), biases everywhere.
One process handles every weight type of an architecture to keep the run short.
"""
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

DT = torch.float64


def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope(x, pos, hp, factors=None):
    """x [T, H, D] rotated per position; hp holds n_rot, freq_base, freq_scale, style;
    factors: Llama 3.1's per-frequency divisors (rope_freqs.weight) or None."""
    n_rot, half = hp["n_rot"], hp["n_rot"] // 2
    i = torch.arange(half, dtype=DT)
    inv_freq = hp["freq_base"] ** (-2.0 * i / n_rot)
    if factors is not None:
        inv_freq = inv_freq / factors
    ang = (pos.to(DT) * hp["freq_scale"])[:, None] * inv_freq[None, :]  # [T, half]
    c, s = torch.cos(ang)[:, None, :], torch.sin(ang)[:, None, :]
    x = x.clone()
    if hp["rope_style"] == "interleaved":
        x0, x1 = x[..., 0:n_rot:2].clone(), x[..., 1:n_rot:2].clone()
        x[..., 0:n_rot:2] = x0 * c - x1 * s
        x[..., 1:n_rot:2] = x0 * s + x1 * c
    else:
        x0, x1 = x[..., :half].clone(), x[..., half:n_rot].clone()
        x[..., :half] = x0 * c - x1 * s
        x[..., half:n_rot] = x0 * s + x1 * c
    return x


def causal_attention(q, k, v):
    """q [T, H, D], k/v [T, Hkv, D] -> [T, H*D]; query head h reads kv head h // (H/Hkv)."""
    T, H, D = q.shape
    group = H // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(D)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    p = torch.softmax(scores, dim=-1)
    return torch.einsum("hts,shd->thd", p, v).reshape(T, H * D)


class Tracer:
    def __init__(self):
        self.items = []

    def __call__(self, name, layer, x):
        x = x.reshape(x.shape[0], -1)
        self.items.append((name, layer, x.to(torch.float32).numpy().copy()))


def llama_forward(W, hp, tokens, tr):
    T = len(tokens)
    H, Hkv, D, eps = hp["n_head"], hp["n_head_kv"], hp["head_dim"], hp["norm_eps"]
    pos = torch.arange(T)
    x = W["token_embd.weight"][tokens]
    tr("inp_embd", -1, x)
    for l in range(hp["n_layer"]):
        p = lambda n: W["blk.%d.%s" % (l, n)]
        has = lambda n: ("blk.%d.%s" % (l, n)) in W
        h = rms_norm(x, p("attn_norm.weight"), eps)
        tr("attn_norm", l, h)
        q, k, v = h @ p("attn_q.weight").T, h @ p("attn_k.weight").T, h @ p("attn_v.weight").T
        if has("attn_q.bias"):
            q, k, v = q + p("attn_q.bias"), k + p("attn_k.bias"), v + p("attn_v.bias")
        q = rope(q.reshape(T, H, D), pos, hp, W.get("rope_freqs.weight"))
        k = rope(k.reshape(T, Hkv, D), pos, hp, W.get("rope_freqs.weight"))
        v = v.reshape(T, Hkv, D)
        a = causal_attention(q, k, v) @ p("attn_output.weight").T
        tr("attn_out", l, a)
        x = x + a
        h = rms_norm(x, p("ffn_norm.weight"), eps)
        tr("ffn_norm", l, h)
        f = (F.silu(h @ p("ffn_gate.weight").T) * (h @ p("ffn_up.weight").T)) @ p("ffn_down.weight").T
        tr("ffn_out", l, f)
        x = x + f
        tr("l_out", l, x)
    x = rms_norm(x, W["output_norm.weight"], eps)
    tr("result_norm", -1, x)
    return x @ W.get("output.weight", W["token_embd.weight"]).T


def gpt2_forward(W, hp, tokens, tr):
    T, C = len(tokens), hp["n_embd"]
    H, D, eps = hp["n_head"], hp["head_dim"], hp["norm_eps"]
    x = W["token_embd.weight"][tokens] + W["position_embd.weight"][:T]
    tr("inp_embd", -1, x)
    for l in range(hp["n_layer"]):
        p = lambda n: W["blk.%d.%s" % (l, n)]
        h = F.layer_norm(x, (C,), p("attn_norm.weight"), p("attn_norm.bias"), eps)
        tr("attn_norm", l, h)
        qkv = h @ p("attn_qkv.weight").T + p("attn_qkv.bias")
        q, k, v = (qkv[:, i * C:(i + 1) * C].reshape(T, H, D) for i in range(3))
        a = causal_attention(q, k, v) @ p("attn_output.weight").T + p("attn_output.bias")
        tr("attn_out", l, a)
        x = x + a
        h = F.layer_norm(x, (C,), p("ffn_norm.weight"), p("ffn_norm.bias"), eps)
        tr("ffn_norm", l, h)
        u = F.gelu(h @ p("ffn_up.weight").T + p("ffn_up.bias"), approximate="tanh")
        f = u @ p("ffn_down.weight").T + p("ffn_down.bias")
        tr("ffn_out", l, f)
        x = x + f
        tr("l_out", l, x)
    x = F.layer_norm(x, (C,), W["output_norm.weight"], W["output_norm.bias"], eps)
    tr("result_norm", -1, x)
    return x @ W.get("output.weight", W["token_embd.weight"]).T


def load_weights(model):
    flat = np.fromfile(model["weights"], dtype=np.float32)
    W = {}
    for t in model["tensors"]:
        n = int(np.prod(t["shape"]))
        a = flat[t["offset"]:t["offset"] + n].reshape(t["shape"])
        W[t["name"]] = torch.from_numpy(a.astype(np.float64))
    return W


def main():
    spec = json.load(open(sys.argv[1]))
    hp = spec["hparams"]
    forward = gpt2_forward if spec["arch"] == "gpt2" else llama_forward
    prompt = torch.tensor(spec["prompt"], dtype=torch.long)
    torch.set_num_threads(1)
    with torch.no_grad():
        for model in spec["models"]:
            W = load_weights(model)
            tr = Tracer()
            logits = forward(W, hp, prompt, tr)
            logits.to(torch.float32).numpy().tofile(model["out"] + ".logits.bin")
            trace, offset = [], 0
            with open(model["out"] + ".trace.bin", "wb") as f:
                for name, layer, a in tr.items:
                    a.tofile(f)
                    trace.append({"name": name, "layer": layer, "rows": a.shape[0],
                                  "cols": a.shape[1], "offset": offset})
                    offset += a.size
            seq = list(spec["prompt"])
            greedy = []
            for _ in range(model.get("n_greedy", 0)):
                nxt = int(torch.argmax(forward(W, hp, torch.tensor(seq), lambda *a: None)[-1]))
                greedy.append(nxt)
                seq.append(nxt)
            json.dump({"trace": trace, "greedy": greedy}, open(model["out"] + ".json", "w"))


if __name__ == "__main__":
    main()
