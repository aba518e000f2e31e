//===- AttnDialect.td - The attn dialect -------------------*- tablegen -*-===//
//
// The `attn` dialect: one attention operation whose masks, score
// modifications and sparsity are attributes, lowered level by level to
// FlashAttention-style loops and then to CPU or GPU code.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_IR_ATTNDIALECT_TD
#define ATTN_IR_ATTNDIALECT_TD

include "mlir/IR/OpBase.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let cppNamespace = "::mlir::attn";
  let summary = "Attention with masks, score modifications and sparsity";
  let description = [{
    The `attn` dialect describes scaled-dot-product attention as a single
    operation, `attn.attention`, whose masks, score modifications and
    sparsity patterns are attributes (plus FlexAttention-style regions for
    arbitrary `mask_mod` / `score_mod` functions). Everything the kernel
    generator must know at compile time is in the IR; everything that may
    change between calls (sequence lengths, batch size, document ids, masks
    given as tensors) is an operand.
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Registers the attributes generated from AttnAttrs.td.
    void registerAttributes();
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // ATTN_IR_ATTNDIALECT_TD
