"""The encoder families of make_hf_fixture.py (issue 10): BERT, RoBERTa and ALBERT directories
in the layout HF's BertForMaskedLM / BertModel, RobertaForMaskedLM / RobertaModel and
AlbertForMaskedLM / AlbertModel save, with the GGUF tensors and keys Lyra's import must write
(docs/formats/gguf.md, "Encoders").

Options (make_hf_fixture.py passes them through): --head mlm|none (the ...ForMaskedLM class or
the bare model), --pooler (save the pooler), --emb E (ALBERT's embedding_size), --groups G
(ALBERT's num_hidden_groups), --act gelu|gelu_new|relu, --untied (a separate MLM decoder
weight), --ctx P (max_position_embeddings; RoBERTa's first pad_token_id + 1 rows are unused).

Tokenizers, each family's own kind on a small vocabulary: BERT a WordPiece tokenizer.json
(uncased BertNormalizer), RoBERTa byte-level BPE (the gpt2 fixture's bytes plus merges, <s>
<pad> </s> <unk> first and <mask> last as roberta-base numbers them, RobertaProcessing), ALBERT
a SentencePiece Unigram one (Metaspace, lowercase); BERT's and ALBERT's post-processor is
TemplateProcessing [CLS] $A [SEP].
"""
import math

import torch


WORDS = ["the", "cat", "sat", "on", "mat", "hello", "there", "dog", "ran", "a", "is", "quiet",
         "lake", "still", "pond", "poem", "night"]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def added(text, i, lstrip=False):
    return {"id": i, "content": text, "single_word": False, "lstrip": lstrip, "rstrip": False,
            "normalized": False, "special": True}


def cls_sep_template(cls, sep, ids):
    """The post-processor BERT and ALBERT tokenizer.json files carry: [CLS] $A [SEP]."""
    item = lambda k, t: {k: {"id": t, "type_id": 0}}
    return {"type": "TemplateProcessing",
            "single": [item("SpecialToken", cls), item("Sequence", "A"), item("SpecialToken", sep)],
            "pair": [item("SpecialToken", cls), item("Sequence", "A"), item("SpecialToken", sep),
                     {"Sequence": {"id": "B", "type_id": 1}}, item("SpecialToken", sep)],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in (cls, sep)}}


