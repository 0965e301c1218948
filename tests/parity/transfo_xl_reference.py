#!/usr/bin/python3
"""Plain PyTorch Transformer-XL (HF TransfoXLLMHeadModel's computation, in its own layout) for
tests/parity/transfo_xl_parity_test.cpp. float64, dropout off.

Usage: transfo_xl_reference.py HF_DIR OUT --seg1 T T ... [--seg2 T T ...] [--greedy N]

Writes
  OUT.seg1  float32 log-probabilities [len(seg1), V] of the first segment (no memory)
  OUT.seg2  the same for the second segment, run with the first one's mems
  OUT.greedy  N token ids continued greedily from seg1 as HF's generate does: the prompt as one
            segment, then one token per segment with the mems (with mem_len 0 HF keeps no mems
            and re-reads the whole sequence each step; so does this).
The structure follows HF on purpose: mems are concatenated hidden states, scores are AC + BD with
BD relative-shifted (_rel_shift), the mask is triu(ones, 1 + mlen) (+ the same_length tril), the
adaptive softmax reads head_logprob[:, -i] for tail cluster i. Lyra's runtime computes the same
by distances over its KV cache, so the two are independent formulations.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_reference import read_safetensors  # noqa: E402

DT = torch.float64


class TransfoXL:
    def __init__(self, hf_dir):
        with open(os.path.join(hf_dir, "config.json")) as f:
            self.c = json.load(f)
        self.w = read_safetensors(os.path.join(hf_dir, "model.safetensors"))
        c, w = self.c, self.w
        self.V, self.C, self.H, self.D = c["vocab_size"], c["d_model"], c["n_head"], c["d_head"]
        self.E, self.div = c.get("d_embed", self.C), c.get("div_val", 1)
        self.cutoffs = list(c.get("cutoffs", [])) + [self.V]
        self.ends = [0] + self.cutoffs
        self.mem_len = max(0, c.get("mem_len", 0))
        self.clamp = c.get("clamp_len", 0)
        self.eps = c.get("layer_norm_epsilon", 1e-5)
        n = len(self.cutoffs)
        tied = c.get("tie_word_embeddings", True)
        # HF tie_weights(): out_layers[i].weight = emb_layers[i].weight; out_projs[i] = emb_projs.
        self.emb_layers = [w["transformer.word_emb.emb_layers.%d.weight" % i]
                           for i in range(n if self.div > 1 else 1)]
        self.emb_projs = [w.get("transformer.word_emb.emb_projs.%d" % i)
                          for i in range(n if self.div > 1 else 1)]
        self.out_w, self.out_b, self.out_projs = [], [], []
        for i in range(len(self.emb_layers)):
            self.out_w.append(self.emb_layers[i] if tied else w["crit.out_layers.%d.weight" % i])
            self.out_b.append(w["crit.out_layers.%d.bias" % i])
        # HF's config derives tie_projs from proj_share_all_but_first unless it saved them.
        share = c.get("proj_share_all_but_first", True)
        tie_projs = c.get("tie_projs", [False] + [share] * (n - 1))
        for i in range(n):
            p = w.get("crit.out_projs.%d" % i)
            if i < len(tie_projs) and tie_projs[i]:
                if self.div == 1 and self.C != self.E:
                    p = self.emb_projs[0]
                elif self.div != 1:
                    p = self.emb_projs[i]
            self.out_projs.append(p)

    def layer(self, i):
        p = "transformer.layers.%d." % i
        w = self.w
        g = lambda k: w[p + k]
        rw = w[p + "dec_attn.r_w_bias"] if self.c.get("untie_r", True) else w["transformer.r_w_bias"]
        rr = w[p + "dec_attn.r_r_bias"] if self.c.get("untie_r", True) else w["transformer.r_r_bias"]
        return g, rw, rr

    def embed(self, ids):
        scale = self.C ** 0.5
        if self.div == 1:
            e = F.embedding(ids, self.emb_layers[0])
            if self.emb_projs[0] is not None:
                e = F.linear(e, self.emb_projs[0])
            return e * scale
        out = torch.zeros(len(ids), self.C, dtype=DT)
        for i in range(len(self.cutoffs)):
            lo, hi = self.ends[i], self.ends[i + 1]
            m = (ids >= lo) & (ids < hi)
            if m.any():
                e = F.embedding(ids[m] - lo, self.emb_layers[i])
                out[m] = F.linear(e, self.emb_projs[i])
        return out * scale

    @staticmethod
    def rel_shift(x):  # x [qlen, klen, H]
        zero = torch.zeros((x.size(0), 1) + x.size()[2:], dtype=x.dtype)
        xp = torch.cat([zero, x], dim=1)
        xp = xp.view((x.size(1) + 1, x.size(0)) + x.size()[2:])
        return xp[1:].view_as(x)

    def attn(self, i, w_in, r, mems, mask):
        g, rw, rr = self.layer(i)
        qlen, H, D = w_in.size(0), self.H, self.D
        cat = torch.cat([mems, w_in], 0) if mems is not None else w_in
        pre = self.c.get("pre_lnorm", False)
        ln = lambda x: F.layer_norm(x, (self.C,), g("dec_attn.layer_norm.weight"),
                                    g("dec_attn.layer_norm.bias"), self.eps)
        heads = F.linear(ln(cat) if pre else cat, g("dec_attn.qkv_net.weight"))
        r_k = F.linear(r, g("dec_attn.r_net.weight")).view(r.size(0), H, D)
        q, k, v = torch.chunk(heads, 3, dim=-1)
        q = q[-qlen:]
        klen = k.size(0)
        q, k, v = q.view(qlen, H, D), k.view(klen, H, D), v.view(klen, H, D)
        ac = torch.einsum("ind,jnd->ijn", q + rw, k)
        bd = self.rel_shift(torch.einsum("ind,jnd->ijn", q + rr, r_k))
        score = (ac + bd) * (1.0 / D ** 0.5)
        score = score.masked_fill(mask[:, :, None], -1e30)
        prob = torch.softmax(score, dim=1)
        vec = torch.einsum("ijn,jnd->ind", prob, v).reshape(qlen, H * D)
        out = F.linear(vec, g("dec_attn.o_net.weight"))
        return w_in + out if pre else ln(w_in + out)

    def ff(self, i, x):
        g, _, _ = self.layer(i)
        ln = lambda y: F.layer_norm(y, (self.C,), g("pos_ff.layer_norm.weight"),
                                    g("pos_ff.layer_norm.bias"), self.eps)
        pre = self.c.get("pre_lnorm", False)
        inp = ln(x) if pre else x
        core = F.linear(F.relu(F.linear(inp, g("pos_ff.CoreNet.0.weight"), g("pos_ff.CoreNet.0.bias"))),
                        g("pos_ff.CoreNet.3.weight"), g("pos_ff.CoreNet.3.bias"))
        return x + core if pre else ln(x + core)

    def forward(self, ids, mems):
        """ids [qlen] -> (log-probs [qlen, V], new mems or None)."""
        ids = torch.tensor(ids, dtype=torch.long)
        qlen = len(ids)
        x = self.embed(ids)
        mlen = mems[0].size(0) if mems is not None else 0
        klen = mlen + qlen
        ones = torch.ones(qlen, klen, dtype=torch.bool)
        if self.c.get("same_length", False):
            mask_len = klen - self.mem_len
            shift = qlen - mask_len if mask_len > 0 else qlen
            mask = torch.triu(ones, 1 + mlen) | torch.tril(ones, -shift)
        else:
            mask = torch.triu(ones, 1 + mlen)
        pos_seq = torch.arange(klen - 1, -1, -1.0, dtype=DT)
        if self.clamp > 0:
            pos_seq = pos_seq.clamp(max=self.clamp)
        inv_freq = 1 / (10000 ** (torch.arange(0.0, self.C, 2.0, dtype=DT) / self.C))
        sinus = torch.outer(pos_seq, inv_freq)
        r = torch.cat([sinus.sin(), sinus.cos()], dim=-1)
        hids = [x]
        for i in range(self.c["n_layer"]):
            x = self.attn(i, x, r, mems[i] if mems is not None else None, mask)
            x = self.ff(i, x)
            hids.append(x)
        new_mems = None
        if self.mem_len > 0:
            new_mems = []
            end = mlen + qlen
            beg = max(0, end - self.mem_len)
            for i in range(len(hids) - 1):
                prev = mems[i] if mems is not None else torch.zeros(0, self.C, dtype=DT)
                new_mems.append(torch.cat([prev, hids[i]], 0)[beg:end])
        return self.log_softmax(x), new_mems

    def logit(self, h, weight, bias, proj):
        if proj is not None:
            h = F.linear(h, proj.t())
        return F.linear(h, weight, bias)

    def log_softmax(self, h):
        n = len(self.cutoffs) - 1
        if n == 0:
            return F.log_softmax(self.logit(h, self.out_w[0], self.out_b[0], self.out_projs[0]), -1)
        ws, bs = [], []
        for i in range(len(self.cutoffs)):
            if self.div == 1:
                lo, hi = self.ends[i], self.ends[i + 1]
                wi, bi = self.out_w[0][lo:hi], self.out_b[0][lo:hi]
            else:
                wi, bi = self.out_w[i], self.out_b[i]
            if i == 0:
                wi = torch.cat([wi, self.w["crit.cluster_weight"]], 0)
                bi = torch.cat([bi, self.w["crit.cluster_bias"]], 0)
            ws.append(wi)
            bs.append(bi)
        head_lp = F.log_softmax(self.logit(h, ws[0], bs[0], self.out_projs[0]), dim=1)
        out = torch.empty(h.size(0), self.V, dtype=DT)
        out[:, : self.cutoffs[0]] = head_lp[:, : self.cutoffs[0]]
        for i in range(1, len(self.cutoffs)):
            tail = F.log_softmax(self.logit(h, ws[i], bs[i], self.out_projs[i]), dim=1)
            out[:, self.ends[i]: self.ends[i + 1]] = head_lp[:, -i, None] + tail
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hf_dir")
    ap.add_argument("out")
    ap.add_argument("--seg1", type=int, nargs="+", required=True)
    ap.add_argument("--seg2", type=int, nargs="*", default=[])
    ap.add_argument("--greedy", type=int, default=0)
    a = ap.parse_args()
    m = TransfoXL(a.hf_dir)
    lp1, mems = m.forward(a.seg1, None)
    lp1.float().numpy().tofile(a.out + ".seg1")
    if a.seg2:
        lp2, _ = m.forward(a.seg2, mems)
        lp2.float().numpy().tofile(a.out + ".seg2")
    if a.greedy:
        seq = list(a.seg1)
        toks = []
        nxt = int(lp1[-1].argmax())
        for _ in range(a.greedy):
            toks.append(nxt)
            seq.append(nxt)
            if mems is not None:
                lp, mems = m.forward([nxt], mems)
            else:
                lp, _ = m.forward(seq, None)
            nxt = int(lp[-1].argmax())
        with open(a.out + ".greedy", "w") as f:
            f.write(" ".join(map(str, toks)) + "\n")


if __name__ == "__main__":
    main()
