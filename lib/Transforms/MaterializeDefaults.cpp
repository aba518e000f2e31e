//===- MaterializeDefaults.cpp - explicit attn.attention defaults ---------===//

#include "attn/IR/AttnOps.h"
#include "attn/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNMATERIALIZEDEFAULTS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
struct MaterializeDefaultsPass
    : public attn::impl::AttnMaterializeDefaultsBase<MaterializeDefaultsPass> {
  void runOnOperation() override {
    getOperation()->walk([](AttentionOp op) {
      Builder builder(op.getContext());
      if (!op.getScaleAttr())
        op.setScaleAttr(builder.getF32FloatAttr(op.getEffectiveScale()));
      if (ArrayAttr masks = op.getMasksAttr(); masks && masks.empty())
        op.removeMasksAttr();
      if (ArrayAttr mods = op.getScoreModsAttr(); mods && mods.empty())
        op.removeScoreModsAttr();
    });
  }
};
} // namespace

void mlir::attn::buildAttnFrontendPipeline(OpPassManager &pm) {
  pm.addPass(createAttnLiftMaskMods());
  pm.addPass(createAttnCanonicalizeMasks());
  pm.addPass(createAttnMaterializeDefaults());
}
