#!/usr/bin/python3
"""Plain PyTorch XLNet (HF XLNetLMHeadModel's computation, in its own weight layout) for
tests/parity/xlnet_parity_test.cpp. float64, dropout off, batch of one.

Usage: xlnet_reference.py HF_DIR JOB.json OUT

JOB.json:
  {"two_stream": [{"tokens": [...], "segments": [...] | null, "perm_mask": [[0|1, ...], ...] | null,
                   "targets": [...]}, ...],   run in order, each with the previous ones' mems
   "prompt": [...], "chunk2": [...], "greedy": N, "mutate": "" | "r_s_bias" | "pos_sign"}
Writes (float32 little-endian unless said)
  OUT.tsK.content  [T, d_model]  content stream of two_stream[K] (HF's output without target_mapping)
  OUT.tsK.logits   [targets, V]  the LM head on the query stream (perm_mask + target_mapping)
  OUT.bi.logits    [len(prompt), V]  bidirectional order: row t predicts token t+1 from
                   prompt[:t+1] + a dummy no one sees (HF's generate, recomputed without mems)
  OUT.causal.logits [len(prompt), V] causal order: perm_mask[i][j] = j >= i (a content row sees
                   itself and earlier tokens, a query row earlier ones only), query rows at
                   positions 1..T (the last one is the dummy)
  OUT.causal2.logits [len(chunk2), V] the same for chunk2, run with the prompt's mems
  OUT.bi.greedy, OUT.causal.greedy  N token ids (text) continued greedily from the prompt; the
                   causal one runs each new token as a segment [token, dummy] with mems.
--mutate breaks one detail on purpose (the parity test checks that it is then seen): r_s_bias
drops it, pos_sign flips the relative positions.
The structure follows HF on purpose (einsums, rel_shift_bnij, perm_mask -> attn_mask /
non_tgt_mask, target_mapping einsums, cache_mem); Lyra computes by distances over its cache.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_reference import read_safetensors  # noqa: E402

DT = torch.float64


class XLNet:
    def __init__(self, hf_dir, mutate=""):
        with open(os.path.join(hf_dir, "config.json")) as f:
            self.c = json.load(f)
        self.w = read_safetensors(os.path.join(hf_dir, "model.safetensors"))
        c, w = self.c, self.w
        self.pre = "transformer." if "transformer.word_embedding.weight" in w else ""
        self.C, self.H = c["d_model"], c["n_head"]
        self.D = self.C // self.H
        self.L = c["n_layer"]
        self.eps = c.get("layer_norm_eps", 1e-12)
        self.mem_len = c.get("mem_len", 512) or 0
        self.clamp = c.get("clamp_len", -1)
        self.mutate = mutate
        self.emb = w[self.pre + "word_embedding.weight"]
        self.mask_emb = w[self.pre + "mask_emb"].reshape(-1)
        self.V = self.emb.shape[0]
        self.out_w = w["lm_loss.weight"] if not c.get("tie_word_embeddings", True) else self.emb
        self.out_b = w.get("lm_loss.bias", torch.zeros(self.V, dtype=DT))
        act = c.get("ff_activation", "gelu")
        self.act = {"gelu": F.gelu, "relu": F.relu, "swish": F.silu, "silu": F.silu,
                    "gelu_new": lambda x: F.gelu(x, approximate="tanh")}[act]

    def p(self, i, name):
        own = "%slayer.%d.rel_attn.%s" % (self.pre, i, name)
        if own in self.w:
            return self.w[own]
        return self.w[self.pre + name]  # untie_r false, TensorFlow layout: one for all layers

    def lp(self, i, name):
        return self.w["%slayer.%d.%s" % (self.pre, i, name)]

    def rel_pos(self, qlen, klen):
        inv_freq = 1 / torch.pow(10000.0, torch.arange(0, self.C, 2.0, dtype=DT) / self.C)
        pos_seq = torch.arange(klen, -qlen, -1.0, dtype=DT)
        if self.mutate == "pos_sign":
            pos_seq = -pos_seq
        if self.clamp > 0:
            pos_seq = pos_seq.clamp(-self.clamp, self.clamp)
        sinus = torch.einsum("i,d->id", pos_seq, inv_freq)
        return torch.cat([sinus.sin(), sinus.cos()], dim=-1)

    @staticmethod
    def rel_shift(x, klen):  # x [n, i, J] -> [n, i, klen]
        n, i, J = x.shape
        return x.reshape(n, J, i)[:, 1:, :].reshape(n, i, J - 1)[:, :, :klen]

    def core(self, i, q, k, v, kr, seg_mat, mask):
        r_s = self.p(i, "r_s_bias")
        if self.mutate == "r_s_bias":
            r_s = torch.zeros_like(r_s)
        ac = torch.einsum("ind,jnd->nij", q + self.p(i, "r_w_bias"), k)
        bd = self.rel_shift(torch.einsum("ind,jnd->nij", q + self.p(i, "r_r_bias"), kr), k.shape[0])
        ef = 0
        if seg_mat is not None:
            ef = torch.einsum("ind,snd->ins", q + r_s, self.p(i, "seg_embed"))
            ef = torch.einsum("ijs,ins->nij", seg_mat, ef)
        score = (ac + bd + ef) / self.D ** 0.5
        if mask is not None:
            score = score - 1e30 * mask[None].to(DT)
        prob = torch.softmax(score, dim=2)
        return torch.einsum("nij,jnd->ind", prob, v)

    def post(self, i, x, vec):
        out = torch.einsum("ind,hnd->ih", vec, self.p(i, "o"))
        return F.layer_norm(out + x, (self.C,), self.p(i, "layer_norm.weight"),
                            self.p(i, "layer_norm.bias"), self.eps)

    def ff(self, i, x):
        y = F.linear(x, self.lp(i, "ff.layer_1.weight"), self.lp(i, "ff.layer_1.bias"))
        y = F.linear(self.act(y), self.lp(i, "ff.layer_2.weight"), self.lp(i, "ff.layer_2.bias"))
        return F.layer_norm(y + x, (self.C,), self.lp(i, "ff.layer_norm.weight"),
                            self.lp(i, "ff.layer_norm.bias"), self.eps)

    def cache_mem(self, cur, prev):
        cat = cur if prev is None else torch.cat([prev, cur], 0)
        return cat[-self.mem_len:] if self.mem_len > 0 else cat

    def forward(self, ids, mems=None, perm_mask=None, targets=None, segments=None, n_cache=None):
        """ids [T]; perm_mask [T, T] (1: i may not see j); targets: the position each query row
        reads (one-hot target_mapping rows). Returns (content [T, C], logits or None, mems of
        the first n_cache tokens appended)."""
        ids = torch.tensor(ids, dtype=torch.long)
        qlen = len(ids)
        mlen = mems[0].shape[0] if mems is not None else 0
        klen = mlen + qlen
        attn_mask = non_tgt = None
        if perm_mask is not None:
            data = torch.tensor(perm_mask, dtype=DT)
            data = torch.cat([torch.zeros(qlen, mlen, dtype=DT), data], dim=1)
            attn_mask = (data > 0).to(DT)
            eye = torch.cat([torch.zeros(qlen, mlen, dtype=DT), -torch.eye(qlen, dtype=DT)], dim=1)
            non_tgt = ((attn_mask + eye) > 0).to(DT)
        tm = None
        if targets is not None:
            tm = torch.zeros(len(targets), qlen, dtype=DT)
            for m, t in enumerate(targets):
                tm[m, t] = 1.0
        seg_mat = None
        if segments is not None:
            tt = torch.tensor(segments, dtype=torch.long)
            cat_ids = torch.cat([torch.zeros(mlen, dtype=torch.long), tt])
            seg_mat = F.one_hot((tt[:, None] != cat_ids[None, :]).long(), num_classes=2).to(DT)
        h = F.embedding(ids, self.emb)
        g = self.mask_emb.expand(len(targets), -1) if tm is not None else None
        r = self.rel_pos(qlen, klen)
        new_mems = []
        n_cache = qlen if n_cache is None else n_cache
        for i in range(self.L):
            new_mems.append(self.cache_mem(h[:n_cache], mems[i] if mems is not None else None))
            cat = torch.cat([mems[i], h], 0) if mems is not None else h
            k = torch.einsum("jh,hnd->jnd", cat, self.p(i, "k"))
            v = torch.einsum("jh,hnd->jnd", cat, self.p(i, "v"))
            kr = torch.einsum("jh,hnd->jnd", r, self.p(i, "r"))
            qh = torch.einsum("ih,hnd->ind", h, self.p(i, "q"))
            h_att = self.post(i, h, self.core(i, qh, k, v, kr, seg_mat, non_tgt))
            if g is not None:
                qg = torch.einsum("mh,hnd->mnd", g, self.p(i, "q"))
                qg = torch.einsum("mnd,ml->lnd", qg, tm)
                vec = self.core(i, qg, k, v, kr, seg_mat, attn_mask)
                vec = torch.einsum("lnd,ml->mnd", vec, tm)
                g = self.ff(i, self.post(i, g, vec))
            h = self.ff(i, h_att)
        logits = F.linear(g, self.out_w, self.out_b) if g is not None else None
        return h, logits, new_mems

    # ---- generation orders ----
    def bidirectional(self, prefix):
        n = len(prefix)
        perm = [[1 if j == n else 0 for j in range(n + 1)] for _ in range(n + 1)]
        return self.forward(list(prefix) + [0], perm_mask=perm, targets=[n])[1][0]

    def causal(self, ids, mems, all_rows):
        n = len(ids)
        perm = [[1 if j >= i else 0 for j in range(n + 1)] for i in range(n + 1)]
        targets = list(range(1, n + 1)) if all_rows else [n]
        _, logits, mems = self.forward(list(ids) + [0], mems=mems, perm_mask=perm, targets=targets,
                                       n_cache=n)
        return logits, mems


def save(t, path):
    t.float().numpy().tofile(path)


def main():
    hf_dir, job_path, out = sys.argv[1:4]
    with open(job_path) as f:
        job = json.load(f)
    m = XLNet(hf_dir, job.get("mutate", ""))
    mems = None
    for k, ts in enumerate(job.get("two_stream", [])):
        content, logits, mems = m.forward(ts["tokens"], mems=mems, perm_mask=ts.get("perm_mask"),
                                          targets=ts.get("targets"), segments=ts.get("segments"))
        save(content, "%s.ts%d.content" % (out, k))
        if logits is not None:
            save(logits, "%s.ts%d.logits" % (out, k))
    prompt = job.get("prompt")
    if not prompt:
        return
    save(torch.stack([m.bidirectional(prompt[: t + 1]) for t in range(len(prompt))]),
         out + ".bi.logits")
    logits, mems = m.causal(prompt, None, True)
    save(logits, out + ".causal.logits")
    if job.get("chunk2"):
        save(m.causal(job["chunk2"], mems, True)[0], out + ".causal2.logits")
    n = job.get("greedy", 0)
    if n:
        seq = list(prompt)
        for _ in range(n):
            seq.append(int(m.bidirectional(seq).argmax()))
        with open(out + ".bi.greedy", "w") as f:
            f.write(" ".join(map(str, seq[len(prompt):])) + "\n")
        logits, mems = m.causal(prompt, None, False)
        toks = []
        for _ in range(n):
            toks.append(int(logits[-1].argmax()))
            logits, mems = m.causal([toks[-1]], mems, False)
        with open(out + ".causal.greedy", "w") as f:
            f.write(" ".join(map(str, toks)) + "\n")


if __name__ == "__main__":
    main()
