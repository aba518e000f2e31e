//===- AttnInterfaces.td - Mask and score-mod interfaces ---*- tablegen -*-===//

#ifndef ATTN_IR_ATTNINTERFACES_TD
#define ATTN_IR_ATTNINTERFACES_TD

include "mlir/IR/OpBase.td"

def Attn_MaskAttrInterface : AttrInterface<"MaskAttrInterface"> {
  let cppNamespace = "::mlir::attn";
  let description = [{
    A mask atom of `attn.attention`: a predicate keep(b, h, i, j) over the
    batch, query head, query index and key index. The atoms listed in the
    op's `masks` array compose by conjunction; `#attn.or` composes its
    members by disjunction.
  }];
  let methods = [
    InterfaceMethod<
      /*desc=*/[{Whether the atom is a closed-form function of (i, j) and the
                 sequence lengths, so that a (q-tile, kv-tile) pair can be
                 classified as empty, full or partial without reading any
                 operand or running any region.}],
      /*retTy=*/"bool", /*methodName=*/"isAnalytic", /*args=*/(ins)>,
  ];
}

def Attn_ScoreModAttrInterface : AttrInterface<"ScoreModAttrInterface"> {
  let cppNamespace = "::mlir::attn";
  let description = [{
    A score modification of `attn.attention`: a function
    s' = f(s, b, h, i, j) applied to the scaled score. The mods listed in the
    op's `score_mods` array apply in order.
  }];
}

#endif // ATTN_IR_ATTNINTERFACES_TD
