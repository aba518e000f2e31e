//===- TensorMaps.cpp - sm90a: TMA copies of Q/K/V tiles ------------------===//

#include "TensorMaps.h"
#include "Wgmma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace mlir::attn;

std::string sm90::tensorMapsReason(AttentionOp op) {
  if (op.isVarlen())
    return "a varlen tensor's tiles run into the next sequence (cp.async "
           "zero-fills them)";
  if (op.isPagedKv())
    return "a paged cache's tiles gather pages";
  if (op.getSequsedQ() || op.getSequsedK())
    return "rows past seqused may hold anything (cp.async zero-fills them)";
  if (op.hasFp8Kv())
    return "f8E4M3FN k/v are converted between copy and MMA";
  return "";
}

TensorMapAttr sm90::tileTensorMap(AttentionOp op, int64_t source, int64_t rows,
                                  int64_t dim) {
  // Dense layouts: [B, S, H, D] (rows in dimension 1) or [B, H, S, D].
  int64_t rowDim = op.getLayout() == Layout::bhsd ? 2 : 1;
  SmallVector<int64_t> box(4, 1);
  box[rowDim] = rows;
  SwizzleLayout layout = SwizzleLayout::forDim(dim);
  box.back() = layout.columns;
  MLIRContext *context = op.getContext();
  return TensorMapAttr::get(
      context, source, DenseI64ArrayAttr::get(context, box), layout.rowBytes());
}

void sm90::expectBytes(OpBuilder &b, Location loc, Value barrier,
                       int64_t bytes) {
  Value count = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(bytes));
  NVVM::MBarrierArriveExpectTxOp::create(
      b, loc, Type(), barrier, count,
      NVVM::MemScopeKindAttr::get(b.getContext(), NVVM::MemScopeKind::CTA),
      /*relaxed=*/b.getBoolAttr(false), /*predicate=*/Value());
}

void sm90::copyBox(OpBuilder &b, Location loc, Value map, Value dst,
                   Value barrier, ArrayRef<Value> indices) {
  // The CTA's shared address as a shared::cluster one (this CTA's window):
  // the copy's destination state space on PTX ISA 8.0.
  Value word = arith::IndexCastOp::create(b, loc, b.getI64Type(), dst);
  Value shared = LLVM::IntToPtrOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext(), 3), word);
  Value cluster = LLVM::AddrSpaceCastOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext(), 7), shared);
  // Coordinates innermost first, signed 32-bit (a negative row lies
  // outside the tensor: zero-filled).
  SmallVector<Value> coordinates;
  for (Value index : llvm::reverse(indices))
    coordinates.push_back(
        arith::IndexCastOp::create(b, loc, b.getI32Type(), index));
  NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
      b, loc, cluster, map, coordinates, barrier,
      /*im2colOffsets=*/ValueRange{},
      /*multicastMask=*/Value(), /*l2CacheHint=*/Value(),
      NVVM::TMALoadMode::TILE, /*isCTAOnly=*/false, /*group=*/nullptr,
      /*predicate=*/Value());
}
