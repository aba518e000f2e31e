"""Mutation fuzzing of the Python package's argument validation (test-only).

Calls the public functions with mutated arguments: shapes (zero, mismatched,
wrong rank), dtypes, scales, thresholds, windows, offsets, lengths, masks and
traced functions, on the CPU backend. Every call must either return outputs
of the documented shape, finite where the inputs are, or raise ValueError,
TypeError or attn.TraceError. A call that raises anything else (a
CompileError means a bad input got past the checks), returns NaN, or kills
the interpreter is a finding, saved as a Python file that replays it.

    python3 test/Fuzz/fuzz_python.py [--seconds S] [--max-inputs N]
                                     [--seed N] [--findings DIR]
"""
import argparse
import math
import multiprocessing as mp
import os
import random
import sys
import time
import traceback

import numpy as np

import attn

NUMBERS = [0, 1, 2, 3, 7, 8, 16, 31, 32, 64, -1, -3, 2**31, 2**63 - 1, 2**70]
FLOATS = [0.0, -1.0, 0.125, 1e-5, 1e16, 5e-324, 1e39, math.inf, -math.inf, math.nan]


def pick(r, options):
    return options[r.randrange(len(options))]


def maybe(r, value, other, p=0.15):
    return other if r.random() < p else value


def scalar(r):
    kind = r.randrange(9)
    if kind == 0:
        return pick(r, NUMBERS)
    if kind == 1:
        return pick(r, FLOATS)
    if kind == 2:
        return np.int64(pick(r, NUMBERS[:10]))
    if kind == 3:
        return True
    if kind == 4:
        return "x"
    if kind == 5:
        return None
    if kind == 6:
        return (1, 2)
    if kind == 7:
        return np.float32(pick(r, FLOATS))
    return [0, 1]


def tensor(r, shape, dtype="float32"):
    shape = tuple(max(0, min(int(s), 96)) for s in shape)
    a = np.random.default_rng(r.randrange(2**32)).standard_normal(shape)
    return a.astype(dtype)


def dims(r):
    b = maybe(r, r.randrange(1, 3), pick(r, [0, 3]))
    s = maybe(r, r.randrange(1, 80), pick(r, [0, 1, 65]))
    h = maybe(r, pick(r, [1, 2, 4]), pick(r, [0, 3]))
    d = maybe(r, pick(r, [8, 16, 32]), pick(r, [0, 12, 264]))
    return b, s, h, d


def call_dense(r):
    b, s, h, d = dims(r)
    sk = maybe(r, s, r.randrange(0, 80))
    hk = maybe(r, h, pick(r, [1, 2]))
    dt = maybe(r, "float32", pick(r, ["float16", "int32", "float64"]))
    q = tensor(r, (b, s, h, d), dt)
    k = tensor(r, maybe(r, (b, sk, hk, d), (b, sk, hk, d + 8)), dt)
    v = tensor(r, (b, sk, hk, maybe(r, d, 16)), dt)
    kw = {}
    if r.random() < 0.4:
        kw["is_causal"] = maybe(r, r.random() < 0.5, scalar(r))
    if r.random() < 0.4:
        kw["softmax_scale"] = maybe(r, r.uniform(0.01, 1), scalar(r), 0.5)
    if r.random() < 0.4:
        kw["window_size"] = maybe(r, (pick(r, [None, -1, 0, 3, 100]),
                                      pick(r, [None, -1, 0, 5])), scalar(r), 0.3)
    kw["return_lse"] = r.random() < 0.5
    fn = pick(r, ["flash_dense_attn_func", "flash_sparse_attn_func",
                  "flash_gated_attn_func"])
    args = [q, k, v]
    if fn == "flash_sparse_attn_func" and r.random() < 0.5:
        kw["softmax_threshold"] = maybe(r, r.uniform(0, 0.5), scalar(r), 0.5)
    if fn == "flash_gated_attn_func":
        args += [tensor(r, maybe(r, (b, h, s), (b, h, s + 1))),
                 tensor(r, maybe(r, (b, hk, sk), (b, hk))),]
        for name in ("gate_threshold", "is_logsigmoid_gate", "is_adapt_gate"):
            if r.random() < 0.3:
                kw[name] = maybe(r, r.choice([True, False, -1.0, 0.5]), scalar(r))
    return fn, args, kw, (b, s, h, v.shape[-1])


def offsets(r, total, batch):
    cuts = sorted(r.randrange(0, total + 1) for _ in range(max(batch - 1, 0)))
    cu = [0] + cuts + [total]
    if r.random() < 0.3:
        i = r.randrange(len(cu))
        cu[i] = pick(r, [-1, total + 1, 2**31 - 1, cu[i] + 1, 0])
    dt = maybe(r, np.int32, pick(r, [np.int64, np.float32]))
    return np.array(cu, dtype=dt)


def call_varlen(r):
    batch = maybe(r, r.randrange(1, 4), 0)
    tq, tk = r.randrange(0, 90), r.randrange(0, 90)
    h, d = pick(r, [1, 2]), pick(r, [8, 16])
    q, k, v = tensor(r, (tq, h, d)), tensor(r, (tk, h, d)), tensor(r, (tk, h, d))
    cu_q, cu_k = offsets(r, tq, batch), offsets(r, tk, batch)
    kw = {"return_lse": r.random() < 0.5, "is_causal": r.random() < 0.5}
    if r.random() < 0.3:
        n = max(batch, 1)
        kw["seqused_q"] = np.array([r.randrange(-2, 40) for _ in range(n)], np.int32)
        kw["seqused_k"] = np.array([r.randrange(-2, 40) for _ in range(n)], np.int32)
    return "flash_dense_attn_varlen_func", [q, k, v, cu_q, cu_k, 64, 64], kw, (tq, h, d)


