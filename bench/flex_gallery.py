"""The FlexAttention gallery through attn.flex_attention against
torch.compile(flex_attention), same run, same mask_mods / score_mods, each
side with its own block mask (attn.create_block_mask / torch's), and the
block-mask creation time of each.

  here:        /usr/bin/python3 bench/flex_gallery.py --compile
               (prebuilds the kernels into build/flex_gallery)
  GPU machine: python3 bench/flex_gallery.py [--kernels DIR] [--seqlens 4096,16384]
               (carry build/lib/libAttnRuntime.so and build/flex_gallery)

bf16, b=4, h=16, d=128 (b=1 at 16384), TFLOP/s over the kept pairs
(4 b h d per kept pair), median of triton.testing.do_bench. Also prints
each entry's largest difference from torch's output, as a sanity check (the
float64 checks are python/tests/gpu).
"""
import os
import sys

from bench_kernels import ROOT, default_chip  # noqa: E402  (puts attn on sys.path)

KERNEL_DIR = os.path.join(ROOT, "build", "flex_gallery")
B, H, D = 4, 16, 128


def captures(xp, s, b=B, h=H):
    """The arrays the gallery's functions capture: document ids (6 equal
    documents; per batch: b shifted splits), ALiBi slopes, a relative
    position bias table [H, 2 S - 1] and a per-head window."""
    if xp == "numpy":  # prebuild: only dtypes and ranks matter
        import numpy as np
        return {"docs": np.zeros(s, np.int32), "docs_b": np.zeros((b, s), np.int32),
                "slopes": np.zeros(h, np.float32),
                "rel": np.zeros((h, 2 * s - 1), np.float32),
                "window": np.zeros(h, np.int32)}
    import torch
    pos = torch.arange(s, device="cuda")
    docs = (pos * 6 // s).int()
    docs_b = torch.stack([((pos + 97 * i) * (3 + i) // s).int() for i in range(b)])
    return {"docs": docs, "docs_b": docs_b,
            "slopes": torch.exp2(-8.0 * torch.arange(1, h + 1, device="cuda") / h),
            "rel": torch.randn(h, 2 * s - 1, device="cuda") * 0.5,
            "window": (256 * (1 + torch.arange(h, device="cuda") % 8)).int()}


def gallery(attn, c, s):
    """name -> (mask_mod, score_mod, per-batch, per-head)."""
    causal = lambda b, h, q, kv: kv <= q  # noqa: E731
    window = lambda b, h, q, kv: q - kv <= 1024  # noqa: E731
    prefix = lambda b, h, q, kv: kv < 1024  # noqa: E731
    docs, docs_b, slopes, rel, win = (c[k] for k in ("docs", "docs_b", "slopes", "rel",
                                                      "window"))
    return {
        "causal": (causal, None, False, False),
        "sliding_window1024": (attn.and_masks(causal, window), None, False, False),
        "prefix_lm1024": (attn.or_masks(causal, prefix), None, False, False),
        "document6": (lambda b, h, q, kv: (kv <= q) & (docs[q] == docs[kv]), None, False,
                      False),
        "document_per_batch": (lambda b, h, q, kv: (kv <= q) & (docs_b[b, q] == docs_b[b, kv]),
                               None, True, False),
        "window_per_head": (lambda b, h, q, kv: (kv <= q) & (q - kv < win[h]), None, False,
                            True),
        "alibi": (causal, lambda sc, b, h, q, kv: sc + slopes[h] * (kv - q), False, False),
        "softcap30": (causal, lambda sc, b, h, q, kv: 30.0 * attn.tanh(sc / 30.0), False,
                      False),
        "rel_bias_table": (causal, lambda sc, b, h, q, kv: sc + rel[h, q - kv + (s - 1)],
                           False, False),
        "softcap_document": (lambda b, h, q, kv: (kv <= q) & (docs[q] == docs[kv]),
                             lambda sc, b, h, q, kv: 30.0 * attn.tanh(sc / 30.0), False,
                             False),
    }


def batch_for(s):
    return B if s <= 4096 else 1


def compile_all(out_dir):
    import shutil
    import attn
    shutil.rmtree(out_dir, ignore_errors=True)  # prebuild keeps existing kernels
    for s in SEQLENS:
        b = batch_for(s)
        with attn.prebuild(out_dir, chip=default_chip()):
            q = attn.meta_tensor((b, H, s, D), "bfloat16")
            for name, (mask, score, per_b, per_h) in gallery(attn, captures("numpy", s, b),
                                                             s).items():
                bm = attn.create_block_mask(mask, b if per_b else None, H if per_h else None,
                                            s, s)
                attn.flex_attention(q, q, q, score_mod=score, block_mask=bm)
                print(f"prebuilt {name} s={s}", flush=True)


SEQLENS = (4096,)


def main():
    global SEQLENS
    if "--seqlens" in sys.argv:
        SEQLENS = tuple(int(x) for x in sys.argv[sys.argv.index("--seqlens") + 1].split(","))
    if "--compile" in sys.argv:
        compile_all(KERNEL_DIR)
        return
    kernels = sys.argv[sys.argv.index("--kernels") + 1] if "--kernels" in sys.argv \
        else KERNEL_DIR
    os.environ["ATTN_KERNEL_DIR"] = kernels
    import torch
    import triton.testing
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    import torch._dynamo
    import attn
    for knob in ("recompile_limit", "cache_size_limit"):
        if hasattr(torch._dynamo.config, knob):
            setattr(torch._dynamo.config, knob, 1024)
    flex = torch.compile(flex_attention, dynamic=False)
    bench = lambda fn: triton.testing.do_bench(fn, return_mode="median")  # noqa: E731
    print(torch.cuda.get_device_name(), torch.__version__, "kernels:", kernels)
    rows = []
    for s in SEQLENS:
        b = batch_for(s)
        c = captures("torch", s, b)
        q, k, v = (torch.randn(b, H, s, D, device="cuda", dtype=torch.bfloat16)
                   for _ in range(3))
        pos = torch.arange(s, device="cuda")
        for name, (mask, score, per_b, per_h) in gallery(attn, c, s).items():
            nb, nh = (b if per_b else None), (H if per_h else None)
            kept = sum(mask(torch.tensor(bi, device="cuda"), torch.tensor(hi, device="cuda"),
                            pos[:, None], pos[None, :]).sum().item()
                       * (1 if per_b else b) * (1 if per_h else H)
                       for bi in range(nb or 1) for hi in range(nh or 1))
            flops = 4 * D * kept
            ours = attn.create_block_mask(mask, nb, nh, s, s, device="cuda")
            theirs = create_block_mask(mask, nb, nh, s, s)
            out = attn.flex_attention(q, k, v, score_mod=score, block_mask=ours)
            ref = flex(q, k, v, score_mod=score, block_mask=theirs)
            diff = (out.float() - ref.float()).abs().max().item()
            t_ours = bench(lambda: attn.flex_attention(q, k, v, score_mod=score,
                                                       block_mask=ours))
            t_flex = bench(lambda: flex(q, k, v, score_mod=score, block_mask=theirs))
            t_make = bench(lambda: attn.create_block_mask(mask, nb, nh, s, s, device="cuda"))
            t_make_torch = bench(lambda: create_block_mask(mask, nb, nh, s, s))
            tf = lambda ms: flops / ms * 1e-9  # noqa: E731
            rows.append((name, s, tf(t_ours), tf(t_flex), diff, t_make, t_make_torch))
            print(f"{name} s={s}: attn {tf(t_ours):.0f} flex {tf(t_flex):.0f} TFLOP/s",
                  file=sys.stderr, flush=True)
    print("\n| entry | seqlen | attn | flex | attn/flex | max diff vs flex | "
          "mask ms attn | mask ms torch |")
    print("|---|---|---|---|---|---|---|---|")
    for name, s, a, fx, diff, mk, mkt in rows:
        print(f"| {name} | {s} | {a:.0f} | {fx:.0f} | {a / fx:.2f} | {diff:.3g} | "
              f"{mk:.2f} | {mkt:.2f} |")


if __name__ == "__main__":
    main()
