#!/usr/bin/env python3
"""Times llama.cpp (through llama-cpp-python) on a GGUF file, the way llama.cpp's llama-bench does.

  python llama_bench.py --model PATH.gguf --variant {q4_1,f16,f32} --threads N
                        --prefill 512,1024,... --decode 128 --work-dir DIR [--seed S]

Prints one JSON object per line on stdout: first {"kind":"info",...}, then one "prefill" line per
length and one "decode" line. Exit 2 for bad arguments or a missing model, 1 for a failed run.
Run it with the python of scripts/install-peer.sh.
"""
import argparse
import ctypes
import json
import os
import random
import re
import sys
import time
from pathlib import Path

N_BATCH, N_UBATCH = 2048, 512  # llama-bench's defaults (-b 2048 -ub 512)
REPS = 2                        # best of REPS timed runs
WARMUP_TOKENS = 32              # short warm-up batch before the timed runs
DECODE_CONTEXT = 16             # prompt length before the timed single-token steps
GGML_LOG_LEVEL_ERROR = 4        # enum ggml_log_level (ggml.h)


class RunError(Exception):
    pass


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise ValueError
    return value


def parse_args(argv):
    p = Parser(description="Time llama.cpp prefill and decode on a GGUF file.")
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--variant", required=True, choices=["q4_1", "f16", "f32"])
    p.add_argument("--threads", required=True, type=int)
    p.add_argument("--prefill", required=True, help="comma-separated prompt lengths")
    p.add_argument("--decode", required=True, type=int, help="number of single-token steps")
    p.add_argument("--work-dir", required=True, type=Path, help="where F16/F32 copies are kept")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--reps", type=positive_int, default=REPS, help="timed runs per measurement (best is kept)")
    args = p.parse_args(argv)
    try:
        args.prefill = [positive_int(x) for x in args.prefill.split(",")]
    except ValueError:
        raise UsageError(f"--prefill must be positive integers separated by commas, got {args.prefill!r}")
    if args.threads <= 0:
        raise UsageError("--threads must be positive")
    if args.decode <= 0:
        raise UsageError("--decode must be positive")
    if not args.model.is_file():
        raise UsageError(f"model not found: {args.model}")
    args.model = args.model.resolve()
    try:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create --work-dir {args.work_dir}: {e.strerror}")
    args.work_dir = args.work_dir.resolve()
    return args


