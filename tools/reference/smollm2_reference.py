"""Plain NumPy forward pass of SmolLM2-135M-Instruct straight from its GGUF (independent reference).

Reads tensors with PyPI's `gguf` (GGUFReader + gguf.quants.dequantize), config from the `llama.*`
metadata, and runs a textbook Llama forward in float32 (or float64 for error estimates):

    h = token_embd[ids]
    per layer:  x = RMSNorm(h) * attn_norm
                q, k, v = x Wqᵀ, x Wkᵀ, x Wvᵀ            (W stored [out, in] after dequantize)
                RoPE on q, k: ADJACENT pairs (2i, 2i+1), θ_i = base^(−2i/head_dim)
                (llama.cpp's converter permuted the Q/K rows, so this is the right pairing
                for the weights as stored in the GGUF)
                exact causal softmax attention, GQA (query head h uses KV head h // (heads/kv_heads)),
                scale 1/sqrt(head_dim)
                h += attn Woᵀ
                x = RMSNorm(h) * ffn_norm
                h += (silu(x Wgᵀ) * (x Wuᵀ)) Wdᵀ
    logits = RMSNorm(h) * output_norm · token_embdᵀ        (tied embeddings; no output.weight)

The whole prompt is processed as one batch; attention is done per KV-head group with an explicit
[n, n] score matrix per query head (fine up to a few thousand tokens).

CLI:  python3 tools/reference/smollm2_reference.py [model.gguf]   -> runs the PLATFORM.md sanity check.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import gguf

DEFAULT_MODEL = os.environ.get(
    "STARSIM_MODEL",
    os.path.join(
        os.environ.get("STARSIM_CACHE", os.path.expanduser("~/.cache/starsim")),
        "SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
)


class Config:
    def __init__(self, reader: gguf.GGUFReader):
        f = reader.fields

        def need(key):
            if key not in f:
                raise KeyError(f"GGUF metadata key {key!r} missing")
            return f[key].contents()

        arch = need("general.architecture")
        if arch != "llama":
            raise ValueError(f"general.architecture is {arch!r}, expected 'llama'")
        self.layers = int(need("llama.block_count"))
        self.hidden = int(need("llama.embedding_length"))
        self.ffn = int(need("llama.feed_forward_length"))
        self.heads = int(need("llama.attention.head_count"))
        self.kv_heads = int(need("llama.attention.head_count_kv"))
        self.head_dim = self.hidden // self.heads
        self.rope_dim = int(f["llama.rope.dimension_count"].contents()) if "llama.rope.dimension_count" in f else self.head_dim
        self.rope_base = float(need("llama.rope.freq_base"))
        self.eps = float(need("llama.attention.layer_norm_rms_epsilon"))
        self.context = int(need("llama.context_length"))
        self.vocab = None  # set from token_embd

    def __repr__(self):
        return (f"Config(layers={self.layers}, hidden={self.hidden}, ffn={self.ffn}, heads={self.heads}, "
                f"kv_heads={self.kv_heads}, head_dim={self.head_dim}, rope_dim={self.rope_dim}, "
                f"rope_base={self.rope_base}, eps={self.eps!r}, vocab={self.vocab}, context={self.context})")


def _check_dequantize(t) -> None:
    """Cross-checks gguf.quants.dequantize against the block formulas in PLATFORM.md on one row."""
    raw = np.asarray(t.data[0], dtype=np.uint8)
    if t.tensor_type == gguf.GGMLQuantizationType.Q4_1:
        blocks = raw.reshape(-1, 20)
        d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
        m = blocks[:, 2:4].copy().view(np.float16).astype(np.float32)
        q = blocks[:, 4:20]
        lo = (q & 15).astype(np.float32) * d + m
        hi = (q >> 4).astype(np.float32) * d + m
        mine = np.concatenate([lo, hi], axis=1).reshape(-1)
    elif t.tensor_type == gguf.GGMLQuantizationType.Q8_0:
        blocks = raw.reshape(-1, 34)
        d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
        q = blocks[:, 2:34].copy().view(np.int8).astype(np.float32)
        mine = (d * q).reshape(-1)
    else:
        return
    lib = gguf.quants.dequantize(t.data[:1], t.tensor_type).reshape(-1)
    if not np.array_equal(mine, lib):
        raise AssertionError(f"{t.name}: manual {t.tensor_type.name} decode differs from gguf.quants.dequantize")


class SmolLM2:
    """Weights dequantized once to `dtype` (float32 by default); matrices stored [out, in]."""

    def __init__(self, path: str = DEFAULT_MODEL, dtype=np.float32):
        self.dtype = dtype
        reader = gguf.GGUFReader(path)
        self.config = c = Config(reader)
        tensors = {t.name: t for t in reader.tensors}
        _check_dequantize(tensors["token_embd.weight"])
        _check_dequantize(tensors["blk.0.attn_q.weight"])

        def load(name, shape):
            t = tensors[name]
            w = gguf.quants.dequantize(t.data, t.tensor_type).astype(dtype, copy=False)
            w = np.ascontiguousarray(w.reshape(shape))
            return w

        self.embd = load("token_embd.weight", (-1, c.hidden))  # [vocab, hidden]
        c.vocab = self.embd.shape[0]
        if "output.weight" in tensors:
            raise ValueError("output.weight present: this reference assumes tied embeddings")
        self.out_norm = load("output_norm.weight", (c.hidden,))
        kvd = c.kv_heads * c.head_dim
        self.blocks = []
        for i in range(c.layers):
            p = f"blk.{i}."
            self.blocks.append(dict(
                attn_norm=load(p + "attn_norm.weight", (c.hidden,)),
                wq=load(p + "attn_q.weight", (c.hidden, c.hidden)),
                wk=load(p + "attn_k.weight", (kvd, c.hidden)),
                wv=load(p + "attn_v.weight", (kvd, c.hidden)),
                wo=load(p + "attn_output.weight", (c.hidden, c.hidden)),
                ffn_norm=load(p + "ffn_norm.weight", (c.hidden,)),
                wg=load(p + "ffn_gate.weight", (c.ffn, c.hidden)),
                wu=load(p + "ffn_up.weight", (c.ffn, c.hidden)),
                wd=load(p + "ffn_down.weight", (c.hidden, c.ffn)),
            ))

    # --- pieces -----------------------------------------------------------------------------
    def rmsnorm(self, x, w):
        ms = np.mean(x * x, axis=-1, keepdims=True, dtype=self.dtype)
        return (x / np.sqrt(ms + self.dtype(self.config.eps))) * w

    def rope_tables(self, positions):
        """cos/sin [n, rope_dim/2], angles computed in float64 then rounded to the working dtype."""
        c = self.config
        i = np.arange(c.rope_dim // 2, dtype=np.float64)
        theta = c.rope_base ** (-2.0 * i / c.rope_dim)
        ang = np.asarray(positions, dtype=np.float64)[:, None] * theta[None, :]
        return np.cos(ang).astype(self.dtype), np.sin(ang).astype(self.dtype)

    def rope(self, x, cos, sin):
        """x [n, H, head_dim]; rotates adjacent pairs (2i, 2i+1) of the first rope_dim dims."""
        r = self.config.rope_dim
        x = x.copy()
        x0 = x[:, :, 0:r:2].copy()
        x1 = x[:, :, 1:r:2].copy()
        cs, sn = cos[:, None, :], sin[:, None, :]
        x[:, :, 0:r:2] = x0 * cs - x1 * sn
        x[:, :, 1:r:2] = x0 * sn + x1 * cs
        return x

    def attention(self, q, k, v, q_pos, k_pos):
        """q [nq, H, d], k/v [nk, KV, d] -> [nq, H*d]; exact softmax, key j visible iff k_pos[j] <= q_pos[i]."""
        c = self.config
        nq = q.shape[0]
        group = c.heads // c.kv_heads
        scale = self.dtype(1.0 / np.sqrt(c.head_dim))
        mask = np.asarray(k_pos)[None, :] > np.asarray(q_pos)[:, None]  # [nq, nk] True = hidden
        out = np.empty((nq, c.heads, c.head_dim), dtype=self.dtype)
        for h in range(c.heads):
            kv = h // group
            s = (q[:, h, :] @ k[:, kv, :].T) * scale  # [nq, nk]
            s[mask] = -np.inf
            s -= s.max(axis=1, keepdims=True)
            p = np.exp(s)
            p /= p.sum(axis=1, keepdims=True)
            out[:, h, :] = p @ v[:, kv, :]
        return out.reshape(nq, c.heads * c.head_dim)

    # --- forward ----------------------------------------------------------------------------
    def forward(self, ids, logit_rows=None, cache=None):
        """Runs `ids` in one batch at positions len(cache)..len(cache)+n-1 (0..n-1 without a cache).

        `cache`: optional KVCache; the new K/V are appended to it. Returns logits
        [len(logit_rows), vocab] for the requested rows of this batch (default: last row only)."""
        c = self.config
        ids = np.asarray(ids, dtype=np.int64)
        n = len(ids)
        start = 0 if cache is None else cache.length
        if logit_rows is None:
            logit_rows = [n - 1]
        pos = np.arange(start, start + n)
        cos, sin = self.rope_tables(pos)
        h = self.embd[ids].copy()  # [n, hidden]
        for li, b in enumerate(self.blocks):
            x = self.rmsnorm(h, b["attn_norm"])
            q = (x @ b["wq"].T).reshape(n, c.heads, c.head_dim)
            k = (x @ b["wk"].T).reshape(n, c.kv_heads, c.head_dim)
            v = (x @ b["wv"].T).reshape(n, c.kv_heads, c.head_dim)
            q = self.rope(q, cos, sin)
            k = self.rope(k, cos, sin)
            if cache is not None:
                k, v = cache.append(li, k, v)
            a = self.attention(q, k, v, pos, np.arange(k.shape[0]))
            h = h + a @ b["wo"].T
            x = self.rmsnorm(h, b["ffn_norm"])
            g = x @ b["wg"].T
            u = x @ b["wu"].T
            act = (g / (self.dtype(1) + np.exp(-g))) * u
            h = h + act @ b["wd"].T
        if cache is not None:
            cache.length += n
        hn = self.rmsnorm(h[logit_rows], self.out_norm)
        return hn @ self.embd.T

    def greedy(self, ids, steps, use_cache=True):
        """Greedy decoding: returns (generated ids, top1-top2 margin per step).

        With `use_cache` the prompt is prefilled once and each new token is run alone against the KV
        cache; without it the full prefix is re-run every step (slower, same math)."""
        ids = list(ids)
        out, margins = [], []
        cache = KVCache(self.config.layers) if use_cache else None
        row = self.forward(ids, cache=cache)[0]
        for step in range(steps):
            srt = np.sort(row)[::-1]
            nxt = int(np.argmax(row))
            out.append(nxt)
            margins.append(float(srt[0] - srt[1]))
            ids.append(nxt)
            if step + 1 < steps:
                row = self.forward([nxt], cache=cache)[0] if use_cache else self.forward(ids)[0]
        return out, margins


class KVCache:
    """Per-layer post-RoPE keys and values [len, kv_heads, head_dim], positions 0..length-1."""

    def __init__(self, layers):
        self.k = [None] * layers
        self.v = [None] * layers
        self.length = 0

    def append(self, layer, k, v):
        if self.k[layer] is None:
            self.k[layer], self.v[layer] = k, v
        else:
            self.k[layer] = np.concatenate([self.k[layer], k])
            self.v[layer] = np.concatenate([self.v[layer], v])
        return self.k[layer], self.v[layer]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL
    t0 = time.time()
    m = SmolLM2(path)
    print(m.config, f"(loaded in {time.time() - t0:.1f}s)")
    ids = [504, 3575, 282, 4649, 314]  # "The capital of France is"
    logits = m.forward(ids)[0]
    top = np.argsort(-logits)[:5]
    print("top-5:", [(int(i), float(logits[i])) for i in top])
    assert top[0] == 7042 and abs(logits[7042] - 17.37) < 0.05, "expected ' Paris' (7042) ≈ 17.37"
    assert top[1] == 260 and abs(logits[260] - 14.89) < 0.05, "expected ' the' (260) ≈ 14.89 second"
    print("sanity OK")


if __name__ == "__main__":
    main()
