"""GPU benchmark: Attn's kernels side by side with torch SDPA (flash, cuDNN)
and torch.compile(flex_attention), on the convention of ../shared/anchors.md.

  here:        /usr/bin/python3 bench/gpu_bench.py --compile   (writes
               build/gpu_bench/<case>.attn with build/bin/attn-compile)
  GPU machine: python3 bench/gpu_bench.py [--plot PATH]       (carry
               build/lib/libAttnRuntime.so and build/gpu_bench)

bf16, batch x seqlen = 16384 tokens, hidden 2048 (heads = 2048 / d),
FLOPs = 4 b h sq sk d (halved when causal), median of
triton.testing.do_bench. The masked / modified variants (b=4, h=16, s=4096,
d=128, causal) count only the kept pairs; the rope variant (RoPE in the
kernel) is also set against what FlexAttention runs for the same math
(q and k rotated by a torch.compile'd RoPE, then flex_attention). Prints
markdown tables with ratios; --plot saves a bar chart (needs matplotlib).
"""
import os
import sys

from bench_kernels import (grid_problem, ROOT, compile_specs, default_chip,  # noqa: E402  (puts attn on sys.path)
                           document_ids, variant_problem)

from attn._ir import (Alibi, AttentionSpec, Causal, Document, Rope,  # noqa: E402
                      SlidingWindow, Softcap)

OUT_DIR = os.path.join(ROOT, "build", "gpu_bench")
SEQLENS = (512, 1024, 2048, 4096, 8192, 16384)
HEAD_DIMS = (64, 128, 96, 256)  # hidden 2048: 32, 16, 21 and 8 heads


def grid_spec(d, causal):
    return AttentionSpec(dtype="bf16", heads_q=2048 // d, heads_kv=2048 // d, head_dim=d,
                         masks=(Causal(),) if causal else (), lse=True)


VARIANTS = {
    "window1024": AttentionSpec(dtype="bf16", heads_q=16, heads_kv=16, head_dim=128,
                                masks=(SlidingWindow(1024, 0),)),
    "softcap30": AttentionSpec(dtype="bf16", heads_q=16, heads_kv=16, head_dim=128,
                               masks=(Causal(),), score_mods=(Softcap(30.0),)),
    "alibi": AttentionSpec(dtype="bf16", heads_q=16, heads_kv=16, head_dim=128,
                           masks=(Causal(),), score_mods=(Alibi(),)),
    "document6": AttentionSpec(dtype="bf16", heads_q=16, heads_kv=16, head_dim=128,
                               masks=(Document(), Causal())),
    "gqa32_8": AttentionSpec(dtype="bf16", heads_q=32, heads_kv=8, head_dim=128,
                             masks=(Causal(),)),
    # RoPE (LLaMA, bottom-right) in the kernel; the peers run plain causal
    # (theirs would need a separate rotation pass): attn/peer is its cost.
    "rope": AttentionSpec(dtype="bf16", heads_q=16, heads_kv=16, head_dim=128,
                          masks=(Causal(),), rope=Rope()),
    "rope_sm80": AttentionSpec(dtype="bf16", heads_q=16, heads_kv=16, head_dim=128,
                               masks=(Causal(),), rope=Rope()),
}
# attn-compile flags of variants that force a lowering.
FLAGS = {"rope_sm80": ["--strategy=sm80"]}


def kernels():
    ks = {f"d{d}_{'causal' if c else 'dense'}": grid_spec(d, c)
          for d in HEAD_DIMS for c in (False, True)}
    ks.update(VARIANTS)
    return ks


FLEX_DIR = os.path.join(ROOT, "build", "gpu_bench_flex")


def rope_tables(torch, s, d, theta=10000.0):
    """cos / sin [s, d / 2] (float32) of LLaMA's RoPE at positions 0..s-1."""
    inv = 1.0 / theta ** (torch.arange(0, d, 2, device="cuda", dtype=torch.float32) / d)
    angles = torch.arange(s, device="cuda", dtype=torch.float32)[:, None] * inv[None, :]
    return angles.cos(), angles.sin()


def torch_rope(x, cos, sin):
    """LLaMA's rotate-half RoPE of x [B, H, S, D] (pairs i, i + D/2)."""
    import torch
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half].float(), x[..., half:].float()
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1).to(x.dtype)


def flex_document_call(attn, q, docs, s):
    """The document variant through attn.flex_attention: a traced mask_mod
    and create_block_mask's block lists (empty blocks skipped, full blocks
    without mask code)."""
    def doc_causal(b_, h_, qi, kj):
        return (kj <= qi) & (docs[qi] == docs[kj])
    bm = attn.create_block_mask(doc_causal, None, None, s, s, device="cuda")
    return bm, lambda: attn.flex_attention(q, q, q, block_mask=bm)


