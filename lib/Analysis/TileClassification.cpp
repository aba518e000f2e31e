//===- TileClassification.cpp - empty / full / partial tiles --------------===//

#include "attn/Analysis/TileClassification.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::attn;

TileClass mlir::attn::classifyTile(const RowTileKeys<int64_t> &keys,
                                   int64_t k0, int64_t k1, int64_t seqK) {
  // Both intervals are clipped to [0, Sk) by analyzeRowTile.
  int64_t liveLo = *keys.live.lo, liveHi = *keys.live.hi;
  if (k1 <= liveLo || k0 >= liveHi || liveLo >= liveHi)
    return TileClass::Empty;
  // The last tile may be ragged: it only holds the keys [k0, Sk), and the
  // kernel's tile is that short, so no padding key needs masking.
  if (keys.full && *keys.full->lo <= k0 && std::min(k1, seqK) <= *keys.full->hi)
    return TileClass::Full;
  return TileClass::Partial;
}
