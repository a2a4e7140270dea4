"""Independent reference tokenizer built from the GGUF's own vocabulary.

Builds a Hugging Face `tokenizers` byte-level BPE tokenizer from the GGUF metadata
(`tokenizer.ggml.tokens`, `tokenizer.ggml.merges`, `tokenizer.ggml.token_type`) with the SmolLM
pre-tokenizer: Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False,
use_regex=True)], a ByteLevel decoder, no normalizer, and every CONTROL / USER_DEFINED token
registered as a special (added) token so it is matched verbatim in text.

Only PyPI packages are used (`gguf`, `tokenizers`); no llama.cpp, no transformers, no model hub.

Usage:
    from gguf_tokenizer import load_gguf_tokenizer, DEFAULT_MODEL
    tok, meta = load_gguf_tokenizer(DEFAULT_MODEL)
    tok.encode("The capital of France is", add_special_tokens=False).ids
"""
from __future__ import annotations

import os
import sys

import gguf
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

DEFAULT_MODEL = os.environ.get(
    "STARSIM_MODEL",
    os.path.join(
        os.environ.get("STARSIM_CACHE", os.path.expanduser("~/.cache/starsim")),
        "SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
)

# gguf token types (llama.cpp): 1 NORMAL, 2 UNKNOWN, 3 CONTROL, 4 USER_DEFINED, 5 UNUSED, 6 BYTE
TOKEN_TYPE_CONTROL = 3
TOKEN_TYPE_USER_DEFINED = 4


def read_tokenizer_metadata(path: str) -> dict:
    """Reads the tokenizer-related GGUF fields into plain Python values."""
    reader = gguf.GGUFReader(path)
    fields = reader.fields

    def get(key, default=None):
        f = fields.get(key)
        return default if f is None else f.contents()

    meta = {
        "model": get("tokenizer.ggml.model"),
        "pre": get("tokenizer.ggml.pre"),
        "tokens": list(get("tokenizer.ggml.tokens")),
        "merges": list(get("tokenizer.ggml.merges")),
        "token_type": [int(t) for t in get("tokenizer.ggml.token_type")],
        "bos_token_id": get("tokenizer.ggml.bos_token_id"),
        "eos_token_id": get("tokenizer.ggml.eos_token_id"),
        "add_bos_token": get("tokenizer.ggml.add_bos_token"),
        "chat_template": get("tokenizer.chat_template"),
    }
    if meta["model"] != "gpt2":
        raise ValueError(f"{path}: tokenizer.ggml.model is {meta['model']!r}, expected 'gpt2' (byte-level BPE)")
    if meta["pre"] != "smollm":
        raise ValueError(f"{path}: tokenizer.ggml.pre is {meta['pre']!r}, expected 'smollm'")
    if len(meta["tokens"]) != len(meta["token_type"]):
        raise ValueError(f"{path}: {len(meta['tokens'])} tokens but {len(meta['token_type'])} token types")
    return meta


def build_tokenizer(meta: dict) -> Tokenizer:
    tokens = meta["tokens"]
    vocab = {t: i for i, t in enumerate(tokens)}
    if len(vocab) != len(tokens):
        raise ValueError("duplicate strings in tokenizer.ggml.tokens")
    merges = []
    for m in meta["merges"]:
        a, b = m.split(" ")  # GGUF stores merges as "left right"; byte-level symbols never contain ' '
        merges.append((a, b))
    # No unk token, no subword prefix/suffix, no dropout, no byte fallback (as in SmolLM's tokenizer.json).
    bpe = models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False, ignore_merges=False)
    tok = Tokenizer(bpe)
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    specials = [
        AddedToken(tokens[i], special=True, normalized=False, single_word=False, lstrip=False, rstrip=False)
        for i, t in enumerate(meta["token_type"])
        if t in (TOKEN_TYPE_CONTROL, TOKEN_TYPE_USER_DEFINED)
    ]
    tok.add_special_tokens(specials)
    # Added tokens already in the vocabulary keep their ids; verify.
    for i, t in enumerate(meta["token_type"]):
        if t in (TOKEN_TYPE_CONTROL, TOKEN_TYPE_USER_DEFINED):
            assert tok.token_to_id(tokens[i]) == i, (tokens[i], tok.token_to_id(tokens[i]), i)
    assert tok.get_vocab_size(with_added_tokens=True) == len(tokens)
    return tok


def load_gguf_tokenizer(path: str = DEFAULT_MODEL):
    meta = read_tokenizer_metadata(path)
    return build_tokenizer(meta), meta


def encode(tok: Tokenizer, text: str) -> list[int]:
    """Encodes with special-token matching and without any automatically added BOS/EOS."""
    return tok.encode(text, add_special_tokens=False).ids


def decode(tok: Tokenizer, ids: list[int]) -> str:
    """Decodes keeping special tokens in the text (like llama.cpp's detokenize with specials)."""
    return tok.decode(ids, skip_special_tokens=False)


if __name__ == "__main__":
    tok, meta = load_gguf_tokenizer(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL)
    ids = encode(tok, "The capital of France is")
    print(ids)
    assert ids == [504, 3575, 282, 4649, 314], ids
    print("sanity OK")