def compile_all():
    compile_specs(kernels().items(), OUT_DIR, flags=FLAGS)
    import shutil
    import numpy as np
    import attn
    # attn.prebuild keeps a kernel already in the directory (its key is the
    # spec's): start empty so that this compiler builds it.
    shutil.rmtree(FLEX_DIR, ignore_errors=True)
    with attn.prebuild(FLEX_DIR, chip=default_chip()):
        q = attn.meta_tensor((4, 16, 4096, 128), "bfloat16")
        _, call = flex_document_call(attn, q, np.zeros(4096, np.int32), 4096)
        call()


def main():
    if "--compile" in sys.argv:
        compile_all()
        return
    import torch
    import torch.nn.functional as F
    import triton.testing
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    from attn._runtime import Kernel

    # One compiled flex kernel per (shape, mask, score_mod): raise dynamo's
    # recompile limit so that none falls back to the eager (unfused) path.
    import torch._dynamo
    for knob, value in (("recompile_limit", 1024), ("cache_size_limit", 1024),
                        ("accumulated_recompile_limit", 4096),
                        ("accumulated_cache_size_limit", 4096)):
        if hasattr(torch._dynamo.config, knob):
            setattr(torch._dynamo.config, knob, value)
    flex = torch.compile(flex_attention, dynamic=False)
    bench = lambda fn: triton.testing.do_bench(fn, return_mode="median")
    print(torch.cuda.get_device_name(), torch.__version__)

    def sdpa(backend, q, k, v, causal, gqa=False):
        try:
            with sdpa_kernel(backend):
                return bench(lambda: F.scaled_dot_product_attention(
                    q, k, v, is_causal=causal, enable_gqa=gqa))
        except Exception:
            return float("nan")

    # --head-dims 96,128: time only those grid rows (--variants-only: none;
    # --grid-only: no variants), for a short run.
    dims = HEAD_DIMS
    if "--variants-only" in sys.argv:  # no grid rows
        dims = ()
    if "--head-dims" in sys.argv:
        dims = tuple(int(x) for x in sys.argv[sys.argv.index("--head-dims") + 1].split(","))
    rows = []
    for d in dims:
        for causal in (False, True):
            name = f"d{d}_{'causal' if causal else 'dense'}"
            kernel = Kernel(os.path.join(OUT_DIR, name + ".attn"))
            for seq in SEQLENS:
                b = 16384 // seq
                q, k, v, out, lse, flops = grid_problem(torch, d, seq, causal)
                qt, kt, vt = (x.transpose(1, 2).contiguous() for x in (q, k, v))
                t_attn = bench(lambda: kernel(q, k, v, out, lse))
                t_flash = sdpa(SDPBackend.FLASH_ATTENTION, qt, kt, vt, causal)
                t_cudnn = sdpa(SDPBackend.CUDNN_ATTENTION, qt, kt, vt, causal)
                mask = None
                if causal:
                    mask = create_block_mask(lambda b_, h_, i, j: j <= i, None, None, seq, seq)
                t_flex = bench(lambda: flex(qt, kt, vt, block_mask=mask))
                tf = lambda ms: flops / ms * 1e-9
                rows.append((d, seq, causal, tf(t_attn), tf(t_flash), tf(t_cudnn), tf(t_flex)))
                # Progress on stderr; the tables follow on stdout.
                print(f"[{len(rows)}/{len(dims) * 2 * len(SEQLENS)}] d{d} s{seq} "
                      f"{'causal' if causal else 'dense'}: attn {tf(t_attn):.0f} TFLOP/s",
                      file=sys.stderr, flush=True)
                del q, k, v, qt, kt, vt, out, lse
    print("\n| d | seqlen | causal | attn | flash (FA2) | cudnn | flex | attn/flash | attn/flex |")
    print("|---|---|---|---|---|---|---|---|---|")
    for d, seq, causal, a, fl, cu, fx in rows:
        print(f"| {d} | {seq} | {'yes' if causal else 'no'} | {a:.0f} | {fl:.0f} | {cu:.0f} | "
              f"{fx:.0f} | {a / fl:.2f} | {a / fx:.2f} |")

    if "--grid-only" in sys.argv:
        return
    # Variants: b=4, s=4096, d=128, bf16, TFLOP/s over kept pairs.
    b, s, d = 4, 4096, 128
    vrows = []
    for name, spec in VARIANTS.items():
        hq, hkv = spec.heads_q, spec.heads_kv
        kernel = Kernel(os.path.join(OUT_DIR, name + ".attn"))
        args, out, flops, mask_fn, score_mod = variant_problem(torch, name, hq, hkv, b, s, d)
        qt, kt, vt = (x.transpose(1, 2).contiguous() for x in args[:3])
        t_attn = bench(lambda: kernel(*args, out))
        bm = create_block_mask(mask_fn, None, None, s, s)
        gqa = hq != hkv
        t_flex = bench(lambda: flex(qt, kt, vt, score_mod=score_mod, block_mask=bm,
                                    enable_gqa=gqa))
        t_flash = t_cudnn = float("nan")
        if name in ("gqa32_8", "rope"):
            t_flash = sdpa(SDPBackend.FLASH_ATTENTION, qt, kt, vt, True, gqa=gqa)
            t_cudnn = sdpa(SDPBackend.CUDNN_ATTENTION, qt, kt, vt, True, gqa=gqa)
        tf = lambda ms: flops / ms * 1e-9
        vrows.append((name, tf(t_attn), tf(t_flex), tf(t_flash), tf(t_cudnn)))
        if name == "rope":
            # What a FlexAttention user runs for the same math: q and k
            # rotated first (one torch.compile'd kernel over the cached
            # cos / sin tables), then flex_attention.
            rotate = torch.compile(torch_rope, dynamic=False)
            cos, sin = rope_tables(torch, s, d)
            t_both = bench(lambda: flex(rotate(qt, cos, sin), rotate(kt, cos, sin), vt,
                                        block_mask=bm))
            vrows.append(("rope, flex after torch RoPE of q and k", tf(t_attn), tf(t_both),
                          float("nan"), float("nan")))
    # The document mask through our FlexAttention API (block lists from
    # create_block_mask), against torch's flex_attention, and block-mask
    # creation against torch's create_block_mask.
    os.environ["ATTN_KERNEL_DIR"] = FLEX_DIR
    import attn
    docs = document_ids(torch, s, 6)
    hq = 16
    qf = torch.randn(b, hq, s, d, device="cuda", dtype=torch.bfloat16)
    bm, call = flex_document_call(attn, qf, docs, s)
    i = torch.arange(s, device="cuda")[:, None]
    j = torch.arange(s, device="cuda")[None, :]
    flops = 4 * b * hq * d * ((j <= i) & (docs[:, None] == docs[None, :])).sum().item()
    t_ours = bench(call)
    torch_mask = lambda b_, h_, qi, kj: (kj <= qi) & (docs[qi] == docs[kj])
    tbm = create_block_mask(torch_mask, None, None, s, s)
    t_theirs = bench(lambda: flex(qf, qf, qf, block_mask=tbm))
    t_make_ours = bench(lambda: flex_document_call(attn, qf, docs, s))
    t_make_torch = bench(lambda: create_block_mask(torch_mask, None, None, s, s))
    vrows.append(("document6 (flex API, block lists)", flops / t_ours * 1e-9,
                  flops / t_theirs * 1e-9, float("nan"), float("nan")))
    print(f"\nblock-mask creation (document6, 4096^2): attn {t_make_ours:.3f} ms, "
          f"torch {t_make_torch:.3f} ms")
    print("\n| variant (b=4 h=16 s=4096 d=128 causal) | attn | flex | flash | cudnn | attn/flex |")
    print("|---|---|---|---|---|---|")
    for name, a, fx, fl, cu in vrows:
        print(f"| {name} | {a:.0f} | {fx:.0f} | {fl:.0f} | {cu:.0f} | {a / fx:.2f} |")

    if "--plot" in sys.argv:
        path = sys.argv[sys.argv.index("--plot") + 1]
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("no matplotlib: plot skipped")
            return
        fig, axes = plt.subplots(1, 4, figsize=(20, 4), sharey=True)
        for ax, (d, causal) in zip(axes, [(64, False), (64, True), (128, False), (128, True)]):
            sel = [r for r in rows if r[0] == d and r[2] == causal]
            xs = range(len(sel))
            for n, (label, col) in enumerate([("attn", 3), ("flash", 4), ("cudnn", 5), ("flex", 6)]):
                ax.bar([x + n * 0.2 for x in xs], [r[col] for r in sel], 0.2, label=label)
            ax.set_xticks([x + 0.3 for x in xs], [str(r[1]) for r in sel])
            ax.set_title(f"d={d} {'causal' if causal else 'non-causal'} (bf16)")
            ax.set_xlabel("seqlen")
        axes[0].set_ylabel("TFLOP/s")
        axes[0].legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        print(f"plot saved to {path}")


if __name__ == "__main__":
    main()
