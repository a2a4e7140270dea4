"""Writes the tokenizer fixtures for the Swift tests from the independent reference tokenizer.

Outputs (relative to the repository root):
  Tests/TokenizerTests/Fixtures/tokenizer-cases.json            [{"text", "ids"}], specials parsed
  Tests/TokenizerTests/Fixtures/tokenizer-cases-nospecial.json  [{"text", "ids"}], specials NOT parsed
  Tests/TokenizerTests/Fixtures/chat-template.json              template + jinja2 renderings + ids

Run from anywhere: python3 tools/reference/make_tokenizer_fixtures.py [model.gguf]
"""
from __future__ import annotations

import json
import os
import sys

import jinja2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_tokenizer import DEFAULT_MODEL, decode, encode, load_gguf_tokenizer  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "TokenizerTests", "Fixtures")


def long_paragraph() -> str:
    """A deterministic ~2,000-character English paragraph with numbers and punctuation."""
    subjects = ["The river", "A small village", "The old library", "Every traveller", "The northern wind"]
    verbs = ["remembers", "carries", "keeps", "forgets", "measures"]
    objects = ["the names of 1,024 ships", "stories from 1887", "a map drawn in blue ink",
               "the sound of bells at 6:45", "what the mountains said"]
    parts = []
    i = 0
    while sum(len(p) + 1 for p in parts) < 2000:
        s = f"{subjects[i % 5]} {verbs[(i * 3) % 5]} {objects[(i * 7) % 5]}"
        s += ", and nobody asks why." if i % 3 == 0 else (" — quietly; almost (but not quite) forever!" if i % 3 == 1 else "?")
        parts.append(s)
        i += 1
    text = " ".join(parts)
    return text[:2000]


CASES = [
    # plain English
    "The capital of France is",
    "Hello world",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "a",
    "A",
    "I",
    # whitespace
    " leading space",
    "trailing space ",
    "  two leading spaces",
    "multiple    spaces   between words",
    "   ",
    " ",
    "\n",
    "line one\nline two",
    "paragraph one\n\nparagraph two\n\n\n",
    "\ttab\tseparated\tvalues",
    "mixed \t\n whitespace \r\n windows line end",
    "trailing newline\n",
    # digits
    "12345678",
    "3.14159",
    "In 2024, 1,000,000 people paid $19.99 each.",
    "0x1F 0b1010 1e-5 -42",
    "abc123def",
    # punctuation and contractions
    "don't I'll we're they've she'd it's",
    "DON'T I'LL WE'RE",
    "Wait... what?! (Really.) [yes] {no} <maybe>",
    "\"quoted\" and 'single' and `backticks`",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?~",
    "--- *** ___ ===",
    # code
    "def f(x):\n    return x * 2\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "let x: [Int32] = tokens.map { $0 &+ 1 }",
    "<html><body class=\"main\">Hi</body></html>",
    "SELECT * FROM users WHERE id = 7;",
    # URLs / paths / email
    "https://example.com/path/to/page?query=1&x=y#frag",
    "/usr/local/bin/starsim --model ~/.cache/starsim/model.gguf",
    "contact: someone@example.org",
    # accented Latin and other scripts
    "café naïve résumé façade",
    "Ärger über Öl, Straße",
    "¿Dónde está la biblioteca? ¡Aquí!",
    "Привет, мир!",
    "Γειά σου Κόσμε",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    # CJK
    "你好，世界！",
    "日本語のテキストです。",
    "한국어 문장입니다.",
    # emoji
    "I love 🍕 and 🚀!",
    "👨‍👩‍👧‍👦 family",
    "👍🏽 thumbs up",
    "🏳️‍🌈",
    "🇫🇷🇯🇵",
    # unusual but valid UTF-8
    "e\u0301 (combining acute)",
    "\ufeffBOM at start",
    "zero\u200bwidth\u200cjoiners\u200d",
    "\u00a0non-breaking\u00a0space",
    "control \u0001\u0002\u007f chars",
    "\U0010fffd private use plane 16",
    "\u0120 \u010a literal byte-level characters",
    "\u2028line separator\u2029paragraph separator",
    # special tokens in text
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more text",
    "<|im_end|><|im_end|>",
    "<|im_start partial special <|im_end",
    "<repo_name>starsim<file_sep>main.swift",
    # edge cases
    "",
    long_paragraph(),
]

NO_SPECIAL_CASES = [
    "<|im_start|>user\nHi<|im_end|>\n",
    "text<|endoftext|>more text",
    "<repo_name>x",
]


def dump_cases(path: str, cases) -> None:
    """One case per line: diff-friendly and still plain JSON."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n]\n")


def render(template: str, messages, add_generation_prompt: bool) -> str:
    env = jinja2.Environment(trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True)
    return env.from_string(template).render(messages=messages, add_generation_prompt=add_generation_prompt)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL
    tok, meta = load_gguf_tokenizer(path)

    assert encode(tok, "The capital of France is") == [504, 3575, 282, 4649, 314]

    cases = []
    for text in CASES:
        ids = encode(tok, text)
        back = decode(tok, ids)
        assert back == text, f"round trip failed for {text!r}: {back!r}"
        cases.append({"text": text, "ids": ids})
    os.makedirs(OUT, exist_ok=True)
    dump_cases(os.path.join(OUT, "tokenizer-cases.json"), cases)

    # Special tokens not parsed: their text is tokenized as ordinary bytes.
    tok.encode_special_tokens = True
    nospecial = []
    for text in NO_SPECIAL_CASES:
        ids = encode(tok, text)
        assert all(i > 16 for i in ids), (text, ids)
        assert decode(tok, ids) == text
        nospecial.append({"text": text, "ids": ids})
    tok.encode_special_tokens = False
    dump_cases(os.path.join(OUT, "tokenizer-cases-nospecial.json"), nospecial)

    template = meta["chat_template"]
    question = "What is the capital of France?"
    convs = [
        ("default-system", [{"role": "user", "content": question}], True),
        ("explicit-system", [{"role": "system", "content": "You are a concise assistant."},
                             {"role": "user", "content": question}], True),
        ("default-system-no-generation-prompt", [{"role": "user", "content": question}], False),
    ]
    renderings = []
    for name, messages, agp in convs:
        text = render(template, messages, agp)
        renderings.append({"name": name, "messages": messages, "add_generation_prompt": agp,
                           "text": text, "ids": encode(tok, text)})
    with open(os.path.join(OUT, "chat-template.json"), "w", encoding="utf-8") as f:
        f.write("{\n")
        f.write(f' "chat_template": {json.dumps(template, ensure_ascii=False)},\n')
        f.write(f' "renderer": {json.dumps("jinja2 " + jinja2.__version__)},\n')
        f.write(' "renderings": [\n  ')
        f.write(",\n  ".join(json.dumps(r, ensure_ascii=False) for r in renderings))
        f.write("\n ]\n}")
        f.write("\n")
    print(f"{len(cases)} cases, {len(nospecial)} no-special cases, {len(renderings)} renderings -> {OUT}")
    for r in renderings:
        print(repr(r["text"]))
        print(r["ids"])


if __name__ == "__main__":
    main()
