#!/usr/bin/python3
"""PyTorch side of bench_inference: the same llama forward Lyra runs, timed the same way.

A plain llama (RMSNorm, rotary embeddings, grouped-query attention with a preallocated KV cache,
SwiGLU, separate output head) with random weights of the requested shape. For each thread count
it times prefill (one forward over the prompt, last token's logits only, empty cache) and decode
(token by token with the KV cache after that prompt, greedy argmax feeding the next token), with a
warm-up, `--reps` repetitions and medians. Prints one JSON object on stdout (nothing else goes to
stdout), which bench_inference reads.

Each thread count runs in its own child process because Debian's torch uses OpenBLAS (pthread
build) for F32 matmul, whose thread count is fixed by OPENBLAS_NUM_THREADS at load time and is
not changed by torch.set_num_threads(); the child sets both, so "2 threads" means 2 everywhere.
With two pools of 2 threads on 2 cores (torch's OpenMP and OpenBLAS's pthreads), OpenMP's default
spin-waiting starves the BLAS threads (prefill measured ~7x slower here), so the children run with
OMP_WAIT_POLICY=PASSIVE unless the caller set it: the fastest configuration of this torch build.

Weight types: "f32" (nn.Linear in float32) and "int8dyn" (torch.ao dynamic quantization of every
nn.Linear to qint8 weights with per-tensor scales, activations quantized per call; the quantized
engine is whatever this torch build offers — onednn or fbgemm). PyTorch has no CPU kernels for
GGUF's Q8_0/Q4_0 block formats, so int8dyn is the nearest PyTorch analogue of Q8_0, not the same
format.

Run: /usr/bin/python3 bench/torch_inference.py --threads 1,2 --dtypes f32,int8dyn
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dim", type=int, default=768)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--kv-heads", type=int, default=0, help="0 = same as --heads")
    p.add_argument("--ffn", type=int, default=2048)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--ctx", type=int, default=512)
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--gen-tokens", type=int, default=64)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--dtypes", default="f32", help="comma-separated: f32, int8dyn")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


# ---------------------------------------------------------------------------------------------
# The model. Shapes: T tokens, C = dim, H heads, Hkv kv heads, D head dim, F ffn, V vocab.

def build_model(a):
    import torch
    from torch import nn

    kv_heads = a.kv_heads or a.heads
    head_dim = a.dim // a.heads

    class RMSNorm(nn.Module):
        def __init__(self, c, eps=1e-5):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(c))

        def forward(self, x):  # x[T, C]
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn_norm = RMSNorm(a.dim)
            self.wq = nn.Linear(a.dim, a.heads * head_dim, bias=False)
            self.wk = nn.Linear(a.dim, kv_heads * head_dim, bias=False)
            self.wv = nn.Linear(a.dim, kv_heads * head_dim, bias=False)
            self.wo = nn.Linear(a.heads * head_dim, a.dim, bias=False)
            self.ffn_norm = RMSNorm(a.dim)
            self.w_gate = nn.Linear(a.dim, a.ffn, bias=False)
            self.w_up = nn.Linear(a.dim, a.ffn, bias=False)
            self.w_down = nn.Linear(a.ffn, a.dim, bias=False)

        def forward(self, x, cos, sin, k_cache, v_cache, pos):
            T = x.shape[0]
            h = self.attn_norm(x)
            q = self.wq(h).view(T, a.heads, head_dim)
            k = self.wk(h).view(T, kv_heads, head_dim)
            v = self.wv(h).view(T, kv_heads, head_dim)
            q, k = rope(q, cos, sin), rope(k, cos, sin)
            # KV cache [Hkv, ctx, D]; this call's rows land at pos .. pos+T.
            k_cache[:, pos:pos + T] = k.transpose(0, 1)
            v_cache[:, pos:pos + T] = v.transpose(0, 1)
            keys = k_cache[:, :pos + T]  # [Hkv, S, D]
            vals = v_cache[:, :pos + T]
            group = a.heads // kv_heads
            qh = q.transpose(0, 1).reshape(kv_heads, group * T, head_dim)  # [Hkv, g*T, D]
            att = torch.bmm(qh, keys.transpose(1, 2)) * (head_dim ** -0.5)  # [Hkv, g*T, S]
            if T > 1:
                # Causal: query t (at position pos+t) sees keys 0 .. pos+t.
                s = torch.arange(pos + T)
                t = torch.arange(T).repeat(group) + pos
                att = att.masked_fill(s[None, None, :] > t[None, :, None], float("-inf"))
            att = torch.softmax(att, dim=-1)
            o = torch.bmm(att, vals).view(a.heads, T, head_dim).transpose(0, 1).reshape(T, -1)
            x = x + self.wo(o)
            h = self.ffn_norm(x)
            x = x + self.w_down(torch.nn.functional.silu(self.w_gate(h)) * self.w_up(h))
            return x

    def rope(x, cos, sin):  # x[T, H, D], NeoX/HF pairing (i, i + D/2); cos/sin [T, 1, D/2]
        x1, x2 = x[..., :head_dim // 2], x[..., head_dim // 2:]
        return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)

    class Llama(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok_embd = nn.Embedding(a.vocab, a.dim)
            self.blocks = nn.ModuleList(Block() for _ in range(a.layers))
            self.out_norm = RMSNorm(a.dim)
            self.output = nn.Linear(a.dim, a.vocab, bias=False)
            inv_freq = 1.0 / (10000.0 ** (torch.arange(0, head_dim, 2).float() / head_dim))
            ang = torch.outer(torch.arange(a.ctx).float(), inv_freq)  # [ctx, D/2]
            self.register_buffer("cos", ang.cos(), persistent=False)
            self.register_buffer("sin", ang.sin(), persistent=False)
            self.k_cache = torch.zeros(a.layers, kv_heads, a.ctx, head_dim)
            self.v_cache = torch.zeros(a.layers, kv_heads, a.ctx, head_dim)

        def forward(self, tokens, pos):  # tokens[T] at positions pos..pos+T -> logits[V] (last)
            T = tokens.shape[0]
            x = self.tok_embd(tokens)
            cos = self.cos[pos:pos + T, None, :]
            sin = self.sin[pos:pos + T, None, :]
            for i, blk in enumerate(self.blocks):
                x = blk(x, cos, sin, self.k_cache[i], self.v_cache[i], pos)
            return self.output(self.out_norm(x[-1:]))[0]

    torch.manual_seed(a.seed)
    m = Llama()
    with torch.no_grad():
        for p in m.parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.02)
    m.eval()
    return m


def n_params(m):
    return sum(p.numel() for p in m.parameters())


# ---------------------------------------------------------------------------------------------
# Timing.

def time_prefill(m, prompt):
    import torch
    t0 = time.perf_counter()
    logits = m(prompt, 0)
    int(torch.argmax(logits))
    return time.perf_counter() - t0


def time_decode(m, prompt, n_gen):
    import torch
    logits = m(prompt, 0)
    tok = int(torch.argmax(logits))
    pos = prompt.shape[0]
    t0 = time.perf_counter()
    for _ in range(n_gen):
        logits = m(torch.tensor([tok]), pos)
        tok = int(torch.argmax(logits))
        pos += 1
    return time.perf_counter() - t0


def sgemm_gflops(n_tokens, k, n, reps=10):
    """F32 GEMM speed of torch's own BLAS at the prefill shape x[T, K] · w[N, K]^T."""
    import torch
    x, w = torch.randn(n_tokens, k), torch.randn(n, k)
    torch.nn.functional.linear(x, w)
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.nn.functional.linear(x, w)
        runs.append(time.perf_counter() - t0)
    return 2.0 * n_tokens * k * n / statistics.median(runs) / 1e9


