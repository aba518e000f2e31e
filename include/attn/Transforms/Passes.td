//===- Passes.td - attn passes -----------------------------*- tablegen -*-===//

#ifndef ATTN_TRANSFORMS_PASSES_TD
#define ATTN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnMaterializeDefaults : Pass<"attn-materialize-defaults"> {
  let summary = "Write every defaulted attn.attention attribute explicitly";
  let description = [{
    Makes each `attn.attention` self-describing before it is lowered:
    `scale` becomes explicit (1/sqrt(head_dim) when absent) and empty
    `masks` / `score_mods` arrays are removed, so that later passes read one
    form only. The op's semantics are unchanged.
  }];
}

def AttnLiftMaskMods : Pass<"attn-lift-mask-mods"> {
  let summary = "Turn the closed-form conjuncts of a mask_mod into mask atoms";
  let description = [{
    A traced FlexAttention `mask_mod` is a region evaluated per element: the
    tile classification can neither skip its empty tiles nor run its full
    tiles without mask code. This pass reads the region's yielded value as
    a conjunction (`arith.andi` trees) and replaces each conjunct that is a
    closed form of the query index i (region argument 2) and the key index
    j (argument 3) by the equivalent top-left-aligned atom on the
    `#attn.mask_mod`'s op (`attn.attention`, `attn.block_mask`):
    - `j - i <= 0` (e.g. `q_idx >= kv_idx`): `#attn.causal<top_left>`;
    - `j - i <= R`, R > 0: `#attn.sliding_window<left = -1, right = R>`;
    - `i - j <= L`, L >= 0 (e.g. `q_idx - kv_idx <= 256`):
      `#attn.sliding_window<left = L, right = -1>`;
    - `j <= P - 1` or causal (e.g. `(kv_idx < P) | (q_idx >= kv_idx)`),
      P >= 0: `#attn.prefix_lm<prefix = P>`;
    where each side of an `arith.cmpi` (sle, slt, sge, sgt; eq as both
    bounds) is a sum of i, j and index constants (`arith.addi` / `subi`).
    The other conjuncts stay in the region; a region left with none is
    removed with its atom. The mask is unchanged pair by pair.
  }];
}

def AttnCanonicalizeMasks : Pass<"attn-canonicalize-masks"> {
  let summary = "Bring the masks of attn.attention to one canonical form";
  let description = [{
    Rewrites the `masks` array of every `attn.attention` so that equal mask
    sets have one spelling, which the tile classification and the code
    generators then rely on:
    - `#attn.sliding_window<left = -1, right = -1>` keeps every key: dropped;
    - `#attn.sliding_window<left = -1, right = 0, align = a>` is
      `#attn.causal<a>`;
    - nested `#attn.or` are flattened, duplicate members removed, an `or`
      with a keep-everything member dropped and a one-member `or` replaced
      by its member;
    - duplicate atoms are removed (conjunction is idempotent);
    - analytic atoms come first, in a fixed order, then the atoms that read
      operands or regions; an empty array is removed.
  }];
}

def AttnTile : Pass<"attn-tile"> {
  let summary = "Tile attn.attention into FlashAttention loops on buffers";
  let description = [{
    Replaces every `attn.attention` by loops over (batch, query head, query
    tile) on buffers and, inside, a loop over only the kv tiles that the
    mask analysis cannot prove empty, split into partial tiles (masks
    evaluated per element) and full tiles (no mask code). Each kv tile is
    folded into the running softmax state by `attn.tile_update`, whose
    `element` region holds the score modifications, gates and, on partial
    tiles, the masks. Varlen sequences take their offsets and lengths from
    cu_seqlens / seqused; GQA maps query head h to kv head h / (Hq / Hkv).
    With `#attn.block_sparse`, the tiles are the listed blocks and the tile
    sizes are the attribute's.
  }];
  let options = [
    Option<"qTile", "q-tile", "int64_t", /*default=*/"64", "query rows per tile">,
    Option<"kvTile", "kv-tile", "int64_t", /*default=*/"64", "keys per kv tile">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def AttnOnlineSoftmax : Pass<"attn-online-softmax"> {
  let summary = "Lower the online-softmax ops to loops and arithmetic";
  let description = [{
    Expands `attn.softmax_init`, `attn.tile_update` and
    `attn.softmax_finalize` into scf loops over rows, keys and head
    dimensions with f32 arithmetic: S = Q K^T * scale, the element region,
    the running max in log2 units, P = exp2(S log2 e - m'), the rescaled
    running sum and accumulator, the sparse-softmax skip, sinks, and the
    final out = acc / l (0 where l = 0) and lse = (m + log2 l) ln 2 (-inf
    where l = 0).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def AttnScopeLoopAllocas : Pass<"attn-scope-loop-allocas"> {
  let summary = "Release the stack an scf.for body allocates, every iteration";
  let description = [{
    `scf.for` is an automatic allocation scope: a `memref.alloca` in its body
    lives for one iteration. Its lowering to `cf` branches does not keep that
    promise (the allocas end up in a loop of the function's CFG, and the
    stack grows with every iteration until the function returns), and the
    canonicalizer inlines any `memref.alloca_scope` placed directly in a
    loop body. Run before `--convert-scf-to-cf`, this pass brackets the body
    of every `scf.for` that allocas directly (not inside a nested scope)
    with `llvm.intr.stacksave` / `llvm.intr.stackrestore`, so the stack of
    one iteration is released before the next.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // ATTN_TRANSFORMS_PASSES_TD