def wordpiece_tokenizer():
    """bert-base-uncased's setup on a small vocabulary: BertNormalizer (lowercase), BertPreTokenizer,
    WordPiece with ## continuations, [CLS] $A [SEP]. tokenizer_config.json names no special
    token (as bert-base-uncased's does not): the ids come from the post-processor and the
    conventional [MASK]."""
    pieces = SPECIALS + [chr(c) for c in range(ord("a"), ord("z") + 1)] + \
        ["##" + chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,!?'-") + \
        WORDS + ["##s", "##ing", "##ed"]
    pieces = list(dict.fromkeys(pieces))  # "a" is a letter and a word
    vocab = {p: i for i, p in enumerate(pieces)}
    tj = {"version": "1.0", "truncation": None, "padding": None,
          "added_tokens": [added(t, vocab[t]) for t in SPECIALS],
          "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                         "strip_accents": None, "lowercase": True},
          "pre_tokenizer": {"type": "BertPreTokenizer"},
          "post_processor": cls_sep_template("[CLS]", "[SEP]", vocab),
          "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
          "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                    "max_input_chars_per_word": 100, "vocab": vocab}}
    return tj, {"do_lower_case": True, "model_max_length": 512}, len(vocab), vocab["[PAD]"]


def unigram_tokenizer():
    """albert-base-v2's setup on a small vocabulary: <pad> <unk> [CLS] [SEP] [MASK] (the mask with
    lstrip), Lowercase, Metaspace (prepend "▁"), Unigram scores, [CLS] $A [SEP]."""
    mark = "\u2581"
    specials = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    pieces = [[t, 0.0] for t in specials] + [[mark, -2.0]] + \
        [[mark + w, -3.0 - 0.1 * i] for i, w in enumerate(WORDS)] + \
        [[chr(c), -6.0] for c in range(ord("a"), ord("z") + 1)] + [[p, -7.0] for p in ".,!?'"] + \
        [["ing", -4.5], [mark + "c", -5.0]]
    assert len({p[0] for p in pieces}) == len(pieces)
    ids = {p[0]: i for i, p in enumerate(pieces)}
    tj = {"version": "1.0", "truncation": None, "padding": None,
          "added_tokens": [added(t, i, lstrip=t == "[MASK]") for i, t in enumerate(specials)],
          "normalizer": {"type": "Sequence", "normalizers": [{"type": "Lowercase"}]},
          "pre_tokenizer": {"type": "Metaspace", "replacement": mark, "prepend_scheme": "always",
                            "split": True},
          "post_processor": cls_sep_template("[CLS]", "[SEP]", ids),
          "decoder": {"type": "Metaspace", "replacement": mark, "prepend_scheme": "always",
                      "split": True},
          "model": {"type": "Unigram", "unk_id": 1, "vocab": pieces, "byte_fallback": False}}
    cfg = {"do_lower_case": True, "keep_accents": False, "remove_space": True, "cls_token": "[CLS]",
           "sep_token": "[SEP]", "mask_token": {"content": "[MASK]", "lstrip": True}}
    return tj, cfg, len(pieces), ids["<pad>"]


def special_ids(tj):
    """The ids of the specials by text, from added_tokens."""
    return {t["content"]: t["id"] for t in tj["added_tokens"]}


def tokenizer(arch, byte_char):
    """Returns (tokenizer.json, tokenizer_config.json, vocab size, pad id)."""
    if arch == "bert":
        return wordpiece_tokenizer()
    if arch == "albert":
        return unigram_tokenizer()
    vocab, specials = {}, []

    def special(text):
        vocab[text] = len(vocab)
        specials.append(added(text, vocab[text], lstrip=text == "<mask>"))

    for t in ("<s>", "<pad>", "</s>", "<unk>"):  # RoBERTa: byte-level BPE
        special(t)
    for b in range(256):
        vocab[byte_char(b)] = len(vocab)
    merges = []
    for a, b in [("h", "e"), ("l", "l"), ("he", "ll"), (byte_char(32), "t"), ("o", "r"),
                 (byte_char(32), "c"), ("a", "t")]:
        vocab[a + b] = len(vocab)
        merges.append(a + " " + b)
    special("<mask>")
    names = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
             "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>"}
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": specials,
          "normalizer": None,
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                            "use_regex": True},
          "post_processor": None, "decoder": {"type": "ByteLevel"},
          "model": {"type": "BPE", "dropout": None, "unk_token": None,
                    "continuing_subword_prefix": None, "end_of_word_suffix": None,
                    "fuse_unk": False, "vocab": vocab, "merges": merges}}
    tj["post_processor"] = {"type": "RobertaProcessing", "sep": ["</s>", vocab["</s>"]],
                            "cls": ["<s>", vocab["<s>"]], "trim_offsets": True,
                            "add_prefix_space": False}
    return tj, dict(names, model_max_length=512), len(vocab), vocab["<pad>"]


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
    sp = special_ids(tj)
    keys = {"general.architecture": arch, f"{arch}.context_length": a.ctx,
            f"{arch}.embedding_length": C, f"{arch}.block_count": L,
            f"{arch}.feed_forward_length": F, f"{arch}.attention.head_count": H,
            f"{arch}.attention.layer_norm_epsilon": config["layer_norm_eps"],
            f"{arch}.hidden_act": a.act if a.act != "gelu_pytorch_tanh" else "gelu_new",
            "tokenizer.ggml.token_type_count": config["type_vocab_size"],
            "tokenizer.ggml.cls_token_id": sp["<s>" if arch == "roberta" else "[CLS]"],
            "tokenizer.ggml.seperator_token_id": sp["</s>" if arch == "roberta" else "[SEP]"],
            "tokenizer.ggml.mask_token_id": sp["<mask>" if arch == "roberta" else "[MASK]"],
            "tokenizer.ggml.model": {"bert": "bert", "roberta": "gpt2", "albert": "t5"}[arch]}
    if albert:
        keys.update({"albert.token_embedding_length": E, "albert.layer_group_count": G})
    return config, keys, tj, tcfg
