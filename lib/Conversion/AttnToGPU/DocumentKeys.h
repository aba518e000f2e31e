//===- DocumentKeys.h - a document mask's keys from its ids -----*- C++ -*-===//
//
// The mask analysis cannot bound an #attn.document conjunct: which keys a
// row keeps depends on the ids. A GPU kernel reads them instead, once per
// query tile, and narrows its kv schedule to the keys that can share a
// document with the tile's rows (DocumentKeys.cpp states the scan).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOGPU_DOCUMENTKEYS_H
#define ATTN_LIB_CONVERSION_ATTNTOGPU_DOCUMENTKEYS_H

#include "attn/Analysis/TileClassification.h"
#include "attn/IR/AttnOps.h"
#include "attn/Transforms/TilingContext.h"

namespace mlir::attn {

/// The #attn.document conjunct among the op's masks whose keys a kernel
/// finds from the ids (null if none, or the ids are wider than 32 bits: the
/// kernel then visits the keys the other masks keep).
DocumentAttr documentConjunct(AttentionOp op);

/// The keys the document mask keeps for some / every row of [qLo, qHi) (at
/// most `rows` rows), among the keys [kLo, kHi) (all relative to sequence
/// pos.b): live [first, last + 1) of the keys whose id lies in the rows' id
/// range, full the run of keys from the first live one that all hold the rows'
/// single id (empty when the rows hold several). One warp scans the ids; every
/// lane must run this, and the results are the same in all lanes.
RowTileKeys<Value> emitDocumentKeys(OpBuilder &b, Location loc,
                                    const AttentionBuffers &buf,
                                    const TilePosition &pos, Value qLo,
                                    Value qHi, int64_t rows, Value kLo,
                                    Value kHi);

} // namespace mlir::attn

#endif // ATTN_LIB_CONVERSION_ATTNTOGPU_DOCUMENTKEYS_H
