#!/usr/bin/python3
"""Writes a tiny Hugging Face model directory for llama, mistral, qwen2, gpt2, gpt_neo, or the
encoders bert, roberta and albert (options in hf_encoder_fixture.py), plus the
tensors a correct GGUF import must contain, computed here with torch.

    /usr/bin/python3 make_hf_fixture.py ARCH OUT_DIR [--dim 64 --layers 2 --heads 4
        --kv-heads 2 --ffn 96 --ctx 64 --seed 0 --dtype f32|f16|bf16 --shards 1
        --tie --rope-scaling none|linear|llama3 --no-prefix
        --window 4 --attention-types global,local --vocab-merges]

OUT_DIR receives:
  config.json, tokenizer.json, tokenizer_config.json
  model.safetensors, or model-0000K-of-0000N.safetensors + model.safetensors.index.json
  expected_gguf.safetensors  every tensor the GGUF must hold, by GGUF name, F32, PyTorch order
                             ([out, in]), after the gpt2 transpose and the llama q/k permutation;
                             values are the HF values after rounding to --dtype.
  expected_gguf.json         the GGUF hyperparameter keys and values the import must write.
gpt_neo: layers take the --attention-types kinds in turn (written as HF's attention_types and
attention_layers); --vocab-merges writes vocab.json + merges.txt + special_tokens_map.json in
place of tokenizer.json, as GPT-Neo checkpoints ship.

The weights are random (seeded); HF's own model classes are not needed. Logit parity tests can
load the same directory in transformers-free torch code (the model helper's parity scripts).
safetensors is written by hand: torch 1.13 has no safetensors module, and the format is
8-byte little-endian header size + JSON header (padded with spaces to 8 bytes) + raw data.
"""
import argparse
import json
import math
import os
import struct

import torch

import hf_encoder_fixture  # the encoder families; beside this script

BYTES_TO_UNICODE = None


def byte_char(b):
    """GPT-2's byte -> printable unicode map."""
    global BYTES_TO_UNICODE
    if BYTES_TO_UNICODE is None:
        bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
            list(range(ord("®"), ord("ÿ") + 1))
        cs = bs[:]
        n = 0
        for x in range(256):
            if x not in bs:
                bs.append(x)
                cs.append(256 + n)
                n += 1
        BYTES_TO_UNICODE = {b_: chr(c) for b_, c in zip(bs, cs)}
    return BYTES_TO_UNICODE[b]


def byte_level_tokenizer(arch):
    """256 byte tokens, a few merges, then <|endoftext|>. Returns (tokenizer.json, config, n)."""
    vocab = {byte_char(b): b for b in range(256)}
    merges = []
    for a, b in [("h", "e"), ("l", "l"), ("he", "ll"), (byte_char(32), "t"), ("o", "r")]:
        vocab[a + b] = len(vocab)
        merges.append(a + " " + b)
    eot = len(vocab)
    added = [{"id": eot, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True}]
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
          "normalizer": None,
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                            "use_regex": True},
          "post_processor": None, "decoder": {"type": "ByteLevel"},
          "model": {"type": "BPE", "dropout": None, "unk_token": None,
                    "continuing_subword_prefix": None, "end_of_word_suffix": None,
                    "fuse_unk": False, "vocab": vocab, "merges": merges}}
    cfg = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
           "model_max_length": 1024}
    if arch == "qwen2":
        cfg = {"bos_token": None, "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
               "chat_template": "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
                                "{{ m['content'] }}<|im_end|>\n{% endfor %}"}
    return tj, cfg, eot + 1


