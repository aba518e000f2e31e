//===- MaskReference.cpp - mask atoms evaluated by definition -------------===//

#include "attn/Reference/MaskReference.h"
#include "attn/IR/AttnAttrs.h"

#include "llvm/Support/ErrorHandling.h"

using namespace mlir;
using namespace mlir::attn;

namespace {
int64_t offsetOf(Alignment align, int64_t seqQ, int64_t seqK) {
  return align == Alignment::bottom_right ? seqK - seqQ : 0;
}

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
} // namespace

bool reference::analyticKeeps(Attribute atom, int64_t i, int64_t j,
                              int64_t seqQ, int64_t seqK) {
  if (auto causal = dyn_cast<CausalAttr>(atom))
    return j <= i + offsetOf(causal.getAlign(), seqQ, seqK);
  if (auto window = dyn_cast<SlidingWindowAttr>(atom)) {
    int64_t pos = i + offsetOf(window.getAlign(), seqQ, seqK);
    bool leftOk = window.getLeft() < 0 || j >= pos - window.getLeft();
    bool rightOk = window.getRight() < 0 || j <= pos + window.getRight();
    return leftOk && rightOk;
  }
  if (auto prefix = dyn_cast<PrefixLMAttr>(atom))
    return j < prefix.getPrefix() ||
           j <= i + offsetOf(prefix.getAlign(), seqQ, seqK);
  if (auto chunked = dyn_cast<ChunkedAttr>(atom)) {
    int64_t pos = i + offsetOf(chunked.getAlign(), seqQ, seqK);
    return floorDiv(pos, chunked.getSize()) == floorDiv(j, chunked.getSize());
  }
  if (auto orMask = dyn_cast<OrMaskAttr>(atom)) {
    for (Attribute member : orMask.getMembers())
      if (analyticKeeps(member, i, j, seqQ, seqK))
        return true;
    return false;
  }
  llvm_unreachable("analyticKeeps called on a non-analytic mask atom");
}
