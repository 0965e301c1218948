"""The encoder families of make_hf_fixture.py (issue 10): BERT, RoBERTa and ALBERT directories
in the layout HF's BertForMaskedLM / BertModel, RobertaForMaskedLM / RobertaModel and
AlbertForMaskedLM / AlbertModel save, with the GGUF tensors and keys Lyra's import must write
(docs/formats/gguf.md, "Encoders").

Options (make_hf_fixture.py passes them through): --head mlm|none (the ...ForMaskedLM class or
the bare model), --pooler (save the pooler), --emb E (ALBERT's embedding_size), --groups G
(ALBERT's num_hidden_groups), --act gelu|gelu_new|relu, --untied (a separate MLM decoder
weight), --ctx P (max_position_embeddings; RoBERTa's first pad_token_id + 1 rows are unused).

Tokenizers: byte-level BPE tokenizer.json (the gpt2 fixture's bytes and merges) with the
family's special tokens as added tokens: RoBERTa's <s> <pad> </s> <unk> first and <mask> last
(as roberta-base numbers them), BERT's and ALBERT's [PAD] [UNK] [CLS] [SEP] [MASK] after the
bytes. The specials are named in tokenizer_config.json as HF writes them.
"""
import math

import torch


def tokenizer(arch, byte_char):
    """Returns (tokenizer.json, tokenizer_config.json, vocab size, pad id)."""
    vocab, added = {}, []

    def special(text):
        vocab[text] = len(vocab)
        added.append({"id": vocab[text], "content": text, "single_word": False,
                      "lstrip": text in ("<mask>", "[MASK]") and arch != "bert",
                      "rstrip": False, "normalized": False, "special": True})

    if arch == "roberta":
        for t in ("<s>", "<pad>", "</s>", "<unk>"):
            special(t)
    for b in range(256):
        vocab[byte_char(b)] = len(vocab)
    merges = []
    for a, b in [("h", "e"), ("l", "l"), ("he", "ll"), (byte_char(32), "t"), ("o", "r"),
                 (byte_char(32), "c"), ("a", "t")]:
        vocab[a + b] = len(vocab)
        merges.append(a + " " + b)
    if arch == "roberta":
        special("<mask>")
        names = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                 "sep_token": "</s>", "cls_token": "<s>", "pad_token": "<pad>",
                 "mask_token": "<mask>"}
    else:
        for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"):
            special(t)
        names = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                 "cls_token": "[CLS]", "mask_token": "[MASK]"}
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
          "normalizer": None,
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                            "use_regex": True},
          "post_processor": None, "decoder": {"type": "ByteLevel"},
          "model": {"type": "BPE", "dropout": None, "unk_token": None,
                    "continuing_subword_prefix": None, "end_of_word_suffix": None,
                    "fuse_unk": False, "vocab": vocab, "merges": merges}}
    return tj, dict(names, model_max_length=512), len(vocab), vocab["<pad>" if arch == "roberta" else "[PAD]"]


