"""What the GPU scripts in bench/ share: the checkout's paths (and the
`attn` package on sys.path), and compiling named AttentionSpecs into kernel
artifacts with build/bin/attn-compile on this machine (the GPU machine has
no MLIR)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))


def default_chip():
    """The chip kernels are compiled for here: $ATTN_CHIP, else sm_90a (the
    H100/H200 the device tool lends; sm_90a enables the wgmma strategy)."""
    return os.environ.get("ATTN_CHIP", "sm_90a")


def compile_specs(specs, out_dir, chip=None, flags=None):
    """out_dir/<name>.mlir and <name>.attn for each (name, spec) for `chip`
    (default: $ATTN_CHIP, else sm_90a: H100/H200); flags: name -> extra
    attn-compile arguments (e.g. forced tile sizes)."""
    chip = chip or default_chip()
    os.makedirs(out_dir, exist_ok=True)
    tool = os.path.join(ROOT, "build", "bin", "attn-compile")
    specs = list(specs)
    for index, (name, spec) in enumerate(specs, 1):
        print(f"[{index}/{len(specs)}] ", end="", flush=True)  # attn-compile ends the line
        src = os.path.join(out_dir, name + ".mlir")
        with open(src, "w") as f:
            f.write(spec.to_mlir(name))
        subprocess.run([tool, src, "-o", os.path.join(out_dir, name + ".attn"),
                        f"--chip={chip}", "--format=bin"] + (flags or {}).get(name, []),
                       check=True)


def grid_problem(torch, d, seq, causal, tokens=16384, hidden=2048):
    """The benchmark grid's problem at head dim d and sequence length seq:
    bf16 [B, S, H, D] q/k/v with B * S = tokens and H * D = hidden, out and
    lse buffers, and the FLOPs (causal: half the pairs)."""
    b, h = tokens // seq, hidden // d
    q, k, v = (torch.randn(b, seq, h, d, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    out = torch.empty_like(q)
    lse = torch.empty(b, h, seq, device="cuda")
    flops = 4 * b * h * seq * seq * d * (0.5 if causal else 1.0)
    return q, k, v, out, lse, flops


def variant_problem(torch, name, heads_q, heads_kv, b=4, s=4096, d=128):
    """The inputs of gpu_bench's variant `name` (b, s, d; bf16 [B, S, H, D],
    causal unless a window): the kernel's arguments before `out`, `out`,
    the FLOPs over the kept pairs, and the FlexAttention mask_mod and
    score_mod of the same problem."""
    q = torch.randn(b, s, heads_q, d, device="cuda", dtype=torch.bfloat16)
    k, v = (torch.randn(b, s, heads_kv, d, device="cuda", dtype=torch.bfloat16)
            for _ in range(2))
    out = torch.empty_like(q)
    i = torch.arange(s, device="cuda")[:, None]
    j = torch.arange(s, device="cuda")[None, :]
    args = [q, k, v]
    score_mod = None
    if name == "window1024":
        mask_fn = lambda b_, h_, qi, kj: (kj <= qi) & (kj >= qi - 1024)
        keep = (j <= i) & (j >= i - 1024)
    elif name == "document6":
        docs = document_ids(torch, s, 6)
        args += [docs.expand(b, s).contiguous()] * 2
        mask_fn = lambda b_, h_, qi, kj: (kj <= qi) & (docs[qi] == docs[kj])
        keep = (j <= i) & (docs[:, None] == docs[None, :])
    else:
        mask_fn = lambda b_, h_, qi, kj: kj <= qi
        keep = j <= i
    if name == "softcap30":
        score_mod = lambda sc, b_, h_, qi, kj: 30.0 * torch.tanh(sc / 30.0)
    elif name == "alibi":
        slopes = torch.exp2(-8.0 * torch.arange(1, heads_q + 1, device="cuda") / heads_q)
        args.append(slopes.float())
        score_mod = lambda sc, b_, h_, qi, kj: sc - slopes[h_] * (qi - kj).abs()
    flops = 4 * b * heads_q * d * keep.sum().item()
    return args, out, flops, mask_fn, score_mod


def document_ids(torch, s, documents):
    """int32 ids of `documents` packed documents of near-equal length over
    s tokens (sorted: 0 0 .. 1 1 ..)."""
    bounds = torch.linspace(0, s, documents + 1, device="cuda").long()
    return torch.bucketize(torch.arange(s, device="cuda"), bounds[1:-1],
                           right=True).int()
