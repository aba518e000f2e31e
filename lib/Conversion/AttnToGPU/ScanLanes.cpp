//===- ScanLanes.cpp - a document scan's lanes in a warp ------------------===//
//
// DocumentKeys.h's scan is spread over lanes that combine partial results.
// Within a warp they combine by xor shuffles (offsets 16, 8, 4, 2, 1), after
// which every lane holds the reduction; a CTA-wide scan (Sm80Schedule.cpp)
// stages each warp's result in shared memory after that.
//
//===----------------------------------------------------------------------===//

#include "KernelStrategy.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::attn;

namespace {
constexpr int64_t kWarpLanes = 32;
} // namespace

Value mlir::attn::scanReduce(OpBuilder &b, Location loc, Value x, Value y,
                             ScanLanes::Reduce kind) {
  switch (kind) {
  case ScanLanes::Reduce::min:
    return arith::MinSIOp::create(b, loc, x, y);
  case ScanLanes::Reduce::max:
    return arith::MaxSIOp::create(b, loc, x, y);
  case ScanLanes::Reduce::add:
    return arith::AddIOp::create(b, loc, x, y);
  }
  llvm_unreachable("unknown reduction");
}

Value mlir::attn::warpReduce(OpBuilder &b, Location loc, Value value,
                             ScanLanes::Reduce kind) {
  for (int64_t offset = kWarpLanes / 2; offset > 0; offset /= 2)
    value = scanReduce(b, loc, value,
                       gpu::ShuffleOp::create(b, loc, value, offset, kWarpLanes,
                                              gpu::ShuffleMode::XOR)
                           .getShuffleResult(),
                       kind);
  return value;
}

ScanLanes mlir::attn::warpScanLanes(OpBuilder &b, Location loc,
                                    Value threadId) {
  ScanLanes lanes;
  lanes.lanes = kWarpLanes;
  lanes.lane = arith::RemUIOp::create(
      b, loc, threadId, arith::ConstantIndexOp::create(b, loc, kWarpLanes));
  lanes.loadsInFlight = 8;
  lanes.combine = [&b, loc](ValueRange values,
                            ArrayRef<ScanLanes::Reduce> kinds) {
    SmallVector<Value> reduced;
    for (auto [v, kind] : llvm::zip(values, kinds))
      reduced.push_back(warpReduce(b, loc, v, kind));
    return reduced;
  };
  return lanes;
}
