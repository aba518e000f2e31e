//===- TestPasses.h - attn test-only passes ---------------------*- C++ -*-===//

#ifndef ATTN_TEST_LIB_TRANSFORMS_TESTPASSES_H
#define ATTN_TEST_LIB_TRANSFORMS_TESTPASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::attn::test {
#define GEN_PASS_DECL
#include "Transforms/TestPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "Transforms/TestPasses.h.inc"
} // namespace mlir::attn::test

#endif // ATTN_TEST_LIB_TRANSFORMS_TESTPASSES_H