def run_child(a):
    """Runs every dtype at one thread count (this process's); returns a list of result rows."""
    import torch
    threads = int(a.threads)
    torch.set_num_threads(threads)
    if a.prompt_tokens + a.gen_tokens > a.ctx:
        sys.exit(f"torch_inference: prompt+gen tokens {a.prompt_tokens + a.gen_tokens} exceed "
                 f"--ctx {a.ctx}")
    rows = []
    with torch.inference_mode():
        base = build_model(a)
        gen = torch.Generator().manual_seed(a.seed + 1)
        prompt = torch.randint(0, a.vocab, (a.prompt_tokens,), generator=gen)
        for dtype in a.dtypes.split(","):
            if dtype == "f32":
                m = base
            elif dtype == "int8dyn":
                m = torch.ao.quantization.quantize_dynamic(
                    base, {torch.nn.Linear}, dtype=torch.qint8)
            else:
                sys.exit(f"torch_inference: unknown dtype '{dtype}'; expected f32 or int8dyn")
            # Warm-up: a short prefill and a few decode steps touch every weight once.
            time_prefill(m, prompt[:16])
            time_decode(m, prompt[:16], 4)
            pre, dec = [], []
            for _ in range(a.reps):
                pre.append(a.prompt_tokens / time_prefill(m, prompt))
                dec.append(a.gen_tokens / time_decode(m, prompt, a.gen_tokens))
            rows.append({
                "dtype": dtype,
                "threads": threads,
                "prefill_tok_s": statistics.median(pre),
                "decode_tok_s": statistics.median(dec),
                "prefill_tok_s_runs": pre,
                "decode_tok_s_runs": dec,
            })
        sg = sgemm_gflops(a.prompt_tokens, a.dim, a.ffn)
    return {"rows": rows, "sgemm_gflops": sg, "n_params": n_params(base),
            "quantized_engine": torch.backends.quantized.engine}


def main():
    a = parse_args()
    if a.child:
        print(json.dumps(run_child(a)))
        return
    import torch  # only for the version string; children do the work
    out = {
        "torch_version": torch.__version__,
        "shape": {"dim": a.dim, "layers": a.layers, "heads": a.heads,
                  "kv_heads": a.kv_heads or a.heads, "ffn": a.ffn, "vocab": a.vocab,
                  "ctx": a.ctx},
        "prompt_tokens": a.prompt_tokens,
        "gen_tokens": a.gen_tokens,
        "reps": a.reps,
        "rows": [],
        "sgemm_gflops": {},
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
    }
    for t in [int(s) for s in a.threads.split(",") if s]:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t),
                   MKL_NUM_THREADS=str(t))
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        argv = [sys.executable, os.path.abspath(__file__), "--child", "--threads", str(t)]
        for k in ("dim", "layers", "heads", "kv_heads", "ffn", "vocab", "ctx", "prompt_tokens",
                  "gen_tokens", "reps", "dtypes", "seed"):
            argv += ["--" + k.replace("_", "-"), str(getattr(a, k))]
        res = subprocess.run(argv, env=env, stdout=subprocess.PIPE, check=True, text=True)
        child = json.loads(res.stdout)
        out["rows"] += child["rows"]
        out["sgemm_gflops"][str(t)] = child["sgemm_gflops"]
        out["n_params"] = child["n_params"]
        out["quantized_engine"] = child["quantized_engine"]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
