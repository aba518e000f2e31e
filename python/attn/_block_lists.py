"""create_block_mask's lists on the GPU: the traced mask_mod compiled into
an attn.block_mask kernel (a CTA per query block evaluates the mask on
every pair of each key block; lib/Conversion/AttnToGPU/BlockMaskKernel.cpp),
which writes FlexAttention's kv_num_blocks / kv_indices and
full_kv_num_blocks / full_kv_indices directly."""
from __future__ import annotations

LIST_NAMES = ("kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices")


def block_mask_spec(mask_mod, atoms, qb, kb):
    """(BlockMaskSpec, captures) of a mask_mod ANDed with the closed-form
    `atoms`; raises TraceError where the mask_mod does not trace."""
    from ._ir import BlockMaskSpec, MaskMod
    from ._tracer import capture_type, trace
    body, caps = trace(mask_mod, "mask", prefix="m")
    spec = BlockMaskSpec(qb, kb, masks=tuple(atoms) + (MaskMod(),), mask_mod=body,
                         captures=tuple((n, capture_type(a, e)) for n, a, e in caps))
    return spec, caps


def prebuild_block_mask(mask_mod, atoms, qb, kb):
    """Under attn.prebuild: compiles the block-mask kernel of this mask_mod
    into the prebuild directory (a machine without the compiler then finds
    it). A mask_mod that does not trace is left to the eager path."""
    from . import _backend
    from ._tracer import TraceError
    try:
        spec, _ = block_mask_spec(mask_mod, atoms, qb, kb)
    except TraceError:
        return
    _backend.prebuild_kernel(spec)


def gpu_block_lists(mask_mod, atoms, nb, nh, qlen, klen, qb, kb, device):
    """The four lists (int32 CUDA tensors [nb, nh, NQ] / [nb, nh, NQ, NK]) of
    the mask on `device`, from the compiled kernel; None where it cannot
    serve: a mask_mod that does not trace (the caller evaluates it eagerly),
    no kernel and no compiler, or a compile error (warned about)."""
    import torch
    from . import _backend
    from ._tracer import TraceError
    from .flex import _capture_arrays
    try:
        spec, caps = block_mask_spec(mask_mod, atoms, qb, kb)
    except TraceError:
        return None
    dev = torch.device(device)
    if dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    try:
        kernel = _backend.gpu_kernel(spec, _backend._chip(dev.index))
    except _backend.KernelNotFoundError:
        return None
    except Exception as e:  # a compiler error: said, then the eager path
        import warnings
        warnings.warn(f"create_block_mask: the block-mask kernel did not compile "
                      f"({e}); evaluating the mask_mod with torch instead", RuntimeWarning)
        return None
    nq, nk = -(-qlen // qb), -(-klen // kb)
    lists = {name: torch.empty((nb, nh, nq) + ((nk,) if name.endswith("indices") else ()),
                               dtype=torch.int32, device=dev) for name in LIST_NAMES}
    captured = _capture_arrays(caps, torch.empty(0, device=dev))
    args = [qlen, klen] + [captured[n] for n, _, _ in caps] + [lists[n] for n in LIST_NAMES]
    with torch.cuda.device(dev):
        kernel(*args)
    _backend.stats["block_mask_launches"] += 1
    return lists


def some_blocks(lists):
    """[B, H, NQ, NK] bool: the blocks either list holds (partial or full)."""
    import torch
    some = None
    for num, idx in (("kv_num_blocks", "kv_indices"),
                     ("full_kv_num_blocks", "full_kv_indices")):
        count, order = lists[num], lists[idx]
        listed = torch.arange(order.shape[-1], device=order.device) < count[..., None]
        # kv_indices is a permutation of the key blocks: each is set once.
        mat = torch.zeros_like(listed).scatter_(-1, order.long(), listed)
        some = mat if some is None else some | mat
    return some
