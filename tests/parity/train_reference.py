#!/usr/bin/python3
"""Plain PyTorch reference for Lyra's trainer (issue 3, gradient parity).

Usage: train_reference.py DIR
Reads DIR/manifest.json (config, parameter names/shapes, batches, AdamW settings) and
DIR/params.bin (float32 parameters concatenated in manifest order), written by
tests/parity/train_grad_test.cpp. Writes DIR/grads.bin (the gradient of the mean cross-entropy
of batch 0, same order) and DIR/result.json ({"loss": batch-0 loss, "losses": the loss of each
of the AdamW steps, one batch per step}).
With a "lora" entry in the manifest (scale, A/B names and shapes) and DIR/lora.bin, it writes
instead the loss and the gradients of the LoRA A/B tensors (DIR/lora_grads.bin), base frozen.

The model is written from the architecture's definition, not from Lyra's code:
  llama: RMSNorm, interleaved-pair RoPE (GGUF layout), causal GQA attention, SwiGLU FFN.
  gpt2:  learned positions, LayerNorm, fused QKV with biases, GELU (tanh), biases everywhere.
"""
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F


def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope_interleaved(x, base):
    # x: [B, T, H, D]; pairs (0,1), (2,3), ... rotate by theta = pos * base^(-2i/D)
    B, T, H, D = x.shape
    i = torch.arange(D // 2, dtype=torch.float32)
    freq = base ** (-2.0 * i / D)
    theta = torch.arange(T, dtype=torch.float32)[:, None] * freq[None, :]  # [T, D/2]
    c = torch.cos(theta)[None, :, None, :]
    s = torch.sin(theta)[None, :, None, :]
    x0 = x[..., 0::2]
    x1 = x[..., 1::2]
    y0 = x0 * c - x1 * s
    y1 = x0 * s + x1 * c
    return torch.stack([y0, y1], dim=-1).reshape(B, T, H, D)


def attention(q, k, v, n_head, n_head_kv):
    # q: [B, T, H, D]; k, v: [B, T, G, D]
    B, T, H, D = q.shape
    rep = n_head // n_head_kv
    k = k.repeat_interleave(rep, dim=2)
    v = v.repeat_interleave(rep, dim=2)
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, H, T, D]
    att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    att = att.masked_fill(mask, float("-inf")).softmax(-1)
    return (att @ v).transpose(1, 2).reshape(B, T, H * D)


def forward(cfg, P, tokens, targets):
    B, T = tokens.shape
    C, H = cfg["n_embd"], cfg["n_head"]
    G = cfg["n_head_kv"]
    D = C // H
    eps = cfg["norm_eps"]
    gpt2 = cfg["arch"] == "gpt2"
    x = P["token_embd.weight"][tokens]
    if gpt2:
        x = x + P["position_embd.weight"][:T][None]
    for l in range(cfg["n_layer"]):
        p = lambda n: P[f"blk.{l}.{n}"]
        if gpt2:
            h = F.layer_norm(x, (C,), p("attn_norm.weight"), p("attn_norm.bias"), eps)
            qkv = h @ p("attn_qkv.weight").T + p("attn_qkv.bias")
            q, k, v = qkv.split(C, dim=-1)
            a = attention(q.view(B, T, H, D), k.view(B, T, H, D), v.view(B, T, H, D), H, H)
            x = x + a @ p("attn_output.weight").T + p("attn_output.bias")
            h = F.layer_norm(x, (C,), p("ffn_norm.weight"), p("ffn_norm.bias"), eps)
            h = F.gelu(h @ p("ffn_up.weight").T + p("ffn_up.bias"), approximate="tanh")
            x = x + h @ p("ffn_down.weight").T + p("ffn_down.bias")
        else:
            h = rms_norm(x, p("attn_norm.weight"), eps)
            q = rope_interleaved((h @ p("attn_q.weight").T).view(B, T, H, D), cfg["rope_base"])
            k = rope_interleaved((h @ p("attn_k.weight").T).view(B, T, G, D), cfg["rope_base"])
            v = (h @ p("attn_v.weight").T).view(B, T, G, D)
            x = x + attention(q, k, v, H, G) @ p("attn_output.weight").T
            h = rms_norm(x, p("ffn_norm.weight"), eps)
            h = F.silu(h @ p("ffn_gate.weight").T) * (h @ p("ffn_up.weight").T)
            x = x + h @ p("ffn_down.weight").T
    if gpt2:
        x = F.layer_norm(x, (C,), P["output_norm.weight"], P["output_norm.bias"], eps)
    else:
        x = rms_norm(x, P["output_norm.weight"], eps)
    w_out = P["token_embd.weight"] if cfg["tied_output"] else P["output.weight"]
    logits = x @ w_out.T
    return F.cross_entropy(logits.view(B * T, -1), targets.view(-1), ignore_index=-1)


