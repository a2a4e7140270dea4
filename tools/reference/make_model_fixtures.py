"""Writes the model reference fixtures for the Swift Llama tests.

Outputs into Tests/LlamaTests/Fixtures/:
  reference-logits.json     every prompt: name, text, ids, logits file, top-10 at 4 other positions,
                            float64-vs-float32 differences, greedy continuation of the ChatML prompt
  <name>.logits.f32         last-position logits, little-endian float32, vocab (49,152) values

Run: python3 tools/reference/make_model_fixtures.py [model.gguf]
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gguf_tokenizer import decode, encode, load_gguf_tokenizer  # noqa: E402
from smollm2_reference import DEFAULT_MODEL, SmolLM2  # noqa: E402

import jinja2  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "Tests", "LlamaTests", "Fixtures")
QUESTION = "What is the capital of France?"
GREEDY_STEPS = 12
PASSKEY_STEPS = 7


PASSKEY = "68417"


def long_text(tok, target_tokens=1200) -> str:
    """Deterministic ~target-token passkey prompt: varied filler sentences about lighthouses, the
    pass key stated once in the middle, and a completion-style question at the end."""
    places = ["Brittany", "Maine", "Hokkaido", "Tasmania", "Norway", "Chile", "Cornwall", "Nova Scotia",
              "Galicia", "Iceland", "Sicily", "Newfoundland"]
    years = [1791, 1823, 1856, 1872, 1890, 1904, 1911, 1926, 1937, 1949, 1958, 1963]
    colours = ["white", "red and white", "black and yellow", "grey granite", "blue", "striped"]
    deeds = ["guided fishing boats through winter storms",
             "was rebuilt after a fire destroyed its lantern room",
             "was automated and its last keeper retired to a nearby village",
             "became a museum that welcomes school classes every spring",
             "used a clockwork mechanism that had to be wound every four hours",
             "was painted by several artists who admired its lonely position"]
    head = ("There is an important piece of information hidden inside a lot of irrelevant text. "
            "Find it and memorize it. I will quiz you about it.\n\n")
    tail = "\n\nWhat is the pass key? The pass key is"
    sentences = []
    i = 0
    key_inserted = False
    while True:
        s = (f"The lighthouse of {places[i % 12]}, a {colours[(i * 5) % 6]} tower first lit in "
             f"{years[(i * 7) % 12]}, {deeds[(i * 11) % 6]}.")
        if i % 4 == 3:
            s += f" Its beam could be seen from {12 + (i * 13) % 29} nautical miles away."
        sentences.append(s)
        i += 1
        n = len(encode(tok, head + " ".join(sentences) + tail))
        if not key_inserted and n >= target_tokens // 2:
            sentences.append(f"The pass key is {PASSKEY}. Remember it. {PASSKEY} is the pass key.")
            key_inserted = True
        if n >= target_tokens - 12:
            break
    return head + " ".join(sentences) + tail


def top10(row):
    idx = np.argsort(-row, kind="stable")[:10]
    return [[int(i), round(float(row[i]), 5)] for i in idx]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL
    tok, meta = load_gguf_tokenizer(path)
    chat = jinja2.Environment(keep_trailing_newline=True).from_string(meta["chat_template"]).render(
        messages=[{"role": "user", "content": QUESTION}], add_generation_prompt=True)
    prompts = [
        ("france", "The capital of France is"),
        ("chatml-france", chat),
        ("long-1200", long_text(tok)),
    ]

    t0 = time.time()
    m32 = SmolLM2(path, np.float32)
    load32 = time.time() - t0
    t0 = time.time()
    m64 = SmolLM2(path, np.float64)
    load64 = time.time() - t0
    print(f"loaded f32 in {load32:.1f}s, f64 in {load64:.1f}s")

    os.makedirs(OUT, exist_ok=True)
    entries = []
    timings = {}
    worst = 0.0
    for name, text in prompts:
        ids = encode(tok, text)
        assert decode(tok, ids) == text
        n = len(ids)
        rows = [0, n // 4, n // 2, (3 * n) // 4, n - 1]
        t0 = time.time()
        l32 = m32.forward(ids, rows)
        dt32 = time.time() - t0
        t0 = time.time()
        l64 = m64.forward(ids, rows)
        dt64 = time.time() - t0
        timings[name] = {"tokens": n, "f32_seconds": round(dt32, 2), "f64_seconds": round(dt64, 2)}
        diff = np.abs(l32.astype(np.float64) - l64)
        per_row = [float(d.max()) for d in diff]
        worst = max(worst, max(per_row))
        last = l32[-1].astype("<f4")
        fname = f"{name}.logits.f32"
        last.tofile(os.path.join(OUT, fname))
        # The f64 argmax must agree with f32 at every reported row (otherwise the fixture is fragile).
        for r32, r64 in zip(l32, l64):
            assert int(np.argmax(r32)) == int(np.argmax(r64))
        srt = np.sort(l32[-1])[::-1]
        entries.append({
            "name": name,
            "text": text,
            "ids": ids,
            "token_count": n,
            "logits_file": fname,
            "logits_count": int(last.size),
            "last_position": n - 1,
            "last_top10": top10(l32[-1]),
            "last_top1_margin": round(float(srt[0] - srt[1]), 5),
            "positions": [{"position": int(p), "top10": top10(l32[j])} for j, p in enumerate(rows[:-1])],
            "f64_max_abs_logit_diff_per_position": {str(p): float(f"{d:.3e}") for p, d in zip(rows, per_row)},
        })
        print(f"{name}: {n} tokens, f32 {dt32:.2f}s, f64 {dt64:.2f}s, top {entries[-1]['last_top10'][:2]}, "
              f"max|f32-f64| per row {['%.2e' % d for d in per_row]}")

    # Greedy continuation of the ChatML prompt: KV-cached f32, checked against a full re-run per step
    # (f32) and against KV-cached f64. Plus the pass-key continuation of the long prompt.
    chat_ids = entries[1]["ids"]
    t0 = time.time()
    gen, margins = m32.greedy(chat_ids, GREEDY_STEPS, use_cache=True)
    gdt = time.time() - t0
    gen_rerun, _ = m32.greedy(chat_ids, GREEDY_STEPS, use_cache=False)
    gen64, _ = m64.greedy(chat_ids, GREEDY_STEPS, use_cache=True)
    assert gen_rerun == gen and gen64 == gen, (gen, gen_rerun, gen64)
    greedy = [{"prompt": "chatml-france", "steps": GREEDY_STEPS, "ids": gen, "text": decode(tok, gen),
               "top1_margins": [round(x, 4) for x in margins],
               "checked": "KV-cached f32 == full re-run f32 == KV-cached f64"}]
    print("greedy chatml:", gen, repr(greedy[0]["text"]), f"({gdt:.1f}s)")
    long_ids = entries[2]["ids"]
    t0 = time.time()
    pk, pk_margins = m32.greedy(long_ids, PASSKEY_STEPS, use_cache=True)
    pdt = time.time() - t0
    pk64, _ = m64.greedy(long_ids, PASSKEY_STEPS, use_cache=True)
    assert pk64 == pk, (pk, pk64)
    pk_text = decode(tok, pk)
    assert PASSKEY in pk_text, f"pass key not retrieved: {pk_text!r}"
    greedy.append({"prompt": "long-1200", "steps": PASSKEY_STEPS, "ids": pk, "text": pk_text,
                   "top1_margins": [round(x, 4) for x in pk_margins], "passkey": PASSKEY,
                   "checked": "KV-cached f32 == KV-cached f64; contains the pass key"})
    print("greedy long:", pk, repr(pk_text), f"({pdt:.1f}s)")
    timings["long-1200-greedy-7-kv-cached-f32"] = {"f32_seconds": round(pdt, 2)}

    from importlib.metadata import version
    doc = {
        "model": os.path.basename(path),
        "model_bytes": os.path.getsize(path),
        "generator": "tools/reference/make_model_fixtures.py (NumPy float32 forward, see tools/reference/README.md)",
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "gguf": version("gguf"),
                     "tokenizers": version("tokenizers"), "jinja2": version("jinja2")},
        "logits_format": "little-endian float32, one value per vocabulary id, last prompt position",
        "f64_max_abs_logit_diff_all": float(f"{worst:.3e}"),
        "prompts": entries,
        "greedy": greedy,
        "timings_seconds": timings,
        "timings_note": "wall seconds on a 2-vCPU machine shared with other jobs; see tools/reference/README.md",
    }
    with open(os.path.join(OUT, "reference-logits.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"worst |f32 - f64| over all reported rows: {worst:.3e}")


if __name__ == "__main__":
    main()
