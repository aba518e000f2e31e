"""Attn: attention kernels compiled from one specification.

The seeds' Python APIs on torch tensors (CUDA: compiled tensor-core kernels;
host tensors and numpy arrays: the CPU backend):

* FlexAttention: flex_attention, create_block_mask (mask_mod form),
  and_masks / or_masks / noop_mask, score_mod and mask_mod traced into the
  kernel;
* flash-sparse-attention: flash_{dense,sparse,gated}_attn_func and
  their _varlen_ forms;
* FlashInfer: single_prefill_with_kv_cache[_return_lse],
  single_decode_with_kv_cache, BatchPrefillWithRaggedKVCacheWrapper,
  BatchPrefillWithPagedKVCacheWrapper, BatchDecodeWithPagedKVCacheWrapper,
  merge_state / merge_states / merge_state_in_place;
* DIY FlashAttention: flash_attention (BHSD), flash_attention_v2 (BSHD),
  BlockMask / create_block_mask / compose_block_masks, reference_attention,
  validate_attention, detect_gpu, BackendSelector, select_attention_kernel,
  BenchmarkRunner.
"""
from ._backend import KernelNotFoundError, MetaTensor, meta_tensor, prebuild, stats
from ._compiler import CompileError, UnsupportedError
from ._ir import AttentionSpec
from ._tracer import TraceError, where
from ._tracer import _MATH as _math_fns
from .diy import (BackendSelector, BenchmarkRunner, GPUArch, GPUCapabilities, KernelVariant,
                  detect_gpu, flash_attention, flash_attention_v2, reference_attention,
                  select_attention_kernel, validate_attention)
from .flash import (flash_dense_attn_func, flash_dense_attn_varlen_func,
                    flash_gated_attn_func, flash_gated_attn_varlen_func,
                    flash_sparse_attn_func, flash_sparse_attn_varlen_func)
from .flashinfer import (BatchDecodeWithPagedKVCacheWrapper,
                         BatchPrefillWithPagedKVCacheWrapper,
                         BatchPrefillWithRaggedKVCacheWrapper, merge_state,
                         merge_state_in_place, merge_states, single_decode_with_kv_cache,
                         single_prefill_with_kv_cache, single_prefill_with_kv_cache_return_lse)
from .flex import and_masks, flex_attention, noop_mask, or_masks
from .masks import BlockMask, compose_block_masks, create_block_mask

tanh = _math_fns["tanh"]
exp = _math_fns["exp"]
log = _math_fns["log"]
sigmoid = _math_fns["sigmoid"]
sqrt = _math_fns["sqrt"]

__version__ = "0.1.0"
