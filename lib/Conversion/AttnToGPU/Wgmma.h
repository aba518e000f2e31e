//===- Wgmma.h - Hopper warpgroup MMA from shared memory ---------*- C++
//-*-===//
//
// The sm90a strategy's tensor-core GEMMs: wgmma.mma_async m64nNk16 (f32
// accumulators, f16/bf16 operands) on one warpgroup (4 warps, 64 rows),
// B always in shared memory, A in shared memory (S = Q K^T) or in
// registers (O += P V, P straight from the softmax).
//
// Shared-memory tiles use the 128-byte swizzle: a tile of R rows and D
// columns (D a multiple of 64 halves) is D / 64 panels of R x 64, each row
// 128 bytes, 16-byte chunk c of row r stored at chunk c ^ (r mod 8); panels
// start 1024-byte aligned (the swizzle reads address bits 4-6 and 7-9).
// TMA's SWIZZLE_128B writes the same layout.
//
// Why inline PTX: MLIR 22's nvvm.wgmma.mma_async takes A only from shared
// memory (llvm-project issue 133733), and one asm block holding the fence,
// the k-steps, the commit and the wait keeps other code from writing the
// accumulators between issue and wait (ptxas would serialize: C7515).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOGPU_WGMMA_H
#define ATTN_LIB_CONVERSION_ATTNTOGPU_WGMMA_H

#include "mlir/IR/Builders.h"

namespace mlir::attn::sm90 {

/// Columns (halves) of one 128-byte swizzle panel.
constexpr int64_t kPanelColumns = 64;
/// Rows of one warpgroup's wgmma tile.
constexpr int64_t kWarpgroupRows = 64;

/// The element offset of (row, col) in a swizzled tile of `rows` rows.
Value swizzledOffset(OpBuilder &b, Location loc, Value row, Value col,
                     int64_t rows);

/// The shared-memory matrix descriptor (128-byte swizzle) of the operand
/// starting at shared address `address` (bytes, index-typed): `leading`
/// and `stride` are the leading- and stride-dimension byte offsets.
Value smemDescriptor(OpBuilder &b, Location loc, Value address, int64_t leading,
                     int64_t stride);

/// The operands of one warpgroup GEMM D (+)= A B over `steps` k-steps of 16.
struct WgmmaGemm {
  /// N: columns of B and D (a multiple of 8, at most 256).
  int64_t n = 0;
  /// f16 or bf16.
  Type elementType;
  /// A per k-step: one descriptor (i64), or four i32 registers (two halves
  /// each, the m16n8k16 A fragment of each warp's 16 rows).
  SmallVector<SmallVector<Value>> a;
  /// B descriptor per k-step.
  SmallVector<Value> b;
  /// B is N-major (columns contiguous: V as stored) rather than K-major.
  bool bTransposed = false;
  /// The accumulators to add to (n / 2 f32 per thread), or empty: D = A B.
  SmallVector<Value> acc;
};

/// Issues the GEMM as one committed wgmma group, and waits for it when
/// `wait`; returns the n / 2 f32 accumulators of this thread: value
/// 4 i + 2 x + y is row g + 8 x, column 8 i + 2 q + y of the warp's 16 rows
/// (g = lane / 4, q = lane mod 4), as mma.sync m16n8. Without the wait, read
/// them only through emitWgmmaWait.
SmallVector<Value> emitWgmma(OpBuilder &b, Location loc, const WgmmaGemm &gemm,
                             bool wait = true);

/// wgmma.wait_group `pending`: returns `accumulators` as redefined after
/// the wait (tied through the asm), so that nothing reads them earlier.
SmallVector<Value> emitWgmmaWait(OpBuilder &b, Location loc, int64_t pending,
                                 ArrayRef<Value> accumulators);

} // namespace mlir::attn::sm90

#endif // ATTN_LIB_CONVERSION_ATTNTOGPU_WGMMA_H
