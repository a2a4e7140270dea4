"""Numeric caveats and timing for the reference (results are recorded in tools/reference/README.md).

Measures, on the long-1200 prompt of reference-logits.json (last-position logits, all 49,152):
  1. f32 reference vs the committed fixture (reproducibility) and vs float64 (same dequantized weights);
  2. a *differently ordered* f32 implementation: flash-style attention (64-key tiles, online softmax)
     and every projection split into two K-halves summed afterwards -> |Δ| between two correct f32 codes;
  3. RoPE angles computed in float32 (pos·θ rounded to f32, f32 cos/sin) instead of float64;
  4. wall time of the f32 1,200-token prefill (best of `--repeat`).

Run: python3 tools/reference/measure_numerics.py [--repeat 2]
     python3 tools/reference/measure_numerics.py --bugs   # only: effect of deliberate bugs
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from smollm2_reference import DEFAULT_MODEL, SmolLM2  # noqa: E402

FIX = os.path.join(HERE, "..", "..", "Tests", "LlamaTests", "Fixtures")


class Reordered(SmolLM2):
    """Same model, different f32 summation order (as another correct implementation would have)."""

    def attention(self, q, k, v, q_pos, k_pos):
        c = self.config
        nq, nk = q.shape[0], k.shape[0]
        group = c.heads // c.kv_heads
        scale = np.float32(1.0 / np.sqrt(c.head_dim))
        out = np.zeros((nq, c.heads, c.head_dim), dtype=np.float32)
        tile = 64
        for h in range(c.heads):
            kv = h // group
            m = np.full((nq, 1), -np.inf, dtype=np.float32)
            lsum = np.zeros((nq, 1), dtype=np.float32)
            acc = np.zeros((nq, c.head_dim), dtype=np.float32)
            for j0 in range(0, nk, tile):
                kk = k[j0:j0 + tile, kv, :]
                s = (q[:, h, :] @ kk.T) * scale
                s[np.asarray(k_pos[j0:j0 + tile])[None, :] > np.asarray(q_pos)[:, None]] = -np.inf
                mn = np.maximum(m, s.max(axis=1, keepdims=True))
                safe = np.where(np.isinf(mn), np.float32(0), mn)
                alpha = np.exp(np.where(np.isinf(m), -np.inf, m - safe)).astype(np.float32)
                p = np.exp(s - safe)
                lsum = lsum * alpha + p.sum(axis=1, keepdims=True)
                acc = acc * alpha + p @ v[j0:j0 + tile, kv, :]
                m = mn
            out[:, h, :] = acc / lsum
        return out.reshape(nq, c.heads * c.head_dim)


def split_matmul_patch(model):
    """Wraps every weight matrix so x @ W.T is computed as two K-halves summed (different order)."""

    class Half:
        __array_ufunc__ = None  # make ndarray @ Half defer to Half.__rmatmul__

        def __init__(self, w):
            self.w = w
            self.T = self

        def __rmatmul__(self, x):
            kk = self.w.shape[1] // 2
            return x[..., :kk] @ self.w[:, :kk].T + x[..., kk:] @ self.w[:, kk:].T

    for b in model.blocks:
        for key in ("wq", "wk", "wv", "wo", "wg", "wu", "wd"):
            b[key] = Half(b[key])


class RopeF32(SmolLM2):
    def rope_tables(self, positions):
        c = self.config
        i = np.arange(c.rope_dim // 2, dtype=np.float32)
        theta = np.power(np.float32(c.rope_base), np.float32(-2.0) * i / np.float32(c.rope_dim)).astype(np.float32)
        ang = np.asarray(positions, dtype=np.float32)[:, None] * theta[None, :]
        return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


class NeoxRope(SmolLM2):
    """BUG on purpose: rotate halves (i, i+32) instead of adjacent pairs."""

    def rope(self, x, cos, sin):
        r = self.config.rope_dim
        x = x.copy()
        x0, x1 = x[:, :, : r // 2].copy(), x[:, :, r // 2: r].copy()
        cs, sn = cos[:, None, :], sin[:, None, :]
        x[:, :, : r // 2] = x0 * cs - x1 * sn
        x[:, :, r // 2: r] = x0 * sn + x1 * cs
        return x


class WrongGQA(SmolLM2):
    """BUG on purpose: query head h uses KV head h % kv_heads instead of h // (heads / kv_heads)."""

    def attention(self, q, k, v, q_pos, k_pos):
        c = self.config
        perm = [(h % c.kv_heads) * (c.heads // c.kv_heads) + h // c.kv_heads for h in range(c.heads)]
        # reorder query heads so the base class's h // group mapping yields h % kv_heads, then undo
        inv = np.argsort(perm)
        out = super().attention(q[:, inv, :], k, v, q_pos, k_pos).reshape(q.shape)
        return out[:, perm, :].reshape(q.shape[0], -1)


def bug_sensitivity():
    """How far typical bugs move the chatml-france last-row logits (shows 1e-2 is tight enough)."""
    doc = json.load(open(os.path.join(FIX, "reference-logits.json")))
    p = next(x for x in doc["prompts"] if x["name"] == "chatml-france")
    ref = np.fromfile(os.path.join(FIX, p["logits_file"]), dtype="<f4")
    res = {}
    for name, make in [("neox_rope", lambda: NeoxRope(DEFAULT_MODEL)),
                       ("gqa_h_mod_kv", lambda: WrongGQA(DEFAULT_MODEL)),
                       ("eps_1e-6", lambda: _with_eps(SmolLM2(DEFAULT_MODEL), 1e-6)),
                       ("eps_1e-4", lambda: _with_eps(SmolLM2(DEFAULT_MODEL), 1e-4))]:
        m = make()
        l = m.forward(p["ids"])[0]
        res[name] = {"max_abs": float(np.abs(l - ref).max()), "argmax": int(np.argmax(l))}
        print(name, res[name], flush=True)
        del m
    return res


def _with_eps(m, eps):
    m.config.eps = eps
    return m


def main():
    if "--bugs" in sys.argv:
        bug_sensitivity()
        return
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 2
    doc = json.load(open(os.path.join(FIX, "reference-logits.json")))
    p = next(x for x in doc["prompts"] if x["name"] == "long-1200")
    ids = p["ids"]
    fixture = np.fromfile(os.path.join(FIX, p["logits_file"]), dtype="<f4")
    res = {}

    ref = SmolLM2(DEFAULT_MODEL)
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        l32 = ref.forward(ids)[0]
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    res["prefill_f32_seconds"] = [round(t, 2) for t in times]
    res["prefill_f32_process_cpu_seconds"] = [round(t, 2) for t in cpu]
    res["loadavg_1min_after"] = os.getloadavg()[0]
    res["f32_vs_fixture_max_abs"] = float(np.abs(l32 - fixture).max())
    print("prefill", res["prefill_f32_seconds"], "cpu", res["prefill_f32_process_cpu_seconds"], "load", res["loadavg_1min_after"])
    print("f32 vs fixture", res["f32_vs_fixture_max_abs"])

    re = Reordered(DEFAULT_MODEL)
    split_matmul_patch(re)
    lre = re.forward(ids)[0]
    res["reordered_f32_vs_f32_max_abs"] = float(np.abs(lre - l32).max())
    res["reordered_top10_same"] = list(np.argsort(-lre)[:10]) == list(np.argsort(-l32)[:10])
    print("reordered vs f32", res["reordered_f32_vs_f32_max_abs"], res["reordered_top10_same"])
    del re

    rf = RopeF32(DEFAULT_MODEL)
    lrf = rf.forward(ids)[0]
    res["rope_f32_angles_vs_f32_max_abs"] = float(np.abs(lrf - l32).max())
    print("rope f32 angles vs f32", res["rope_f32_angles_vs_f32_max_abs"])
    del rf

    m64 = SmolLM2(DEFAULT_MODEL, np.float64)
    l64 = m64.forward(ids)[0]
    res["f32_vs_f64_max_abs"] = float(np.abs(l32 - l64).max())
    res["reordered_f32_vs_f64_max_abs"] = float(np.abs(lre - l64).max())
    res["rope_f32_angles_vs_f64_max_abs"] = float(np.abs(lrf - l64).max())
    print(json.dumps({k: (v if not isinstance(v, list) else [float(x) for x in v]) for k, v in res.items()}, indent=1))


if __name__ == "__main__":
    main()
