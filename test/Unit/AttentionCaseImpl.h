//===- AttentionCaseImpl.h - the state of one AttentionCase --*- C++ -*-===//
//
// Test support: the host tensors and the state of one AttentionCase, shared
// by AttentionCase.cpp (shapes, IR, the comparison with the oracle) and
// AttentionCaseFeatures.cpp (masks, score mods, sparsity, rope, fp8 KV).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_UNIT_ATTENTIONCASEIMPL_H
#define ATTN_TEST_UNIT_ATTENTIONCASEIMPL_H

#include "AttentionCase.h"

#include "attn/Runtime/HalfFloat.hpp"

#include "llvm/ADT/APFloat.h"

#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace attn_test {
using mlir::attn::cpu::ElementType;
using mlir::attn::cpu::HostBuffer;

inline size_t byteWidth(ElementType type) {
  switch (type) {
  case ElementType::F16:
  case ElementType::BF16:
    return 2;
  case ElementType::F32:
  case ElementType::I32:
    return 4;
  case ElementType::I64:
    return 8;
  case ElementType::I1:
  case ElementType::I8:
  case ElementType::F8E4M3:
    return 1;
  }
  return 1;
}

/// The position of each optional operand clause in the op's syntax.
inline const std::vector<std::string> kClauseOrder = {
    "cu_seqlens_q",    "cu_seqlens_k", "seqused_q",
    "seqused_k",       "doc_ids_q",    "doc_ids_kv",
    "custom_mask",     "alibi_slopes", "bias",
    "kv_num_blocks",   "kv_indices",   "full_kv_num_blocks",
    "full_kv_indices", "sinks",        "gate_alpha",
    "gate_delta",      "k_scale",      "v_scale"};

/// The nearest f8E4M3FN value of `value` (ties to even), as its byte.
inline uint8_t toE4M3(float value) {
  llvm::APFloat x(value);
  bool lost;
  x.convert(llvm::APFloat::Float8E4M3FN(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return uint8_t(x.bitcastToAPInt().getZExtValue());
}

/// The value of an f8E4M3FN byte.
inline float fromE4M3(uint8_t bits) {
  llvm::APFloat x(llvm::APFloat::Float8E4M3FN(), llvm::APInt(8, bits));
  bool lost;
  x.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return x.convertToFloat();
}

/// A host tensor with its storage and its MLIR type text.
struct Tensor {
  ElementType type = ElementType::F32;
  std::vector<int64_t> shape;
  std::string typeText; // with '?' where the IR leaves a size dynamic
  std::vector<uint8_t> bytes;

  int64_t count() const {
    int64_t n = 1;
    for (int64_t s : shape)
      n *= s;
    return n;
  }
  void allocate() { bytes.assign(count() * byteWidth(type), 0); }
  HostBuffer buffer() { return HostBuffer{bytes.data(), type, shape}; }
  template <typename T> T *as() { return reinterpret_cast<T *>(bytes.data()); }
};

inline std::string tensorType(const std::vector<std::string> &dims,
                              ElementType type) {
  std::string text = "tensor<";
  for (const std::string &d : dims)
    text += d + "x";
  return text + mlir::attn::cpu::elementTypeName(type) + ">";
}

struct AttentionCase::Impl {
  ElementType dtype;
  /// An fp8 KV cache (fp8KV): its scales (1 without k_scale / v_scale).
  bool fp8 = false;
  double kScale = 1.0, vScale = 1.0;
  ElementType kvType() const { return fp8 ? ElementType::F8E4M3 : dtype; }
  int64_t batch, seqQ, seqK, headsQ, headsKV, headDim, headDimV;
  bool isBhsd = false, isVarlen = false, hasLse = true, nanPadding = false;
  std::vector<int32_t> lensQ, lensK, cuQ, cuK;
  int64_t qTile = 16, kvTile = 16;
  std::optional<double> explicitScale;
  std::mt19937 rng{12345};

  std::vector<std::string> masks, mods;
  std::string maskModBody, scoreModBody;
  std::vector<std::string> extraAttrs;
  std::map<std::string, Tensor> aux;
  mlir::attn::reference::Problem problem;
  mlir::MLIRContext context;

  int64_t totalQ() const { return isVarlen ? cuQ.back() : batch * seqQ; }
  int64_t totalK() const { return isVarlen ? cuK.back() : batch * seqK; }
  int64_t numSeq() const { return isVarlen ? int64_t(lensQ.size()) : batch; }
  /// (qStart, kStart, lenQ, lenK) of sequence b, as laid out in memory.
  int64_t qStart(int64_t b) const { return isVarlen ? cuQ[b] : 0; }
  int64_t kStart(int64_t b) const { return isVarlen ? cuK[b] : 0; }
  int64_t lenQ(int64_t b) const { return isVarlen ? lensQ[b] : seqQ; }
  int64_t lenK(int64_t b) const { return isVarlen ? lensK[b] : seqK; }

  double uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  }

  Tensor &addAux(const std::string &clause, ElementType type,
                 std::vector<int64_t> shape) {
    Tensor &t = aux[clause];
    t.type = type;
    t.shape = std::move(shape);
    std::vector<std::string> dims;
    for (int64_t s : t.shape)
      dims.push_back(std::to_string(s));
    t.typeText = tensorType(dims, type);
    t.allocate();
    return t;
  }

  /// A random q/k/v-like tensor of `type`: host bits plus the float copy
  /// of the values they hold, times `scale` (an fp8 cache's dequantization).
  Tensor randomInput(ElementType type, std::vector<int64_t> shape,
                     std::vector<float> &copy, double amplitude,
                     double scale = 1.0) {
    Tensor t;
    t.type = type;
    t.shape = std::move(shape);
    t.allocate();
    copy.resize(t.count());
    for (int64_t n = 0; n < t.count(); ++n) {
      float value = float(uniform(-amplitude, amplitude));
      if (type == ElementType::F16) {
        t.as<uint16_t>()[n] = attn::floatToF16(value);
        value = attn::f16ToFloat(t.as<uint16_t>()[n]);
      } else if (type == ElementType::BF16) {
        t.as<uint16_t>()[n] = attn::floatToBf16(value);
        value = attn::bf16ToFloat(t.as<uint16_t>()[n]);
      } else if (type == ElementType::F8E4M3) {
        t.as<uint8_t>()[n] = toE4M3(value);
        value = fromE4M3(t.as<uint8_t>()[n]);
      } else {
        t.as<float>()[n] = value;
      }
      copy[n] = float(value * scale);
    }
    return t;
  }

  std::vector<int64_t> layoutShape(int64_t len, int64_t heads, int64_t width) {
    if (isVarlen)
      return {len, heads, width};
    if (isBhsd)
      return {batch, heads, len, width};
    return {batch, len, heads, width};
  }
  std::string layoutType(int64_t heads, int64_t width) const {
    std::string h = std::to_string(heads), w = std::to_string(width);
    return layoutType(heads, width, dtype);
  }
  std::string layoutType(int64_t heads, int64_t width, ElementType type) const {
    std::string h = std::to_string(heads), w = std::to_string(width);
    if (isVarlen)
      return tensorType({"?", h, w}, type);
    if (isBhsd)
      return tensorType({"?", h, "?", w}, type);
    return tensorType({"?", "?", h, w}, type);
  }
  std::string lseType() const {
    std::string h = std::to_string(headsQ);
    return isVarlen ? tensorType({h, "?"}, ElementType::F32)
                    : tensorType({"?", h, "?"}, ElementType::F32);
  }
};

} // namespace attn_test

#endif // ATTN_TEST_UNIT_ATTENTIONCASEIMPL_H
