//===- HostSymbols.cpp - functions the JIT-compiled code calls ------------===//

#include "HostSymbols.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace {
/// An unranked memref as the LLVM lowering passes it: the rank and a pointer
/// to the ranked descriptor {allocated, aligned, offset, sizes[rank],
/// strides[rank]} (all 64-bit).
struct UnrankedDescriptor {
  int64_t rank;
  int64_t *ranked;
};

/// memref.copy of any rank and strides: dst[i] = src[i] for every index i,
/// elements of `elementBytes` bytes. Walks the index space with an odometer
/// over the sizes (the innermost dimension fastest).
extern "C" void attnMemrefCopy(int64_t elementBytes, UnrankedDescriptor *src,
                               UnrankedDescriptor *dst) {
  int64_t rank = src->rank;
  const int64_t *s = src->ranked, *d = dst->ranked;
  const char *srcBase =
      reinterpret_cast<const char *>(s[1]) + s[2] * elementBytes;
  char *dstBase = reinterpret_cast<char *>(d[1]) + d[2] * elementBytes;
  const int64_t *sizes = s + 3, *srcStrides = s + 3 + rank,
                *dstStrides = d + 3 + rank;
  for (int64_t dim = 0; dim < rank; ++dim)
    if (sizes[dim] == 0)
      return;
  std::vector<int64_t> index(rank, 0);
  int64_t srcOffset = 0, dstOffset = 0;
  while (true) {
    std::memcpy(dstBase + dstOffset * elementBytes,
                srcBase + srcOffset * elementBytes, elementBytes);
    int64_t dim = rank - 1;
    for (; dim >= 0; --dim) {
      srcOffset += srcStrides[dim];
      dstOffset += dstStrides[dim];
      if (++index[dim] < sizes[dim])
        break;
      srcOffset -= srcStrides[dim] * sizes[dim];
      dstOffset -= dstStrides[dim] * sizes[dim];
      index[dim] = 0;
    }
    if (dim < 0)
      return;
  }
}
} // namespace

void mlir::attn::cpu::registerHostSymbols(ExecutionEngine &engine) {
  engine.registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    symbols[interner("memrefCopy")] = {
        llvm::orc::ExecutorAddr::fromPtr(&attnMemrefCopy),
        llvm::JITSymbolFlags::Exported};
    return symbols;
  });
}
