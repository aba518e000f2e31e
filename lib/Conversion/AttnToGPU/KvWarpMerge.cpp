//===- KvWarpMerge.cpp - decode: merging the kv warps' softmax states ----===//
//
// With kv_warps > 1 every query row is held by that many warps, each over
// its own keys of every tile, so each ends with its own online-softmax
// state (m, l, O) of rows g and g + 8 (m in the log2 domain, O relative to
// 2^m, l a partial row sum per lane). They combine as split-KV's partial
// results do, without normalising first:
//
//   M = max_w m_w,   l = sum_w l_w 2^(m_w - M),   O = sum_w O_w 2^(m_w - M)
//
// A warp that kept no key has m = -FLT_MAX, l = 0, O = 0 and adds nothing
// (2^(-FLT_MAX - M) = 0; if every warp kept none, M = -FLT_MAX and the
// factors are 1 on zeros). Lane j of every kv warp of one row warp holds
// the same rows and columns, so each lane hands its registers to lane j of
// kv warp 0 of its row warp through shared memory, slot-major ([kv warp -
// 1][row warp][slot][lane]: one 128-byte row per slot, conflict-free),
// after the last copies landed and every warp left the tiles.
//
//===----------------------------------------------------------------------===//

#include "Sm80KernelBuilder.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::sm80;

SmallVector<Value> KernelBuilder::mergeKvWarps(ArrayRef<Value> state,
                                               Value lastGroup) {
  SmallVector<int64_t, 4> shape = kvWarpScratchShape(config, headDimV);
  int64_t slots = shape[2];
  // The trailing prefetches (zero-filled stages past the schedule) still
  // write the tiles the scratch overlaps: wait for them, then for every
  // warp.
  nvgpu::DeviceAsyncWaitOp::create(b, loc, lastGroup, b.getI32IntegerAttr(0));
  gpu::BarrierOp::create(b, loc);
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto scratchType =
      MemRefType::get(shape, f32, MemRefLayoutAttrInterface{}, workgroup);
  Value scratch = memref::ViewOp::create(b, loc, scratchType, sharedBase,
                                         index(0), ValueRange{});

  // The state as `slots` floats: m0, m1, l0, l1, then O's fragments.
  int64_t outAt = 4;
  auto flatten = [&](ArrayRef<Value> s) {
    SmallVector<Value> floats(s.take_front(outAt));
    for (int64_t nd = 0; nd < headDimV / 8; ++nd)
      for (int x = 0; x < 2; ++x)
        for (int y = 0; y < 2; ++y)
          floats.push_back(extract(s[outAt + nd], x, y));
    return floats;
  };
  SmallVector<Value> mine = flatten(state);
  auto writer = scf::IfOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, kvWarp, index(0)),
      /*withElseRegion=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(writer.thenBlock());
    Value slotBase = arith::SubIOp::create(b, loc, kvWarp, index(1));
    for (int64_t i = 0; i < slots; ++i)
      memref::StoreOp::create(b, loc, mine[i], scratch,
                              ValueRange{slotBase, warp, index(i), lane});
  }
  gpu::BarrierOp::create(b, loc);

  // Kv warp 0 (the others compute the same and discard it): fold in the
  // states of kv warps 1.. one at a time.
  SmallVector<Value> merged = mine;
  for (int64_t w = 1; w < kvWarps; ++w) {
    SmallVector<Value> other;
    for (int64_t i = 0; i < slots; ++i)
      other.push_back(memref::LoadOp::create(
          b, loc, scratch, ValueRange{index(w - 1), warp, index(i), lane}));
    Value scale[2], scaleOther[2];
    for (int x = 0; x < 2; ++x) {
      Value m = arith::MaximumFOp::create(b, loc, merged[x], other[x]);
      scale[x] = exp2(arith::SubFOp::create(b, loc, merged[x], m));
      scaleOther[x] = exp2(arith::SubFOp::create(b, loc, other[x], m));
      merged[x] = m;
      merged[2 + x] = arith::AddFOp::create(
          b, loc, arith::MulFOp::create(b, loc, merged[2 + x], scale[x]),
          arith::MulFOp::create(b, loc, other[2 + x], scaleOther[x]));
    }
    for (int64_t i = outAt; i < slots; ++i) {
      int x = ((i - outAt) / 2) % 2; // fragment order (x, y): row g or g + 8
      merged[i] = arith::AddFOp::create(
          b, loc, arith::MulFOp::create(b, loc, merged[i], scale[x]),
          arith::MulFOp::create(b, loc, other[i], scaleOther[x]));
    }
  }

  // Back into (m0, m1, l0, l1, O fragments).
  SmallVector<Value> result(ArrayRef<Value>(merged).take_front(outAt));
  auto accType = VectorType::get({2, 2}, f32);
  for (int64_t nd = 0; nd < headDimV / 8; ++nd) {
    Value acc = arith::ConstantOp::create(
        b, loc, accType, DenseElementsAttr::get(accType, 0.0f));
    for (int x = 0; x < 2; ++x)
      for (int y = 0; y < 2; ++y)
        acc =
            vector::InsertOp::create(b, loc, merged[outAt + 4 * nd + 2 * x + y],
                                     acc, ArrayRef<int64_t>{x, y});
    result.push_back(acc);
  }
  return result;
}