def spm_tokenizer():
    """Llama-2 style: <unk> <s> </s>, 256 byte tokens, a few pieces and merges."""
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = 3 + b
    for piece in ["\u2581", "h", "e", "l", "o", "he", "ll", "hell", "\u2581hell"]:
        vocab[piece] = len(vocab)
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(["<unk>", "<s>", "</s>"])]
    tj = {"version": "1.0", "added_tokens": added,
          "normalizer": {"type": "Sequence", "normalizers": [
              {"type": "Prepend", "prepend": "\u2581"},
              {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
          "pre_tokenizer": None, "post_processor": None,
          "decoder": {"type": "Sequence", "decoders": [
              {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
              {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ",
                                                            "start": 1, "stop": 0}]},
          "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "fuse_unk": True,
                    "byte_fallback": True, "vocab": vocab,
                    "merges": ["h e", "l l", "he ll", "\u2581 hell"]}}
    cfg = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
           "add_eos_token": False}
    return tj, cfg, len(vocab)


DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
ST_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.bool: "BOOL",
            torch.int64: "I64"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        b = tensor_bytes(t)
        header[name] = {"dtype": ST_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def permute_qk(w, n_head):
    """GGUF llama q/k rows: per head, half-split (i, i + D/2) -> interleaved pairs (2i, 2i+1)."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def llama3_factors(theta, head_dim, rs):
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    out = []
    for f in freqs.tolist():
        wavelen = 2 * math.pi / f
        if wavelen < old / hi:
            out.append(1.0)
        elif wavelen > old / lo:
            out.append(factor)
        else:
            smooth = (old / wavelen - lo) / (hi - lo)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return torch.tensor(out, dtype=torch.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("arch", choices=["llama", "mistral", "qwen2", "gpt2", "gpt_neo", "bert",
                                     "roberta", "albert"])
    ap.add_argument("out")
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=None)
    ap.add_argument("--ffn", type=int, default=96)
    ap.add_argument("--ctx", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=list(DTYPES), default="f32")
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--tie", action="store_true", help="tie lm_head to the embedding")
    ap.add_argument("--rope-scaling", choices=["none", "linear", "llama3"], default="none")
    ap.add_argument("--no-prefix", action="store_true", help="gpt2: names without 'transformer.'")
    ap.add_argument("--window", type=int, default=4, help="gpt_neo: window_size")
    ap.add_argument("--attention-types", default="global,local", help="gpt_neo: the kinds cycled")
    ap.add_argument("--vocab-merges", action="store_true", help="gpt_neo/gpt2: no tokenizer.json")
    # Encoders (hf_encoder_fixture.py):
    ap.add_argument("--head", choices=["mlm", "none"], default="mlm")
    ap.add_argument("--pooler", action="store_true")
    ap.add_argument("--emb", type=int, default=16, help="albert: embedding_size")
    ap.add_argument("--groups", type=int, default=1, help="albert: num_hidden_groups")
    ap.add_argument("--act", default="gelu", help="encoders: hidden_act")
    ap.add_argument("--untied", action="store_true", help="encoders: a separate MLM decoder")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(a.seed)
    dt = DTYPES[a.dtype]

    arch = a.arch
    gguf_arch = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "gpt2": "gpt2",
                 "gpt_neo": "gptneo"}.get(arch, arch)
    C, L, H, F = a.dim, a.layers, a.heads, a.ffn
    Hkv = a.kv_heads or (H if arch in ("gpt2", "gpt_neo") else max(1, H // 2))
    D = C // H
    if arch in ("gpt2", "qwen2", "gpt_neo"):
        tj, tcfg, V = byte_level_tokenizer(arch)
    elif arch in ("llama", "mistral"):
        tj, tcfg, V = spm_tokenizer()

    def rnd(*shape, scale=None):
        fan_in = shape[-1] if len(shape) > 1 else 1
        s = scale if scale is not None else 1.0 / math.sqrt(fan_in)
        return (torch.randn(*shape) * s).to(dt)

    def norm_w(n):
        return (1.0 + 0.1 * torch.randn(n)).to(dt)

    hf, exp = {}, {}  # HF name -> tensor (dtype dt); GGUF name -> f32 tensor

    def put(hf_name, t, gguf_name=None, gguf_value=None):
        hf[hf_name] = t
        if gguf_name:
            exp[gguf_name] = (gguf_value if gguf_value is not None else t).float().contiguous()

    if arch in ("bert", "roberta", "albert"):
        config, keys, tj, tcfg = hf_encoder_fixture.build(a, byte_char, rnd, norm_w, put, hf)
    elif arch == "gpt2":
        p = "" if a.no_prefix else "transformer."
        config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": V,
                  "n_embd": C, "n_layer": L, "n_head": H, "n_positions": a.ctx, "n_ctx": a.ctx,
                  "n_inner": F, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
                  "tie_word_embeddings": True, "bos_token_id": V - 1, "eos_token_id": V - 1}
        put(p + "wte.weight", rnd(V, C, scale=0.5), "token_embd.weight")
        put(p + "wpe.weight", rnd(a.ctx, C, scale=0.1), "position_embd.weight")
        for i in range(L):
            h, b = f"{p}h.{i}.", f"blk.{i}."
            put(h + "ln_1.weight", norm_w(C), b + "attn_norm.weight")
            put(h + "ln_1.bias", rnd(C, scale=0.1), b + "attn_norm.bias")
            for hn, gn, cin, cout in [("attn.c_attn", "attn_qkv", C, 3 * C),
                                      ("attn.c_proj", "attn_output", C, C),
                                      ("mlp.c_fc", "ffn_up", C, F),
                                      ("mlp.c_proj", "ffn_down", F, C)]:
                w = (torch.randn(cin, cout) / math.sqrt(cin)).to(dt)  # Conv1D: [in, out]
                put(h + hn + ".weight", w, b + gn + ".weight", w.t())
                put(h + hn + ".bias", rnd(cout, scale=0.1), b + gn + ".bias")
            put(h + "ln_2.weight", norm_w(C), b + "ffn_norm.weight")
            put(h + "ln_2.bias", rnd(C, scale=0.1), b + "ffn_norm.bias")
            # The causal-mask buffer older exports carry; the import must skip it.
            hf[h + "attn.bias"] = torch.tril(torch.ones(1, 1, a.ctx, a.ctx)).to(dt)
        put(p + "ln_f.weight", norm_w(C), "output_norm.weight")
        put(p + "ln_f.bias", rnd(C, scale=0.1), "output_norm.bias")
        keys = {"general.architecture": "gpt2", f"gpt2.context_length": a.ctx,
                "gpt2.embedding_length": C, "gpt2.block_count": L, "gpt2.feed_forward_length": F,
                "gpt2.attention.head_count": H, "gpt2.attention.head_count_kv": H,
                "gpt2.attention.layer_norm_epsilon": 1e-5}
    elif arch == "gpt_neo":
        kinds = a.attention_types.split(",")
        assert L % len(kinds) == 0, "--layers must be a multiple of the kinds cycled"
        config = {"architectures": ["GPTNeoForCausalLM"], "model_type": "gpt_neo", "vocab_size": V,
                  "hidden_size": C, "num_layers": L, "num_heads": H, "intermediate_size": F,
                  "max_position_embeddings": a.ctx, "window_size": a.window,
                  "attention_types": [[kinds, L // len(kinds)]],
                  "attention_layers": kinds * (L // len(kinds)),
                  "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
                  "tie_word_embeddings": True, "bos_token_id": V - 1, "eos_token_id": V - 1}
        put("transformer.wte.weight", rnd(V, C, scale=0.5), "token_embd.weight")
        put("transformer.wpe.weight", rnd(a.ctx, C, scale=0.1), "position_embd.weight")
        for i in range(L):
            h, b = f"transformer.h.{i}.", f"blk.{i}."
            put(h + "ln_1.weight", norm_w(C), b + "attn_norm.weight")
            put(h + "ln_1.bias", rnd(C, scale=0.1), b + "attn_norm.bias")
            # No 1/sqrt(D) in GPT-Neo's attention: q is drawn at half scale so scores (std ~2)
            # stay moderate yet unscaled vs scaled differ clearly.
            put(h + "attn.attention.q_proj.weight", rnd(C, C, scale=0.5 / math.sqrt(C)),
                b + "attn_q.weight")
            put(h + "attn.attention.k_proj.weight", rnd(C, C), b + "attn_k.weight")
            put(h + "attn.attention.v_proj.weight", rnd(C, C), b + "attn_v.weight")
            put(h + "attn.attention.out_proj.weight", rnd(C, C), b + "attn_output.weight")
            put(h + "attn.attention.out_proj.bias", rnd(C, scale=0.1), b + "attn_output.bias")
            put(h + "ln_2.weight", norm_w(C), b + "ffn_norm.weight")
            put(h + "ln_2.bias", rnd(C, scale=0.1), b + "ffn_norm.bias")
            put(h + "mlp.c_fc.weight", rnd(F, C), b + "ffn_up.weight")  # nn.Linear: [out, in]
            put(h + "mlp.c_fc.bias", rnd(F, scale=0.1), b + "ffn_up.bias")
            put(h + "mlp.c_proj.weight", rnd(C, F), b + "ffn_down.weight")
            put(h + "mlp.c_proj.bias", rnd(C, scale=0.1), b + "ffn_down.bias")
            # The mask buffers older exports carry (a BOOL tensor, as HF registers it); the
            # import must skip them.
            hf[h + "attn.attention.bias"] = torch.tril(torch.ones(1, 1, a.ctx, a.ctx, dtype=torch.bool))
            hf[h + "attn.attention.masked_bias"] = torch.tensor(-1e9).to(dt)
        put("transformer.ln_f.weight", norm_w(C), "output_norm.weight")
        put("transformer.ln_f.bias", rnd(C, scale=0.1), "output_norm.bias")
        hf["lm_head.weight"] = hf["transformer.wte.weight"].clone()  # tied, as HF saves it
        keys = {"general.architecture": "gptneo", "gptneo.context_length": a.ctx,
                "gptneo.embedding_length": C, "gptneo.block_count": L,
                "gptneo.feed_forward_length": F, "gptneo.attention.head_count": H,
                "gptneo.attention.head_count_kv": H, "gptneo.attention.layer_norm_epsilon": 1e-5,
                "gptneo.attention.sliding_window": a.window}
    else:
        hf_arch = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                   "qwen2": "Qwen2ForCausalLM"}[arch]
        theta = 500000.0 if a.rope_scaling == "llama3" else 10000.0
        config = {"architectures": [hf_arch], "model_type": arch, "vocab_size": V,
                  "hidden_size": C, "intermediate_size": F, "num_hidden_layers": L,
                  "num_attention_heads": H, "num_key_value_heads": Hkv,
                  "max_position_embeddings": a.ctx, "rms_norm_eps": 1e-5, "rope_theta": theta,
                  "tie_word_embeddings": a.tie, "hidden_act": "silu",
                  "bos_token_id": 1 if arch != "qwen2" else None,
                  "eos_token_id": 2 if arch != "qwen2" else V - 1}
        if a.rope_scaling == "linear":
            config["rope_scaling"] = {"type": "linear", "factor": 2.0}
        elif a.rope_scaling == "llama3":
            config["rope_scaling"] = {"rope_type": "llama3", "factor": 8.0,
                                      "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                      "original_max_position_embeddings": 32}
        permute = gguf_arch == "llama"
        put("model.embed_tokens.weight", rnd(V, C, scale=0.5), "token_embd.weight")
        for i in range(L):
            h, b = f"model.layers.{i}.", f"blk.{i}."
            put(h + "input_layernorm.weight", norm_w(C), b + "attn_norm.weight")
            for hn, gn, heads in [("q_proj", "attn_q", H), ("k_proj", "attn_k", Hkv),
                                  ("v_proj", "attn_v", Hkv)]:
                w = rnd(heads * D, C)
                rope = permute and gn != "attn_v"
                put(h + f"self_attn.{hn}.weight", w, b + gn + ".weight",
                    permute_qk(w, heads) if rope else w)
                if arch == "qwen2":
                    put(h + f"self_attn.{hn}.bias", rnd(heads * D, scale=0.1), b + gn + ".bias")
            put(h + "self_attn.o_proj.weight", rnd(C, H * D), b + "attn_output.weight")
            put(h + "post_attention_layernorm.weight", norm_w(C), b + "ffn_norm.weight")
            put(h + "mlp.gate_proj.weight", rnd(F, C), b + "ffn_gate.weight")
            put(h + "mlp.up_proj.weight", rnd(F, C), b + "ffn_up.weight")
            put(h + "mlp.down_proj.weight", rnd(C, F), b + "ffn_down.weight")
        put("model.norm.weight", norm_w(C), "output_norm.weight")
        if a.tie:
            hf["lm_head.weight"] = hf["model.embed_tokens.weight"].clone()
        else:
            put("lm_head.weight", rnd(V, C, scale=0.5), "output.weight")
        if a.rope_scaling == "llama3":
            exp["rope_freqs.weight"] = llama3_factors(theta, D, config["rope_scaling"])
        keys = {"general.architecture": gguf_arch, f"{gguf_arch}.context_length": a.ctx,
                f"{gguf_arch}.embedding_length": C, f"{gguf_arch}.block_count": L,
                f"{gguf_arch}.feed_forward_length": F, f"{gguf_arch}.attention.head_count": H,
                f"{gguf_arch}.attention.head_count_kv": Hkv,
                f"{gguf_arch}.attention.layer_norm_rms_epsilon": 1e-5,
                f"{gguf_arch}.rope.freq_base": theta, f"{gguf_arch}.rope.dimension_count": D}
        if a.rope_scaling == "linear":
            keys[f"{gguf_arch}.rope.scaling.type"] = "linear"
            keys[f"{gguf_arch}.rope.scaling.factor"] = 2.0

    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if a.vocab_merges:
        # A real vocab.json lists the special tokens too ("<|endoftext|>": 50256 in GPT-2's).
        vocab = dict(tj["model"]["vocab"], **{t["content"]: t["id"] for t in tj["added_tokens"]})
        with open(os.path.join(a.out, "vocab.json"), "w") as f:
            json.dump(vocab, f, ensure_ascii=False)
        with open(os.path.join(a.out, "merges.txt"), "w") as f:
            f.write("#version: 0.2\n" + "\n".join(tj["model"]["merges"]) + "\n")
        with open(os.path.join(a.out, "special_tokens_map.json"), "w") as f:
            json.dump({k: tcfg[k] for k in ("bos_token", "eos_token")}, f, indent=2)
        with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
            json.dump({"model_max_length": 2048}, f, indent=2)
    else:
        with open(os.path.join(a.out, "tokenizer.json"), "w") as f:
            json.dump(tj, f, ensure_ascii=False)
        with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
            json.dump(tcfg, f, indent=2)

    names = list(hf)
    if a.shards <= 1:
        write_safetensors(os.path.join(a.out, "model.safetensors"), hf, {"format": "pt"})
    else:
        weight_map = {}
        per = math.ceil(len(names) / a.shards)
        for k in range(a.shards):
            shard = f"model-{k + 1:05d}-of-{a.shards:05d}.safetensors"
            part = {n: hf[n] for n in names[k * per:(k + 1) * per]}
            write_safetensors(os.path.join(a.out, shard), part, {"format": "pt"})
            weight_map.update({n: shard for n in part})
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)
    write_safetensors(os.path.join(a.out, "expected_gguf.safetensors"), exp)
    with open(os.path.join(a.out, "expected_gguf.json"), "w") as f:
        json.dump(keys, f, indent=2)


if __name__ == "__main__":
    main()
