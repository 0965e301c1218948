#!/usr/bin/python3
"""Plain PyTorch forward of a Hugging Face model directory, in HF's own layout, for the import
parity test (tests/parity/hf_parity_test.cpp).

Usage: hf_reference.py HF_DIR OUT.bin [--greedy N] TOKEN [TOKEN ...]
       hf_reference.py --encoder HF_DIR OUT TOKEN [TOKEN ...]   (bert, roberta, albert: see encoder)
       hf_reference.py --encoder-batch HF_DIR OUT IDS [IDS ...]  (IDS: one sequence, comma-separated;
                                                               see encoder_batch_main)

Reads config.json and model.safetensors (parsed by hand: 8-byte header size, JSON header, raw
little-endian data) and writes float32 logits [T, V] for the tokens. Unlike
reference_models.py, which runs GGUF-layout weights, this follows the HF code paths: llama and
qwen2 rotate q/k with rotate_half on the ORIGINAL (unpermuted) projections, llama3 rope scaling
is computed from the config as HF's _compute_llama3_parameters does, and gpt2's Conv1D weights
are [in, out] (y = x @ W + b); gpt_neo follows GPTNeoForCausalLM (see gpt_neo below). With
--greedy N it also writes OUT.bin.greedy: N token ids (text, one line) continued greedily from
the tokens, each step recomputing the whole sequence (no cache). So Lyra's import (q/k permutation, transposes, rope_freqs) and
its GGUF forward are checked together against an independent formulation. float64 throughout.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

DT = torch.float64


def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = np.frombuffer(data[b:e], dtype=np.uint8)
        if info["dtype"] == "F32":
            a = raw.view(np.float32)
        elif info["dtype"] == "F16":
            a = raw.view(np.float16).astype(np.float32)
        elif info["dtype"] == "BF16":
            a = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] in ("BOOL", "I64"):
            continue  # a mask or position-id buffer (GPT-Neo's attn.attention.bias, BERT's
                      # embeddings.position_ids), not a weight
        else:
            raise SystemExit("unsupported dtype " + info["dtype"])
        out[name] = torch.from_numpy(a.reshape(info["shape"]).astype(np.float64))
    return out


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def inv_freqs(cfg, D):
    inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, D, 2, dtype=DT) / D))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > old / lo, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / hi) & ~(wavelen > old / lo)
        inv = torch.where(medium, smoothed, scaled)
    return inv, (1.0 / rs["factor"] if kind == "linear" else 1.0)


def llama(W, cfg, tokens):
    T, C = len(tokens), cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    Hkv = cfg.get("num_key_value_heads", H)
    D, eps = C // H, cfg["rms_norm_eps"]
    inv, pos_scale = inv_freqs(cfg, D)
    ang = (torch.arange(T, dtype=DT) * pos_scale)[:, None] * inv[None, :]
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = torch.cos(emb)[:, None, :], torch.sin(emb)[:, None, :]
    rms = lambda x, w: x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    x = W["model.embed_tokens.weight"][tokens]
    for i in range(cfg["num_hidden_layers"]):
        p = lambda n: W.get(f"model.layers.{i}.{n}")
        h = rms(x, p("input_layernorm.weight"))
        proj = lambda n: h @ p(f"self_attn.{n}.weight").T + (p(f"self_attn.{n}.bias") if p(f"self_attn.{n}.bias") is not None else 0)
        q, k, v = proj("q_proj").reshape(T, H, D), proj("k_proj").reshape(T, Hkv, D), proj("v_proj").reshape(T, Hkv, D)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(H // Hkv, 1), v.repeat_interleave(H // Hkv, 1)
        s = torch.einsum("thd,shd->hts", q, k) / math.sqrt(D)
        a = torch.einsum("hts,shd->thd", torch.softmax(s.masked_fill(mask, float("-inf")), -1), v)
        x = x + a.reshape(T, H * D) @ p("self_attn.o_proj.weight").T
        h = rms(x, p("post_attention_layernorm.weight"))
        x = x + (F.silu(h @ p("mlp.gate_proj.weight").T) * (h @ p("mlp.up_proj.weight").T)) @ p("mlp.down_proj.weight").T
    x = rms(x, W["model.norm.weight"])
    return x @ W.get("lm_head.weight", W["model.embed_tokens.weight"]).T


def gpt2(W, cfg, tokens):
    pre = "transformer." if "transformer.wte.weight" in W else ""
    T, C, H = len(tokens), cfg["n_embd"], cfg["n_head"]
    D, eps = C // H, cfg["layer_norm_epsilon"]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    x = W[pre + "wte.weight"][tokens] + W[pre + "wpe.weight"][:T]
    for i in range(cfg["n_layer"]):
        p = lambda n: W[f"{pre}h.{i}.{n}"]
        conv = lambda h, n: h @ p(n + ".weight") + p(n + ".bias")  # Conv1D: weight [in, out]
        ln = lambda h, n: F.layer_norm(h, (C,), p(n + ".weight"), p(n + ".bias"), eps)
        qkv = conv(ln(x, "ln_1"), "attn.c_attn")
        q, k, v = (qkv[:, j * C:(j + 1) * C].reshape(T, H, D) for j in range(3))
        s = torch.einsum("thd,shd->hts", q, k) / math.sqrt(D)
        a = torch.einsum("hts,shd->thd", torch.softmax(s.masked_fill(mask, float("-inf")), -1), v)
        x = x + conv(a.reshape(T, C), "attn.c_proj")
        x = x + conv(F.gelu(conv(ln(x, "ln_2"), "mlp.c_fc"), approximate="tanh"), "mlp.c_proj")
    x = F.layer_norm(x, (C,), W[pre + "ln_f.weight"], W[pre + "ln_f.bias"], eps)
    return x @ W[pre + "wte.weight"].T


def gpt_neo(W, cfg, tokens):
    """HF GPTNeoForCausalLM: GPT-2's block with nn.Linear weights ([out, in]), q/k/v projections
    without bias, out_proj with bias, GELU (tanh: "gelu_new"), tied lm_head. Two things differ
    in the attention (GPTNeoSelfAttention): the scores q.k are NOT divided by sqrt(head_dim),
    and a "local" layer's mask is the causal mask XOR tril(causal, -window_size), i.e. query i
    sees keys j with i - window_size < j <= i (its own position and window_size - 1 before).
    Layer kinds come from expanding attention_types ([[kinds], repeat] groups) here, not from
    the attention_layers list Lyra may read, so both spellings are checked."""
    T, C, H = len(tokens), cfg["hidden_size"], cfg["num_heads"]
    D, eps, window = C // H, cfg["layer_norm_epsilon"], cfg["window_size"]
    kinds = [k for pattern, n in cfg["attention_types"] for _ in range(n) for k in pattern]
    i = torch.arange(T)
    sees = {"global": i[None, :] <= i[:, None]}
    sees["local"] = sees["global"] & (i[:, None] - i[None, :] < window)
    x = W["transformer.wte.weight"][tokens] + W["transformer.wpe.weight"][:T]
    for l in range(cfg["num_layers"]):
        p = lambda n: W[f"transformer.h.{l}.{n}"]
        lin = lambda h, n: h @ p(n + ".weight").T + (p(n + ".bias") if f"transformer.h.{l}.{n}.bias" in W else 0)
        ln = lambda h, n: F.layer_norm(h, (C,), p(n + ".weight"), p(n + ".bias"), eps)
        h = ln(x, "ln_1")
        q, k, v = (lin(h, "attn.attention." + n).reshape(T, H, D) for n in ("q_proj", "k_proj", "v_proj"))
        s = torch.einsum("thd,shd->hts", q, k)  # no 1/sqrt(D): GPT-Neo does not scale
        a = torch.einsum("hts,shd->thd", torch.softmax(s.masked_fill(~sees[kinds[l]], float("-inf")), -1), v)
        x = x + lin(a.reshape(T, C), "attn.attention.out_proj")
        x = x + lin(F.gelu(lin(ln(x, "ln_2"), "mlp.c_fc"), approximate="tanh"), "mlp.c_proj")
    x = F.layer_norm(x, (C,), W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], eps)
    return x @ W.get("lm_head.weight", W["transformer.wte.weight"]).T


def encoder(W, cfg, tokens, attention_mask=None):
    """HF BertModel / RobertaModel / AlbertModel on one unpadded sequence tokens [T] (attention
    mask all ones), or on a batch tokens [B, T] with attention_mask [B, T] (1 = token, 0 =
    padding: HF's get_extended_attention_mask adds (1 - mask) * finfo.min to the scores of the
    padding keys), token_type_ids all 0, plus the MLM head of ...ForMaskedLM and the pooler when
    the checkpoint has them. Written from the HF modules: embeddings = LayerNorm(word + position
    + token_type) where BERT and ALBERT number positions 0..T-1 in every row and RoBERTa from
    padding_idx + 1 over the row's non-pad tokens (create_position_ids_from_input_ids: cumsum
    of non-pad tokens + padding_idx); ALBERT then maps embedding_size -> hidden_size
    (embedding_hidden_mapping_in) and runs layer i with the weights of group
    int(i / (num_hidden_layers / num_hidden_groups)). Each layer:
    a = LayerNorm(x + dense(softmax(q k^T / sqrt(D) + mask) v)); x = LayerNorm(a + out(act(inter(a)))).
    MLM head: decoder(LayerNorm(act(dense(x)))) + bias, decoder tied to the word embeddings
    unless saved apart; RobertaLMHead applies the erf GELU whatever hidden_act says. Pooler:
    tanh(dense(x[0])). Returns (hidden [(B,) T, C], logits [(B,) T, V] or None, pooled [(B,) C]
    or None), without the B for a single sequence."""
    single = tokens.dim() == 1
    if single:
        tokens = tokens[None]
    kind = cfg["model_type"]
    albert = kind == "albert"
    p = kind + "." if kind + ".embeddings.word_embeddings.weight" in W else ""
    (B, T), C, H = tokens.shape, cfg["hidden_size"], cfg["num_attention_heads"]
    D, eps = C // H, cfg.get("layer_norm_eps", 1e-12)
    acts = {"gelu": F.gelu, "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
            "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"), "relu": F.relu}
    act = acts[cfg.get("hidden_act", "gelu_new" if albert else "gelu")]
    ln = lambda x, n: F.layer_norm(x, (x.shape[-1],), W[n + ".weight"], W[n + ".bias"], eps)
    lin = lambda x, n: x @ W[n + ".weight"].T + W[n + ".bias"]
    if kind == "roberta":
        pad = cfg["pad_token_id"]
        keep = (tokens != pad).long()
        pos = torch.cumsum(keep, 1) * keep + pad
    else:
        pos = torch.arange(T).expand(B, T)
    e = p + "embeddings."
    x = W[e + "word_embeddings.weight"][tokens] + W[e + "position_embeddings.weight"][pos] + \
        W[e + "token_type_embeddings.weight"][torch.zeros(B, T, dtype=torch.long)]
    x = ln(x, e + "LayerNorm")
    if albert:
        x = lin(x, p + "encoder.embedding_hidden_mapping_in")
    bias = 0.0  # the extended attention mask, [B, 1, 1, T]
    if attention_mask is not None:
        bias = (1.0 - attention_mask[:, None, None, :].to(DT)) * torch.finfo(DT).min
    L = cfg["num_hidden_layers"]
    G = cfg.get("num_hidden_groups", 1) if albert else L
    for i in range(L):
        if albert:
            l = f"{p}encoder.albert_layer_groups.{int(i / (L / G))}.albert_layers.0."
            q_, k_, v_, o_, ln1, up, down, ln2 = ("attention.query", "attention.key", "attention.value",
                                                  "attention.dense", "attention.LayerNorm", "ffn",
                                                  "ffn_output", "full_layer_layer_norm")
        else:
            l = f"{p}encoder.layer.{i}."
            q_, k_, v_, o_, ln1, up, down, ln2 = ("attention.self.query", "attention.self.key",
                                                  "attention.self.value", "attention.output.dense",
                                                  "attention.output.LayerNorm", "intermediate.dense",
                                                  "output.dense", "output.LayerNorm")
        q, k, v = (lin(x, l + n).reshape(B, T, H, D) for n in (q_, k_, v_))
        s = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(D) + bias
        a = torch.einsum("bhts,bshd->bthd", torch.softmax(s, -1), v).reshape(B, T, C)
        x = ln(x + lin(a, l + o_), l + ln1)
        x = ln(x + lin(act(lin(x, l + up)), l + down), l + ln2)
    logits = pooled = None
    h = {"bert": "cls.predictions.", "roberta": "lm_head.", "albert": "predictions."}[kind]
    dense = h + ("transform.dense" if kind == "bert" else "dense")
    if dense + ".weight" in W:
        norm = h + {"bert": "transform.LayerNorm", "roberta": "layer_norm", "albert": "LayerNorm"}[kind]
        head_act = F.gelu if kind == "roberta" else act
        t = ln(head_act(lin(x, dense)), norm)
        tied = cfg.get("tie_word_embeddings", True)
        dec = W[e + "word_embeddings.weight"] if tied else W[h + "decoder.weight"]
        logits = t @ dec.T + W[h + "bias"]
    pn = p + ("pooler" if albert else "pooler.dense")
    if pn + ".weight" in W:
        pooled = torch.tanh(lin(x[:, 0], pn))
    if single:
        return x[0], None if logits is None else logits[0], None if pooled is None else pooled[0]
    return x, logits, pooled


def pad_batch(seqs, pad):
    """Right-pads sequences to the longest: (input_ids [B, T], attention_mask [B, T])."""
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad, dtype=torch.long)
    mask = torch.zeros(len(seqs), T, dtype=torch.long)
    for b, s in enumerate(seqs):
        ids[b, :len(s)] = torch.tensor(s, dtype=torch.long)
        mask[b, :len(s)] = 1
    return ids, mask


def encoder_batch_main(d, out, seqs):
    """The padded-batch counterpart of encoder_main: the sequences right-padded with
    pad_token_id to the longest, run as one batch under their attention_mask. Writes
    OUT.hidden [B, T, C] and OUT.logits [B, T, V] (float32, padding rows included: the caller
    reads the real ones), OUT.embed [B, C] (the attention-masked mean of each row's hidden
    states, L2-normalised) and OUT.pll (text, one line per sequence): every masked copy of
    every sequence (one per position that is not a special added token) in one padded batch,
    log softmax(logits at the masked position)[true token] summed per sequence."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    W = read_safetensors(os.path.join(d, "model.safetensors"))
    tj = json.load(open(os.path.join(d, "tokenizer.json")))
    specials = {t["id"] for t in tj["added_tokens"] if t["special"]}
    mask_id = next(t["id"] for t in tj["added_tokens"] if t["content"] in ("[MASK]", "<mask>"))
    pad = cfg.get("pad_token_id", 0)
    with torch.no_grad():
        ids, mask = pad_batch(seqs, pad)
        hidden, logits, _ = encoder(W, cfg, ids, mask)
        hidden.to(torch.float32).numpy().tofile(out + ".hidden")
        m = mask[:, :, None].to(DT)
        mean = (hidden * m).sum(1) / m.sum(1)
        (mean / mean.norm(dim=1, keepdim=True)).to(torch.float32).numpy().tofile(out + ".embed")
        if logits is None:
            return
        logits.to(torch.float32).numpy().tofile(out + ".logits")
        copies, where = [], []  # where: (sequence, masked position)
        for b, s in enumerate(seqs):
            for t, tok in enumerate(s):
                if tok not in specials:
                    copies.append(s[:t] + [mask_id] + s[t + 1:])
                    where.append((b, t))
        pll = [0.0] * len(seqs)
        if copies:
            ids, mask = pad_batch(copies, pad)
            lg = encoder(W, cfg, ids, mask)[1]
            for c, (b, t) in enumerate(where):
                pll[b] += float(torch.log_softmax(lg[c, t], -1)[seqs[b][t]])
        with open(out + ".pll", "w") as f:
            f.write("".join(repr(v) + "\n" for v in pll))


