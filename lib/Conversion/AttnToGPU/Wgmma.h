//===- Wgmma.h - Hopper warpgroup MMA from shared memory ---------*- C++
//-*-===//
//
// The sm90a strategy's tensor-core GEMMs: wgmma.mma_async m64nNk16 (f32
// accumulators, f16/bf16 operands) on one warpgroup (4 warps, 64 rows),
// B always in shared memory, A in shared memory (S = Q K^T) or in
// registers (O += P V, P straight from the softmax).
//
// Shared-memory tiles are swizzled panels (SwizzleLayout): a tile of R rows
// and D columns is D / C panels of R x C halves (C = 64, 32 or 16: the 128-,
// 64- or 32-byte swizzle, the widest that divides D), each row 2C bytes,
// 16-byte chunk c of row r stored at chunk c ^ ((r / (64 / C)) mod (C / 8))
// (the XOR of address bits 4.. with bits 7..); panels start 1024-byte
// aligned. TMA's SWIZZLE_128B/64B/32B write the same layouts.
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

/// Rows of one warpgroup's wgmma tile.
constexpr int64_t kWarpgroupRows = 64;

/// The mbarriers of a kernel with `stages` K/V stages: with a producer
/// warpgroup, a "full" and an "empty" one per stage (Sm90WarpSpecialized.cpp),
/// and a "landed" one per stage where the producer rewrites the TMA-copied
/// tiles before it publishes them (#attn.rope); else none.
inline int64_t mbarrierCount(int64_t stages, bool producer,
                             bool rewritesLanded) {
  return producer ? (rewritesLanded ? 3 : 2) * stages : 0;
}

/// The swizzled panel layout of a tile whose rows hold `dim` halves.
struct SwizzleLayout {
  /// Halves per panel row: 64, 32 or 16 (the widest dividing the dim).
  int64_t columns;

  static SwizzleLayout forDim(int64_t dim) {
    return {dim % 64 == 0 ? 64 : dim % 32 == 0 ? 32 : 16};
  }
  int64_t rowBytes() const { return 2 * columns; }
  /// Bytes of 8 rows: the stride-dimension offset of a K-major operand.
  int64_t atomBytes() const { return 8 * rowBytes(); }
  /// The descriptor's swizzle mode: 1 (128 B), 2 (64 B), 3 (32 B).
  int64_t mode() const { return columns == 64 ? 1 : columns == 32 ? 2 : 3; }
};

/// Whether the sm90a epilogue stages the output tile in the Q tile's shared
/// memory and writes it 16 bytes at a time: where both share one panel
/// width and the output is no wider, each warp's output rows lie in its own
/// rows of Q, which only its warpgroup's GEMMs read (all done by then).
inline bool outputFitsQTile(int64_t headDim, int64_t headDimV) {
  return headDimV <= headDim && SwizzleLayout::forDim(headDimV).columns ==
                                    SwizzleLayout::forDim(headDim).columns;
}

/// Where the sm90a kernel's tiles lie in dynamic shared memory (bytes from
/// the 1024-aligned base): Q, then `stages` K tiles, then `stages` V tiles,
/// each region 1024-aligned, then `mbarriers` 8-byte mbarriers; `total`
/// includes the 1024 bytes of slack the base is rounded up with.
struct SharedTiles {
  int64_t q = 0, k = 0, v = 0, barriers = 0, total = 0;
};
SharedTiles sharedTiles(int64_t blockQ, int64_t blockK, int64_t stages,
                        int64_t headDim, int64_t headDimV,
                        int64_t mbarriers = 0);

/// The element offset of (row, col) in a swizzled tile of `rows` rows.
Value swizzledOffset(OpBuilder &b, Location loc, Value row, Value col,
                     int64_t rows, SwizzleLayout layout);

/// The shared-memory matrix descriptor of the operand starting at shared
/// address `address` (bytes, index-typed) in `layout`: `leading` and
/// `stride` are the leading- and stride-dimension byte offsets.
Value smemDescriptor(OpBuilder &b, Location loc, Value address, int64_t leading,
                     int64_t stride, SwizzleLayout layout);

/// The descriptor of the operand `bytes` (a multiple of 16) past the one of
/// `descriptor`, in the same layout: one add to the address field (a
/// shared address stays below 2^18, so the 14-bit field cannot carry).
Value advanceDescriptor(OpBuilder &b, Location loc, Value descriptor,
                        int64_t bytes);

/// The operands of one warpgroup GEMM D (+)= A B, one entry of `a` and `b`
/// per k-step of 16.
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
