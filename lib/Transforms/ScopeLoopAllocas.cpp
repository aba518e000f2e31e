//===- ScopeLoopAllocas.cpp - per-iteration stack for scf.for bodies ------===//
//
// The tiled CPU code keeps each tile's softmax state and each row's scores on
// the stack, allocated inside the tile loops. scf.for promises that such an
// alloca lives for one iteration, but scf-to-cf does not release it, so
// without this pass the stack grows by the tile state every iteration (8 MiB,
// the whole default stack, at 32 heads x 512 rows x d128).
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNSCOPELOOPALLOCAS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

namespace {
/// Whether `body` allocas on the stack outside any nested allocation scope
/// (nested loops and scopes release their own).
bool allocasDirectly(Block &body) {
  for (Operation &op : body) {
    bool found = op.walk<WalkOrder::PreOrder>([](Operation *nested) {
                     if (isa<memref::AllocaOp>(nested))
                       return WalkResult::interrupt();
                     if (nested->hasTrait<OpTrait::AutomaticAllocationScope>())
                       return WalkResult::skip();
                     return WalkResult::advance();
                   }).wasInterrupted();
    if (found)
      return true;
  }
  return false;
}

/// body { ops; scf.yield } -> body { %sp = llvm.intr.stacksave; ops;
/// llvm.intr.stackrestore %sp; scf.yield }. (A memref.alloca_scope would say
/// the same, but its region must stay one block, which scf-to-cf breaks when
/// it lowers the loops inside.)
void releaseEachIteration(scf::ForOp loop) {
  Block *body = loop.getBody();
  OpBuilder builder(loop.getContext());
  builder.setInsertionPointToStart(body);
  Value saved = LLVM::StackSaveOp::create(
      builder, loop.getLoc(), LLVM::LLVMPointerType::get(loop.getContext()));
  builder.setInsertionPoint(body->getTerminator());
  LLVM::StackRestoreOp::create(builder, loop.getLoc(), saved);
}

/// Whether the loop hands a value of this iteration's stack to the next one
/// or to its users (then releasing the stack would be wrong).
bool yieldsMemRefs(scf::ForOp loop) {
  return llvm::any_of(loop.getResultTypes(),
                      [](Type t) { return isa<BaseMemRefType>(t); });
}

struct ScopeLoopAllocasPass
    : public attn::impl::AttnScopeLoopAllocasBase<ScopeLoopAllocasPass> {
  void runOnOperation() override {
    SmallVector<scf::ForOp> loops;
    getOperation()->walk([&](scf::ForOp loop) {
      if (allocasDirectly(*loop.getBody()) && !yieldsMemRefs(loop))
        loops.push_back(loop);
    });
    for (scf::ForOp loop : loops)
      releaseEachIteration(loop);
  }
};
} // namespace