def lora_gradients(d, man, cfg, P, batch):
    """LoRA: W_eff = W + scale * B @ A for every adapted W (the merged form, not Lyra's factored
    one). Writes the loss and the gradients of every A and B (DIR/lora.bin order) to
    DIR/lora_grads.bin."""
    flat = np.fromfile(f"{d}/lora.bin", dtype=np.float32)
    L, order, off = {}, [], 0
    for spec in man["lora"]["params"]:
        n = int(np.prod(spec["shape"]))
        L[spec["name"]] = torch.tensor(flat[off:off + n].reshape(spec["shape"]), requires_grad=True)
        order.append(spec["name"])
        off += n
    assert off == flat.size, "lora.bin size disagrees with the manifest"
    s = man["lora"]["scale"]
    E = {n: t.detach() for n, t in P.items()}
    for n in order:
        if n.endswith(".lora_a"):
            w = n[: -len(".lora_a")]
            E[w] = E[w] + s * (L[w + ".lora_b"] @ L[n])
    loss = forward(cfg, E, *batch)
    loss.backward()
    np.concatenate([L[n].grad.numpy().ravel() for n in order]).astype(np.float32).tofile(
        f"{d}/lora_grads.bin")
    json.dump({"loss": float(loss)}, open(f"{d}/result.json", "w"))


def main():
    d = sys.argv[1]
    man = json.load(open(f"{d}/manifest.json"))
    cfg = man["config"]
    flat = np.fromfile(f"{d}/params.bin", dtype=np.float32)
    P, order, off = {}, [], 0
    for spec in man["params"]:
        n = int(np.prod(spec["shape"]))
        P[spec["name"]] = torch.tensor(flat[off:off + n].reshape(spec["shape"]), requires_grad=True)
        order.append((spec["name"], spec["decay"]))
        off += n
    assert off == flat.size, "params.bin size disagrees with the manifest"
    B, T = man["B"], man["T"]
    batches = [(torch.tensor(b["tokens"]).view(B, T), torch.tensor(b["targets"]).view(B, T))
               for b in man["batches"]]

    if "lora" in man:
        return lora_gradients(d, man, cfg, P, batches[0])
    loss = forward(cfg, P, *batches[0])
    loss.backward()
    grads = np.concatenate([P[n].grad.numpy().ravel() for n, _ in order]).astype(np.float32)
    grads.tofile(f"{d}/grads.bin")
    for n, _ in order:
        P[n].grad = None

    opt_cfg = man["adamw"]
    decay = [P[n] for n, dec in order if dec]
    no_decay = [P[n] for n, dec in order if not dec]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": opt_cfg["weight_decay"]},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=opt_cfg["lr"], betas=(opt_cfg["beta1"], opt_cfg["beta2"]), eps=opt_cfg["eps"])
    losses = []
    for step in range(man["steps"]):
        opt.zero_grad()
        l = forward(cfg, P, *batches[step % len(batches)])
        l.backward()
        torch.nn.utils.clip_grad_norm_([P[n] for n, _ in order], opt_cfg["grad_clip"])
        opt.step()
        losses.append(float(l))
    json.dump({"loss": float(loss), "losses": losses}, open(f"{d}/result.json", "w"))


if __name__ == "__main__":
    torch.manual_seed(0)
    torch.set_num_threads(1)
    main()