def call_flex(r):
    b, s, h, d = dims(r)
    sk = maybe(r, s, r.randrange(0, 80))
    q, k, v = tensor(r, (b, h, s, d)), tensor(r, (b, h, sk, d)), tensor(r, (b, h, sk, d))
    table = tensor(r, (r.randrange(0, 8),))
    ids = np.array([r.randrange(-3, 5) for _ in range(r.randrange(0, 10))], np.int32)
    c = pick(r, [1, -1, 3, 100000000, 2**40])
    mods = [
        lambda x, bb, hh, i, j: x + table[i * c],
        lambda x, bb, hh, i, j: x * pick(r, FLOATS[:6]),  # finite in float32
        lambda x, bb, hh, i, j: attn.tanh(x / 30.0) * 30.0 - abs(i - j),
        lambda x, bb, hh, i, j: x + table[j - c],
    ]
    masks = [
        lambda bb, hh, i, j: j <= i,
        lambda bb, hh, i, j: ids[i * c] == ids[j],
        lambda bb, hh, i, j: (ids[j] > 0) | (i == j),
    ]
    kw = {}
    if r.random() < 0.6:
        kw["score_mod"] = pick(r, mods)
    if r.random() < 0.5 and s > 0 and sk > 0:
        kw["block_mask"] = attn.create_block_mask(pick(r, masks), None, None, s, sk)
    if r.random() < 0.3:
        kw["scale"] = maybe(r, 0.2, scalar(r), 0.5)
    kw["return_lse"] = r.random() < 0.5
    return "flex_attention", [q, k, v], kw, (b, h, s, d)


def call_diy(r):
    b, s, h, d = dims(r)
    q, k, v = (tensor(r, (b, h, s, d)) for _ in range(3))
    kw = {"causal": maybe(r, r.random() < 0.5, scalar(r))}
    if r.random() < 0.6:
        lens = [r.randrange(-1, s + 2) for _ in range(max(b, 0))]
        kw["seq_lens"] = np.array(lens, maybe(r, np.int32, np.int64))
        for i, n in enumerate(lens):  # padding holds NaN: never read
            if 0 <= n < s:
                k[i, :, n:] = np.nan
                v[i, :, n:] = np.nan
    if r.random() < 0.3:
        kw["sm_scale"] = maybe(r, 0.3, scalar(r), 0.5)
    return "flash_attention", [q, k, v], kw, (b, h, s, d)


GENERATORS = [call_dense, call_varlen, call_flex, call_diy]
ALLOWED = (ValueError, TypeError, attn.TraceError)


def one_input(seed, index):
    r = random.Random(seed * 1_000_003 + index)
    return pick(r, GENERATORS)(r)


def check(seed, index):
    """None when the call behaved, else a description of the finding."""
    fn, args, kw, _ = one_input(seed, index)
    finite_inputs = all(np.isfinite(a).all() for a in args[:3]
                        if isinstance(a, np.ndarray) and a.dtype.kind == "f")
    try:
        result = getattr(attn, fn)(*args, **kw)
    except ALLOWED:
        return None
    except Exception:  # noqa: BLE001 - anything else is a finding
        return traceback.format_exc()
    out = result[0] if isinstance(result, tuple) else result
    if finite_inputs and np.isnan(np.asarray(out, np.float64)).any():
        return f"{fn} returned NaN on finite inputs"
    if fn == "flash_attention" and "seq_lens" in kw and np.isnan(out).any():
        return "flash_attention read NaN padding past seq_lens"
    return None


def worker(seed, start, stop, deadline, progress, current):
    for index in range(start, stop):
        if time.time() > deadline:
            return
        current.value = index
        problem = check(seed, index)
        if problem:
            print(f"FINDING {index}: {problem}", flush=True)
            save(seed, index, problem)
        progress.value = index + 1


FINDINGS = "fuzz-findings"


def save(seed, index, problem):
    os.makedirs(FINDINGS, exist_ok=True)
    with open(os.path.join(FINDINGS, f"python-{seed}-{index}.py"), "w") as f:
        f.write(f'"""{problem}"""\nimport sys; sys.path.insert(0, {os.path.dirname(__file__)!r})\n'
                f"import fuzz_python\nprint(fuzz_python.check({seed}, {index}))\n")


def main():
    global FINDINGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--max-inputs", type=int, default=10**9)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--findings", default=FINDINGS)
    a = p.parse_args()
    FINDINGS = a.findings
    np.seterr(all="ignore")
    deadline = time.time() + a.seconds
    ctx = mp.get_context("fork")
    progress, current = ctx.Value("q", 0), ctx.Value("q", 0)
    findings = 0
    while progress.value < a.max_inputs and time.time() < deadline:
        child = ctx.Process(target=worker, args=(a.seed, progress.value, a.max_inputs,
                                                 deadline, progress, current))
        child.start()
        child.join()
        if child.exitcode != 0:  # the interpreter died on input `current`
            save(a.seed, current.value, f"the process died (exit code {child.exitcode})")
            print(f"FINDING {current.value}: process died ({child.exitcode})", flush=True)
            progress.value = current.value + 1
        findings = len([f for f in os.listdir(FINDINGS)]) if os.path.isdir(FINDINGS) else 0
    print(f"fuzz_python: {progress.value} inputs in {a.seconds - max(0, deadline - time.time()):.0f} s, "
          f"{findings} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