def build(a, byte_char, rnd, norm_w, put, hf):
    """Fills hf / the expected GGUF tensors through put(); returns (config, keys, tj, tcfg)."""
    arch = a.arch
    tj, tcfg, V, pad = tokenizer(arch, byte_char)
    C, L, H, F = a.dim, a.layers, a.heads, a.ffn
    albert = arch == "albert"
    E = a.emb if albert else C
    G = a.groups if albert else L
    mlm = a.head == "mlm"
    cls_name = {"bert": "Bert", "roberta": "Roberta", "albert": "Albert"}[arch]
    offset = pad + 1 if arch == "roberta" else 0
    P = a.ctx + offset
    config = {"architectures": [cls_name + ("ForMaskedLM" if mlm else "Model")],
              "model_type": arch, "vocab_size": V, "hidden_size": C, "num_hidden_layers": L,
              "num_attention_heads": H, "intermediate_size": F, "hidden_act": a.act,
              "max_position_embeddings": P, "type_vocab_size": 1 if arch == "roberta" else 2,
              "layer_norm_eps": 1e-12 if arch != "roberta" else 1e-5,
              "position_embedding_type": "absolute", "pad_token_id": pad,
              "tie_word_embeddings": not a.untied}
    if albert:
        config.update({"embedding_size": E, "num_hidden_groups": G, "inner_group_num": 1})
    p = (arch + ".") if mlm else ""
    e = p + "embeddings."
    put(e + "word_embeddings.weight", rnd(V, E, scale=0.5), "token_embd.weight")
    pos = rnd(P, E, scale=0.3)
    put(e + "position_embeddings.weight", pos, "position_embd.weight", pos[offset:])
    put(e + "token_type_embeddings.weight", rnd(config["type_vocab_size"], E, scale=0.3),
        "token_types.weight")
    put(e + "LayerNorm.weight", norm_w(E), "token_embd_norm.weight")
    put(e + "LayerNorm.bias", rnd(E, scale=0.1), "token_embd_norm.bias")
    hf[e + "position_ids"] = torch.arange(P, dtype=torch.int64)[None]  # a buffer old exports keep
    if albert:
        put(p + "encoder.embedding_hidden_mapping_in.weight", rnd(C, E), "token_embd_proj.weight")
        put(p + "encoder.embedding_hidden_mapping_in.bias", rnd(C, scale=0.1), "token_embd_proj.bias")
    for i in range(G):
        b = f"blk.{i}."
        if albert:
            l = f"{p}encoder.albert_layer_groups.{i}.albert_layers.0."
            names = [(l + "attention.query", "attn_q", C, C), (l + "attention.key", "attn_k", C, C),
                     (l + "attention.value", "attn_v", C, C), (l + "attention.dense", "attn_output", C, C),
                     (l + "ffn", "ffn_up", F, C), (l + "ffn_output", "ffn_down", C, F)]
            norms = [(l + "attention.LayerNorm", "attn_output_norm"),
                     (l + "full_layer_layer_norm", "layer_output_norm")]
        else:
            l = f"{p}encoder.layer.{i}."
            names = [(l + "attention.self.query", "attn_q", C, C),
                     (l + "attention.self.key", "attn_k", C, C),
                     (l + "attention.self.value", "attn_v", C, C),
                     (l + "attention.output.dense", "attn_output", C, C),
                     (l + "intermediate.dense", "ffn_up", F, C), (l + "output.dense", "ffn_down", C, F)]
            norms = [(l + "attention.output.LayerNorm", "attn_output_norm"),
                     (l + "output.LayerNorm", "layer_output_norm")]
        for hn, gn, rows, cols in names:
            put(hn + ".weight", rnd(rows, cols), b + gn + ".weight")
            put(hn + ".bias", rnd(rows, scale=0.1), b + gn + ".bias")
        for hn, gn in norms:
            put(hn + ".weight", norm_w(C), b + gn + ".weight")
            put(hn + ".bias", rnd(C, scale=0.1), b + gn + ".bias")
    if a.pooler:
        pn = p + ("pooler" if albert else "pooler.dense")
        put(pn + ".weight", rnd(C, C), "cls.weight")
        put(pn + ".bias", rnd(C, scale=0.1), "cls.bias")
    if mlm:
        h = {"bert": "cls.predictions.", "roberta": "lm_head.", "albert": "predictions."}[arch]
        dense = h + ("transform.dense" if arch == "bert" else "dense")
        norm = h + {"bert": "transform.LayerNorm", "roberta": "layer_norm", "albert": "LayerNorm"}[arch]
        put(dense + ".weight", rnd(E, C), "mlm_dense.weight")
        put(dense + ".bias", rnd(E, scale=0.1), "mlm_dense.bias")
        put(norm + ".weight", norm_w(E), "mlm_norm.weight")
        put(norm + ".bias", rnd(E, scale=0.1), "mlm_norm.bias")
        put(h + "bias", rnd(V, scale=0.1), "output.bias")
        hf[h + "decoder.bias"] = hf[h + "bias"].clone()  # tied to the bias; HF saves both
        if a.untied:
            put(h + "decoder.weight", rnd(V, E, scale=0.5), "output.weight")
        else:
            hf[h + "decoder.weight"] = hf[e + "word_embeddings.weight"].clone()
        if arch == "bert":  # the next-sentence head bert-base-uncased ships; the import skips it
            hf["cls.seq_relationship.weight"] = rnd(2, C)
            hf["cls.seq_relationship.bias"] = rnd(2, scale=0.1)
    keys = {"general.architecture": arch, f"{arch}.context_length": a.ctx,
            f"{arch}.embedding_length": C, f"{arch}.block_count": L,
            f"{arch}.feed_forward_length": F, f"{arch}.attention.head_count": H,
            f"{arch}.attention.layer_norm_epsilon": config["layer_norm_eps"],
            f"{arch}.hidden_act": a.act if a.act != "gelu_pytorch_tanh" else "gelu_new",
            "tokenizer.ggml.token_type_count": config["type_vocab_size"],
            "tokenizer.ggml.cls_token_id": tj["model"]["vocab"][tcfg["cls_token"]],
            "tokenizer.ggml.seperator_token_id": tj["model"]["vocab"][tcfg["sep_token"]],
            "tokenizer.ggml.mask_token_id": tj["model"]["vocab"][tcfg["mask_token"]]}
    if albert:
        keys.update({"albert.token_embedding_length": E, "albert.layer_group_count": G})
    return config, keys, tj, tcfg
