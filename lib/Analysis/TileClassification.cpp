//===- TileClassification.cpp - empty / full / partial tiles --------------===//

#include "attn/Analysis/TileClassification.h"

using namespace mlir;
using namespace mlir::attn;

TileClass mlir::attn::classifyTile(const RowTileKeys<int64_t> &keys,
                                   int64_t k0, int64_t k1, int64_t seqK) {
  // Both intervals are clipped to [0, Sk) by analyzeRowTile.
  int64_t liveLo = *keys.live.lo, liveHi = *keys.live.hi;
  if (k1 <= liveLo || k0 >= liveHi || liveLo >= liveHi)
    return TileClass::Empty;
  if (k1 <= seqK && keys.full && *keys.full->lo <= k0 && k1 <= *keys.full->hi)
    return TileClass::Full;
  return TileClass::Partial;
}
