//===- Passes.h - attn passes -----------------------------------*- C++ -*-===//

#ifndef ATTN_TRANSFORMS_PASSES_H
#define ATTN_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::attn {
#define GEN_PASS_DECL
#include "attn/Transforms/Passes.h.inc"

/// Patterns lowering attn.softmax_init, attn.tile_update and
/// attn.softmax_finalize to scf loops and f32 arithmetic.
void populateOnlineSoftmaxPatterns(RewritePatternSet &patterns);

/// Levels 0 -> 1 shared by every backend: a mask_mod's closed-form
/// conjuncts lifted into atoms, canonical masks, then every defaulted
/// attribute written out.
void buildAttnFrontendPipeline(OpPassManager &pm);

#define GEN_PASS_REGISTRATION
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

#endif // ATTN_TRANSFORMS_PASSES_H
