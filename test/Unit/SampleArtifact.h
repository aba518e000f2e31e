//===- SampleArtifact.h - a small hand-made kernel artifact -----*- C++ -*-===//
//
// Test-only: the artifact the runtime's unit tests and the artifact fuzzer
// start from (no compiler needed).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_UNIT_SAMPLEARTIFACT_H
#define ATTN_TEST_UNIT_SAMPLEARTIFACT_H

#include "attn/Runtime/Artifact.h"
#include "attn/Runtime/attn_runtime.h"

#include <string>
#include <vector>

namespace attn::runtime::testing {

/// out[B, S, 8, 64] f16 from q (same shape) and an f32 scalar; grid
/// (ceil(S / 64), 8, B); PTX that only names its target.
inline ArtifactDesc sampleArtifact() {
  ArtifactDesc a;
  a.key = "f16.d64.causal.bq64.bk64";
  a.target = "sm_80";
  KernelDesc &k = a.kernels.emplace_back();
  k.entry = "attn_fwd";
  k.block[0] = 128;
  k.dynamicSharedBytes = 64 * 1024;
  // Strides as for memref<?x?x8x64xf16>: the outermost one dynamic.
  ParamDesc q{
      "q", ParamDesc::Tensor, ATTN_DTYPE_F16, {-1, -1, 8, 64}, {-1, 512, 64, 1},
      16};
  ParamDesc out = q;
  out.name = "out";
  ParamDesc scale{"scale", ParamDesc::F32, 0, {}, {}, 0};
  a.params = {q, out, scale};
  k.grid[0] = {0, 1, 64}; // ceil(S / 64)
  k.grid[1] = {-1, 0, 8}; // heads
  k.grid[2] = {0, 0, 1};  // batch
  a.binaryKind = ArtifactDesc::Ptx;
  std::string ptx = ".version 8.0\n.target sm_80\n.address_size 64\n";
  a.binary.assign(ptx.begin(), ptx.end());
  return a;
}

/// `a` serialized and parsed back; false with `error` where it does not
/// parse.
inline bool roundTrip(const ArtifactDesc &a, ArtifactDesc &parsed,
                      std::string &error) {
  std::vector<uint8_t> bytes = serializeArtifact(a);
  return parseArtifact(bytes.data(), bytes.size(), parsed, error);
}

/// attn_kernel_check_args of `args` on a fresh load of `bytes`.
inline attn_status checkArgsOf(const std::vector<attn_arg> &args,
                               const std::vector<uint8_t> &bytes) {
  attn_kernel *raw = nullptr;
  attn_kernel_load(bytes.data(), bytes.size(), &raw);
  attn_status status = attn_kernel_check_args(raw, args.data(), args.size());
  attn_kernel_free(raw);
  return status;
}

} // namespace attn::runtime::testing

#endif // ATTN_TEST_UNIT_SAMPLEARTIFACT_H