def encoder_main(d, out, tokens):
    """Writes OUT.hidden, OUT.logits, OUT.embed (mean over tokens, L2-normalised), OUT.pooled
    (float32, the heads the checkpoint has) and OUT.pll (text): the sum over positions that are
    not special added tokens of log softmax(logits of the copy masked there)[true token]."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    W = read_safetensors(os.path.join(d, "model.safetensors"))
    tj = json.load(open(os.path.join(d, "tokenizer.json")))
    specials = {t["id"] for t in tj["added_tokens"] if t["special"]}
    mask = next(t["id"] for t in tj["added_tokens"] if t["content"] in ("[MASK]", "<mask>"))
    with torch.no_grad():
        hidden, logits, pooled = encoder(W, cfg, tokens)
        hidden.to(torch.float32).numpy().tofile(out + ".hidden")
        mean = hidden.mean(0)
        (mean / mean.norm()).to(torch.float32).numpy().tofile(out + ".embed")
        if pooled is not None:
            pooled.to(torch.float32).numpy().tofile(out + ".pooled")
        if logits is not None:
            logits.to(torch.float32).numpy().tofile(out + ".logits")
            pll = 0.0
            for t in range(len(tokens)):
                if int(tokens[t]) in specials:
                    continue
                masked = tokens.clone()
                masked[t] = mask
                lg = encoder(W, cfg, masked)[1][t]
                pll += float(torch.log_softmax(lg, -1)[tokens[t]])
            with open(out + ".pll", "w") as f:
                f.write(repr(pll) + "\n")


def main():
    if sys.argv[1] == "--encoder-batch":
        encoder_batch_main(sys.argv[2], sys.argv[3], [[int(t) for t in a.split(",")] for a in sys.argv[4:]])
        return
    if sys.argv[1] == "--encoder":
        encoder_main(sys.argv[2], sys.argv[3], torch.tensor([int(t) for t in sys.argv[4:]], dtype=torch.long))
        return
    d, out, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    n_greedy = 0
    if args[:1] == ["--greedy"]:
        n_greedy, args = int(args[1]), args[2:]
    tokens = torch.tensor([int(t) for t in args], dtype=torch.long)
    cfg = json.load(open(os.path.join(d, "config.json")))
    W = read_safetensors(os.path.join(d, "model.safetensors"))
    forward = {"gpt2": gpt2, "gpt_neo": gpt_neo}.get(cfg["model_type"], llama)
    with torch.no_grad():
        logits = forward(W, cfg, tokens)
        logits.to(torch.float32).numpy().tofile(out)
        seq = tokens.tolist()
        for _ in range(n_greedy):
            seq.append(int(torch.argmax(forward(W, cfg, torch.tensor(seq))[-1])))
    if n_greedy:
        with open(out + ".greedy", "w") as f:
            f.write(" ".join(str(t) for t in seq[len(tokens):]) + "\n")


if __name__ == "__main__":
    main()
