//===- CpuApiTest.cpp - the CPU backend's error paths ---------------------===//
//
// Every bad input to CompiledAttention gets an error that says what is
// wrong, never a crash: unparsable or invalid IR, functions of the wrong
// shape, and buffers that disagree with the compiled function.
//
//===----------------------------------------------------------------------===//

#include "attn/CPU/CpuAttention.h"

#include <gtest/gtest.h>

#include <vector>

using namespace mlir::attn::cpu;

namespace {
const char *kAttention = R"(
func.func @attention(%q: tensor<1x?x2x8xf32>, %k: tensor<1x?x2x8xf32>, %v: tensor<1x?x2x8xf32>) -> tensor<1x?x2x8xf32> {
  %o = attn.attention %q, %k, %v {masks = [#attn.causal<top_left>]} : tensor<1x?x2x8xf32>, tensor<1x?x2x8xf32>, tensor<1x?x2x8xf32> -> tensor<1x?x2x8xf32>
  return %o : tensor<1x?x2x8xf32>
}
)";

std::string compileError(const std::string &source) {
  auto compiled = CompiledAttention::compile(source);
  if (compiled)
    return "";
  return llvm::toString(compiled.takeError());
}

TEST(CpuApi, ParseErrorIsReported) {
  std::string error = compileError("func.func @f( {");
  EXPECT_NE(error.find("cannot parse"), std::string::npos) << error;
}

TEST(CpuApi, VerifierDiagnosticIsReported) {
  std::string error = compileError(R"(
func.func @f(%q: tensor<1x4x2x12xf32>) -> tensor<1x4x2x12xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x4x2x12xf32>, tensor<1x4x2x12xf32>, tensor<1x4x2x12xf32> -> tensor<1x4x2x12xf32>
  return %o : tensor<1x4x2x12xf32>
})");
  EXPECT_NE(error.find("head_dim must be a multiple of 8"), std::string::npos)
      << error;
}

TEST(CpuApi, NonTensorArgumentIsRejected) {
  std::string error = compileError(R"(
func.func @f(%x: f32) -> f32 {
  return %x : f32
})");
  EXPECT_NE(error.find("must be ranked tensors"), std::string::npos) << error;
}

TEST(CpuApi, TwoFunctionsAreRejected) {
  std::string error =
      compileError(std::string(kAttention) + "func.func @g() { return }");
  EXPECT_NE(error.find("exactly one function"), std::string::npos) << error;
}

class CpuApiRun : public ::testing::Test {
protected:
  void SetUp() override {
    auto result = CompiledAttention::compile(kAttention);
    ASSERT_TRUE(static_cast<bool>(result))
        << llvm::toString(result.takeError());
    compiled = std::move(*result);
    data.assign(1 * 5 * 2 * 8, 0.25f);
    out.assign(data.size(), -1.0f);
  }
  HostBuffer buffer(std::vector<float> &storage) {
    return HostBuffer{storage.data(), ElementType::F32, {1, 5, 2, 8}};
  }
  std::string runError(std::vector<HostBuffer> args,
                       std::vector<HostBuffer> results) {
    llvm::Error error = compiled->run(args, results);
    return error ? llvm::toString(std::move(error)) : "";
  }
  std::unique_ptr<CompiledAttention> compiled;
  std::vector<float> data, out;
};

TEST_F(CpuApiRun, RunsAndWritesEveryOutput) {
  EXPECT_EQ(runError({buffer(data), buffer(data), buffer(data)}, {buffer(out)}),
            "");
  // Equal keys and values of 0.25: every kept average is 0.25.
  for (float value : out)
    EXPECT_FLOAT_EQ(value, 0.25f);
}

TEST_F(CpuApiRun, WrongArgumentCount) {
  std::string error = runError({buffer(data), buffer(data)}, {buffer(out)});
  EXPECT_NE(error.find("expected 3 arguments and 1 results, got 2 and 1"),
            std::string::npos)
      << error;
}

TEST_F(CpuApiRun, NullPointer) {
  HostBuffer null = buffer(data);
  null.data = nullptr;
  std::string error =
      runError({buffer(data), null, buffer(data)}, {buffer(out)});
  EXPECT_NE(error.find("argument 1 has a null data pointer"), std::string::npos)
      << error;
}

TEST_F(CpuApiRun, WrongElementType) {
  HostBuffer half = buffer(data);
  half.type = ElementType::F16;
  std::string error =
      runError({half, buffer(data), buffer(data)}, {buffer(out)});
  EXPECT_NE(error.find("argument 0 must hold f32 elements, got f16"),
            std::string::npos)
      << error;
}

TEST_F(CpuApiRun, WrongRank) {
  HostBuffer flat = buffer(data);
  flat.shape = {80};
  std::string error =
      runError({buffer(data), buffer(data), buffer(data)}, {flat});
  EXPECT_NE(error.find("result 0 must have rank 4, got 1"), std::string::npos)
      << error;
}

TEST_F(CpuApiRun, WrongStaticSize) {
  HostBuffer wrong = buffer(data);
  wrong.shape = {1, 5, 1, 16};
  std::string error =
      runError({buffer(data), wrong, buffer(data)}, {buffer(out)});
  EXPECT_NE(error.find("argument 1 dimension 2 must be 2, got 1"),
            std::string::npos)
      << error;
}

TEST_F(CpuApiRun, DynamicSizesMustAgree) {
  // k and v have 5 rows, q and out 4: fine; v with 3 rows while k has 5
  // would read past v.
  std::vector<float> small(1 * 3 * 2 * 8, 0.5f);
  HostBuffer shortV{small.data(), ElementType::F32, {1, 3, 2, 8}};
  std::string error =
      runError({buffer(data), buffer(data), shortV}, {buffer(out)});
  EXPECT_NE(error.find("argument 2 dimension 1 (3) must equal argument 1 "
                       "dimension 1 (5)"),
            std::string::npos)
      << error;
}

TEST_F(CpuApiRun, NegativeSize) {
  HostBuffer wrong = buffer(data);
  wrong.shape = {1, -5, 2, 8};
  std::string error =
      runError({wrong, buffer(data), buffer(data)}, {buffer(out)});
  EXPECT_NE(error.find("argument 0 dimension 1 must be >= 0, got -5"),
            std::string::npos)
      << error;
}
} // namespace