def main(argv):
    try:
        args = parse_args(argv)
    except UsageError as e:
        print(f"llama_bench: error: {e}", file=sys.stderr)
        return 2
    try:
        import llama_cpp
    except ImportError as e:
        print(f"llama_bench: error: cannot import llama_cpp ({e}); run scripts/install-peer.sh "
              "and use the python it prints", file=sys.stderr)
        return 1
    try:
        Bench(llama_cpp, args).run()
    except RunError as e:
        print(f"llama_bench: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def emit(record):
    print(json.dumps(record), flush=True)


class Bench:
    def __init__(self, lib, args):
        self.lib, self.args = lib, args
        self.rng = random.Random(args.seed)
        self.errors = []  # llama.cpp's error-level log lines, shown when a step fails

        @lib.llama_log_callback
        def on_log(level, text, _user):  # keep llama.cpp quiet (like llama-bench without -v)
            if level == GGML_LOG_LEVEL_ERROR:
                self.errors.append(text.decode("utf-8", "replace").strip())
        self._on_log = on_log  # keep the callback alive
        lib.llama_log_set(on_log, None)
        lib.llama_backend_init()

    def fail(self, what):
        detail = "".join(f"; {e}" for e in self.errors[-3:])
        raise RunError(f"{what}{detail}")

    def run(self):
        lib, args = self.lib, self.args
        path = self.model_file()
        model = lib.llama_model_load_from_file(str(path).encode(), lib.llama_model_default_params())
        if not model:
            self.fail(f"llama.cpp could not load {path}")
        emit({"kind": "info", "engine": "llama.cpp", "llama_cpp_python": lib.__version__,
              "system_info": lib.llama_print_system_info().decode().strip(),
              "model": str(path), "source_model": str(args.model), "variant": args.variant,
              "load_average": round(os.getloadavg()[0], 2)})  # the machine may be shared
        try:
            self.tokens = self.plain_tokens(model)
            for n in args.prefill:
                self.report("prefill", n, self.time_prefill(model, n))
            self.report("decode", args.decode, self.time_decode(model, args.decode),
                        context=DECODE_CONTEXT)
        finally:
            lib.llama_model_free(model)

    def report(self, kind, tokens, seconds, **extra):
        a = self.args
        emit({"engine": "llama.cpp", "variant": a.variant, "threads": a.threads, "kind": kind,
              "tokens": tokens, **extra, "seconds": round(seconds, 6),
              "tokens_per_second": round(tokens / seconds, 3)})

    # --- model files ---------------------------------------------------------------------

    def model_file(self):
        """The GGUF to time: the input for q4_1, else an F16/F32 copy made once by llama.cpp."""
        args, lib = self.args, self.lib
        if args.variant == "q4_1":
            return args.model
        tag, ftype = {"f16": ("F16", lib.LLAMA_FTYPE_MOSTLY_F16),
                      "f32": ("F32", lib.LLAMA_FTYPE_ALL_F32)}[args.variant]
        stem = re.sub(r"\.(I?Q\d\w*|B?F16|F32)$", "", args.model.stem, flags=re.I)
        out = args.work_dir / f"{stem}.{tag}.gguf"
        stamp = out.with_name(out.name + ".source")  # which input the copy was made from
        st = args.model.stat()
        source = {"source": str(args.model), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        try:
            if out.is_file() and json.loads(stamp.read_text()) == source:
                return out
        except (OSError, ValueError):
            pass
        print(f"llama_bench: writing {tag} copy {out}", file=sys.stderr, flush=True)
        params = lib.llama_model_quantize_default_params()
        params.ftype = ftype
        params.allow_requantize = True
        params.nthread = args.threads
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            if lib.llama_model_quantize(str(args.model).encode(), str(tmp).encode(),
                                        ctypes.byref(params)) != 0:
                self.fail(f"llama_model_quantize to {tag} failed")
            os.replace(tmp, out)
            stamp.write_text(json.dumps(source))
        finally:
            tmp.unlink(missing_ok=True)
        return out

    # --- timing ---------------------------------------------------------------------------

    def plain_tokens(self, model):
        """Ids of ordinary vocabulary tokens (no control/special tokens)."""
        lib = self.lib
        vocab = lib.llama_model_get_vocab(model)
        ids = [t for t in range(lib.llama_vocab_n_tokens(vocab))
               if lib.llama_vocab_get_attr(vocab, t) == lib.LLAMA_TOKEN_ATTR_NORMAL]
        if not ids:
            self.fail("the model's vocabulary has no normal tokens")
        return ids

    def context(self, model, n_ctx):
        lib, n = self.lib, self.args.threads
        p = lib.llama_context_default_params()  # KV cache F16, flash attention auto: as llama-bench
        p.n_ctx, p.n_batch, p.n_ubatch = n_ctx, N_BATCH, N_UBATCH
        p.n_threads = p.n_threads_batch = n
        ctx = lib.llama_init_from_model(model, p)
        if not ctx:
            self.fail(f"llama.cpp could not create a context of {n_ctx} tokens")
        return ctx

    def decode(self, ctx, ids):
        """Evaluates ids in batches of N_BATCH (like llama-bench's test_prompt), waits for the result."""
        lib = self.lib
        for i in range(0, len(ids), N_BATCH):
            chunk = ids[i:i + N_BATCH]
            arr = (lib.llama_token * len(chunk))(*chunk)
            rc = lib.llama_decode(ctx, lib.llama_batch_get_one(arr, len(chunk)))
            if rc != 0:
                self.fail(f"llama_decode of {len(chunk)} tokens returned {rc}")
        lib.llama_synchronize(ctx)

    def random_ids(self, n):
        return [self.rng.choice(self.tokens) for _ in range(n)]

    def clear(self, ctx):
        self.lib.llama_memory_clear(self.lib.llama_get_memory(ctx), False)

    def time_prefill(self, model, n):
        ctx = self.context(model, n + self.args.decode + 16)
        try:
            self.decode(ctx, self.random_ids(min(WARMUP_TOKENS, n)))
            best = float("inf")
            for _ in range(self.args.reps):
                self.clear(ctx)
                ids = self.random_ids(n)
                t0 = time.perf_counter()
                self.decode(ctx, ids)
                best = min(best, time.perf_counter() - t0)
            return best
        finally:
            self.lib.llama_free(ctx)

    def time_decode(self, model, steps):
        """llama-bench's tgN: single-token steps, a random token each, after a short prompt."""
        ctx = self.context(model, DECODE_CONTEXT + steps + 16)
        try:
            self.decode(ctx, self.random_ids(DECODE_CONTEXT))  # warm-up: prompt + one step
            self.decode(ctx, self.random_ids(1))
            best = float("inf")
            for _ in range(self.args.reps):
                self.clear(ctx)
                self.decode(ctx, self.random_ids(DECODE_CONTEXT))
                ids = self.random_ids(steps)
                t0 = time.perf_counter()
                for t in ids:
                    self.decode(ctx, [t])
                best = min(best, time.perf_counter() - t0)
            return best
        finally:
            self.lib.llama_free(ctx)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
