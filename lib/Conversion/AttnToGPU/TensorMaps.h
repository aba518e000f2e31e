//===- TensorMaps.h - sm90a: TMA copies of Q/K/V tiles ----------*- C++ -*-===//
//
// With a producer warpgroup, one of its threads can copy whole Q, K and V
// tiles with TMA (cp.async.bulk.tensor) instead of 128 threads issuing
// 16-byte cp.async copies and their address arithmetic. Each copy reads a
// tensor map the runtime encodes from the tensor at launch
// (#attn.tensor_map: a kernel argument passed by value) and moves one
// swizzle panel of a tile (rows x 64, 32 or 16 halves: Wgmma.h's layout,
// which TMA's 128-, 64- and 32-byte swizzles write), completing on the
// stage's mbarrier with the bytes it moved (mbarrier::complete_tx). Rows
// outside the tensor are zero-filled: a tile past a sequence's end and the
// zero V slot of step 0 (copied from row -block_k) need no other code.
//
// Why only dense tensors without seqused: TMA zero-fills outside the
// tensor, not outside a sequence. cp.async zero-fills the rows past each
// sequence's keys, where a varlen tensor holds the next sequence, a paged
// one other pages and a cache with seqused anything (not-yet-written rows
// may hold NaN, and P = 0 times NaN is NaN).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOGPU_TENSORMAPS_H
#define ATTN_LIB_CONVERSION_ATTNTOGPU_TENSORMAPS_H

#include "attn/IR/AttnOps.h"

#include "mlir/IR/Builders.h"

#include <string>

namespace mlir::attn::sm90 {

/// Why `op`'s Q/K/V tiles cannot be copied with TMA, or "".
std::string tensorMapsReason(AttentionOp op);

/// Whether a kernel of `config` has its producer warpgroup rotate the
/// TMA-copied Q/K tiles (#attn.rope) before publishing them: a third
/// ("landed") mbarrier per stage, 128 publishers per full barrier.
inline bool producerRotatesTiles(AttentionOp op, LoweringConfigAttr config) {
  return config.getTma() && op.getRopeAttr();
}

/// The tensor map of one Q/K/V tile panel: `rows` tokens of one head (and
/// batch) by the swizzle panel of a `dim`-column tile, in the order of the
/// tensor's dimensions; the swizzle in bytes.
TensorMapAttr tileTensorMap(AttentionOp op, int64_t source, int64_t rows,
                            int64_t dim);

/// Arrives on `barrier` (an mbarrier in shared memory) expecting `bytes`
/// more bytes of copies before its phase completes.
void expectBytes(OpBuilder &b, Location loc, Value barrier, int64_t bytes);

/// Copies the box of tensor map `map` at `indices` (the tensor's own
/// dimension order, index-typed) to the shared byte address `dst`
/// (index-typed), completing on `barrier`.
void copyBox(OpBuilder &b, Location loc, Value map, Value dst, Value barrier,
             ArrayRef<Value> indices);

} // namespace mlir::attn::sm90

#endif // ATTN_LIB_CONVERSION_ATTNTOGPU_TENSORMAPS_H
