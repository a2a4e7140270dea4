#!/usr/bin/env python3
"""Measure one Llama-family decoder layer's kernels on your GPU and write a StarSim calibration file.

    pip install torch            # a CUDA build
    python3 tools/calibration/measure.py --model llama-3.1-70b --out my-h100-70b.json
    starsim calibrate check my-h100-70b.json --device h100-sxm
    starsim calibrate fit my-h100-70b.json --device h100-sxm --out my-profiles --name my-h100

Not run in CI (it needs a GPU). It times, with CUDA events (median of --repeats after --warmup), in
bf16: a large GEMM (gemm_peak), a device copy (copy_bw), one layer's GEMMs and elementwise work
(layer_linear), scaled_dot_product_attention with GQA (attn_causal: causal square; attn_full: every
query sees every key, including decode shapes such as 1 query over 128K keys), one whole layer with
causal attention (layer_prefill_causal) and a stack of layers (model_prefill_causal). The output
format is documented in Docs/Accuracy.md; shapes come from --model or from --hidden/--heads/....
"""
import argparse
import json
import statistics

SHAPES = {
    "llama-3.1-8b": dict(hidden=4096, heads=32, kv_heads=8, head_dim=128, ffn=14336, layers=32),
    "llama-3.1-70b": dict(hidden=8192, heads=64, kv_heads=8, head_dim=128, ffn=28672, layers=80),
    "llama-3.1-405b": dict(hidden=16384, heads=128, kv_heads=8, head_dim=128, ffn=53248, layers=126),
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="llama-3.1-8b", help="one of " + ", ".join(SHAPES) + " (or give every shape option)")
    for f in ["hidden", "heads", "kv_heads", "head_dim", "ffn", "layers"]:
        p.add_argument("--" + f.replace("_", "-"), type=int, help=f"override the model's {f}")
    p.add_argument("--tokens", default="1,64,256,2048,8192,32768", help="token counts for layer_linear / layer_prefill_causal")
    p.add_argument("--attention", default="4096x4096c,65536x65536c,4096x4096,32768x32768,1x32768,64x32768,1x131072,64x131072,256x131072",
                   help="QxK shapes; a trailing c means causal")
    p.add_argument("--model-layers", type=int, default=4, help="layers of the model_prefill_causal point (0 skips it)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--out", required=True, help="the JSON file to write")
    a = p.parse_args()

    import torch
    import torch.nn.functional as F

    shape = dict(SHAPES.get(a.model, SHAPES["llama-3.1-8b"]))
    for f in shape:
        v = getattr(a, f)
        if v is not None:
            shape[f] = v
    dev, dt = "cuda", torch.bfloat16
    H, nh, nkv, hd, ffn = shape["hidden"], shape["heads"], shape["kv_heads"], shape["head_dim"], shape["ffn"]

    def timed(fn):
        for _ in range(a.warmup):
            fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(a.repeats):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            torch.cuda.synchronize()
            times.append(s.elapsed_time(e) / 1e3)
        return statistics.median(times)

    class Layer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = torch.nn.Linear(H, (nh + 2 * nkv) * hd, bias=False)
            self.o = torch.nn.Linear(nh * hd, H, bias=False)
            self.gate_up = torch.nn.Linear(H, 2 * ffn, bias=False)
            self.down = torch.nn.Linear(ffn, H, bias=False)
            self.n1 = torch.nn.RMSNorm(H)
            self.n2 = torch.nn.RMSNorm(H)

        def forward(self, x, attention=True):
            t = x.shape[0]
            q, k, v = self.qkv(self.n1(x)).split([nh * hd, nkv * hd, nkv * hd], dim=-1)
            if attention:
                q = q.view(1, t, nh, hd).transpose(1, 2)
                k = k.view(1, t, nkv, hd).transpose(1, 2)
                v = v.view(1, t, nkv, hd).transpose(1, 2)
                a_ = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
                a_ = a_.transpose(1, 2).reshape(t, nh * hd)
            else:
                a_ = q  # the attention kernel is left out; the O projection still runs
            x = x + self.o(a_)
            g, u = self.gate_up(self.n2(x)).chunk(2, dim=-1)
            return x + self.down(F.silu(g) * u)

    items = []
    with torch.inference_mode():
        m = 8192
        A, B = torch.randn(m, m, device=dev, dtype=dt), torch.randn(m, m, device=dev, dtype=dt)
        s = timed(lambda: A @ B)
        items.append(dict(kind="gemm_peak", m=m, n=m, k=m, seconds=s, tflops=2 * m**3 / s / 1e12))
        n = 1 << 31
        src, dst = torch.empty(n, dtype=torch.uint8, device=dev), torch.empty(n, dtype=torch.uint8, device=dev)
        s = timed(lambda: dst.copy_(src))
        items.append(dict(kind="copy_bw", bytes=2 * n, seconds=s, tbps=2 * n / s / 1e12))
        del A, B, src, dst
        layer = Layer().to(dev, dt)
        for t in [int(x) for x in a.tokens.split(",")]:
            x = torch.randn(t, H, device=dev, dtype=dt)
            items.append(dict(kind="layer_linear", tokens=t, seconds=timed(lambda: layer(x, attention=False))))
            if t > 1:
                items.append(dict(kind="layer_prefill_causal", tokens=t, seconds=timed(lambda: layer(x))))
        for spec in a.attention.split(","):
            causal = spec.endswith("c")
            q_t, k_t = (int(v) for v in spec.rstrip("c").split("x"))
            if causal and q_t != k_t:
                # StarSim reads attn_causal with q < kv as the *last* q positions (flash_attn's
                # bottom-right mask, a chunk over a KV cache); SDPA's is_causal aligns top-left.
                raise SystemExit(f"--attention {spec}: causal specs must be squares (NxNc)")
            q = torch.randn(1, nh, q_t, hd, device=dev, dtype=dt)
            k = torch.randn(1, nkv, k_t, hd, device=dev, dtype=dt)
            v = torch.randn(1, nkv, k_t, hd, device=dev, dtype=dt)
            s = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True))
            pairs = q_t * (q_t + 1) / 2 if causal else q_t * k_t
            items.append(dict(kind="attn_causal" if causal else "attn_full", q_tokens=q_t, kv_tokens=k_t, seconds=s,
                              tflops=4 * nh * hd * pairs / s / 1e12))
        if a.model_layers > 0:
            stack = torch.nn.Sequential(*[Layer() for _ in range(a.model_layers)]).to(dev, dt)
            x = torch.randn(8192, H, device=dev, dtype=dt)
            items.append(dict(kind="model_prefill_causal", tokens=8192, layers=a.model_layers, seconds=timed(lambda: stack(x))))

    about = (f"Measured with tools/calibration/measure.py on {torch.cuda.get_device_name()}, PyTorch {torch.__version__} bf16, "
             "scaled_dot_product_attention (GQA), CUDA-event timing, median of repeats after warm-up.")
    with open(a.out, "w") as f:
        json.dump(dict(about=about, device=torch.cuda.get_device_name(), dtype="bf16", model=shape, items=items), f, indent=1)
    print(f"wrote {a.out}: {len(items)} points")


if __name__ == "__main__":
    main()
