//===- AttnAttrs.h - attn attributes ----------------------------*- C++ -*-===//

#ifndef ATTN_IR_ATTNATTRS_H
#define ATTN_IR_ATTNATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "attn/IR/AttnEnums.h.inc"

#include "attn/IR/AttnAttrInterfaces.h.inc"

namespace mlir::attn {
/// Parses a float literal into an f64 FloatAttr (attribute parameters).
FailureOr<FloatAttr> parseFloatParameter(AsmParser &parser);
/// Prints an attribute parameter parsed by parseFloatParameter.
void printFloatParameter(AsmPrinter &printer, FloatAttr value);
/// Parses the keyword `true` or `false` (attribute parameters).
FailureOr<bool> parseBoolParameter(AsmParser &parser);
} // namespace mlir::attn

#define GET_ATTRDEF_CLASSES
#include "attn/IR/AttnAttrs.h.inc"

#endif // ATTN_IR_ATTNATTRS_H
