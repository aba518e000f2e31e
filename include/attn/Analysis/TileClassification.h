//===- TileClassification.h - empty / full / partial tiles ------*- C++ -*-===//
//
// Mask analysis: for the query rows [q0, q1) of one sequence, which keys can
// be kept by some row (`live`) and which keys are kept by every row (`full`).
// A kv tile outside `live` is empty and never visited; a kv tile inside
// `full` (and inside [0, Sk)) is full and runs without mask code; any other
// tile is partial and evaluates the masks per element.
//
// The formulas are written once over an abstract integer arithmetic so that
// the same code classifies tiles statically (int64_t, for tests and
// reports) and emits the index computations into the tiled IR.
//
// With off = 0 (top-left) or Sk - Sq (bottom-right) and rows i in [q0, q1):
//   causal         keep j <= i+off          live [0, q1+off)      full [0, q0+off+1)
//   window(L, R)   i+off-L <= j <= i+off+R  live [q0+off-L, q1+off+R)
//                                           full [q1-1+off-L, q0+off+R+1)
//   prefix_lm(P)   j < P or j <= i+off      live [0, max(P, q1+off))
//                                           full [0, max(P, q0+off+1))
//   chunked(C)     c(i+off) == c(j), c(x) = floor(x / C)
//                  live [c(q0+off)*C, (c(q1-1+off)+1)*C)
//                  full [c(q1-1+off)*C, (c(q0+off)+1)*C)  (empty unless one chunk)
//   document, custom_mask, mask_mod: live everything, full nothing (the
//                  tiling and the GPU kernels narrow a document conjunct
//                  from its ids at run time: DocumentKeys.h).
//   and: intersect live and full.   or: hull of live, full of a member.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_ANALYSIS_TILECLASSIFICATION_H
#define ATTN_ANALYSIS_TILECLASSIFICATION_H

#include "attn/IR/AttnAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::attn {

/// How a (q-tile, kv-tile) pair is processed.
enum class TileClass { Empty, Full, Partial };

/// A half-open key interval [lo, hi); an absent bound is unbounded.
template <typename Num>
struct KeyInterval {
  std::optional<Num> lo;
  std::optional<Num> hi;
};

/// What the analytic part of the masks says about one row tile.
template <typename Num>
struct RowTileKeys {
  /// Keys that at least one row may keep.
  KeyInterval<Num> live;
  /// Keys that every row keeps; std::nullopt when no key is provably kept by
  /// every row (a non-analytic atom is present).
  std::optional<KeyInterval<Num>> full;
};

/// Integer arithmetic on compile-time constants.
struct StaticArith {
  using Num = int64_t;
  Num constant(int64_t value) { return value; }
  Num add(Num a, Num b) { return a + b; }
  Num sub(Num a, Num b) { return a - b; }
  Num mul(Num a, Num b) { return a * b; }
  Num min(Num a, Num b) { return a < b ? a : b; }
  Num max(Num a, Num b) { return a > b ? a : b; }
  Num floorDiv(Num a, Num b) {
    Num q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
  }
  Num ceilDiv(Num a, Num b) { return -floorDiv(-a, b); }
  /// a >= b ? x : y
  Num selectGE(Num a, Num b, Num x, Num y) { return a >= b ? x : y; }
};

/// Integer arithmetic emitted as `index` arith ops.
struct IndexArith {
  using Num = Value;
  OpBuilder &builder;
  Location loc;
  Num constant(int64_t value) {
    return arith::ConstantIndexOp::create(builder, loc, value);
  }
  Num add(Num a, Num b) { return arith::AddIOp::create(builder, loc, a, b); }
  Num sub(Num a, Num b) { return arith::SubIOp::create(builder, loc, a, b); }
  Num mul(Num a, Num b) { return arith::MulIOp::create(builder, loc, a, b); }
  Num min(Num a, Num b) { return arith::MinSIOp::create(builder, loc, a, b); }
  Num max(Num a, Num b) { return arith::MaxSIOp::create(builder, loc, a, b); }
  Num floorDiv(Num a, Num b) {
    return arith::FloorDivSIOp::create(builder, loc, a, b);
  }
  Num ceilDiv(Num a, Num b) {
    return arith::CeilDivSIOp::create(builder, loc, a, b);
  }
  /// a >= b ? x : y
  Num selectGE(Num a, Num b, Num x, Num y) {
    return arith::SelectOp::create(
        builder, loc,
        arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::sge, a, b),
        x, y);
  }
};

namespace detail {
template <typename A>
std::optional<typename A::Num> lower(A &a, std::optional<typename A::Num> x,
                                     std::optional<typename A::Num> y) {
  if (!x)
    return y;
  if (!y)
    return x;
  return a.max(*x, *y);
}
template <typename A>
std::optional<typename A::Num> upper(A &a, std::optional<typename A::Num> x,
                                     std::optional<typename A::Num> y) {
  if (!x)
    return y;
  if (!y)
    return x;
  return a.min(*x, *y);
}

/// The keys of one mask atom for rows [q0, q1); `off` per its alignment.
template <typename A>
RowTileKeys<typename A::Num> analyzeAtom(A &a, Attribute atom,
                                         typename A::Num q0, typename A::Num q1,
                                         typename A::Num seqQ,
                                         typename A::Num seqK);

template <typename A>
typename A::Num offsetFor(A &a, Alignment align, typename A::Num seqQ,
                          typename A::Num seqK) {
  return align == Alignment::bottom_right ? a.sub(seqK, seqQ) : a.constant(0);
}

/// Conjunction: intersect live and full intervals.
template <typename A>
RowTileKeys<typename A::Num> intersect(A &a, RowTileKeys<typename A::Num> x,
                                       RowTileKeys<typename A::Num> y) {
  RowTileKeys<typename A::Num> r;
  r.live = {lower(a, x.live.lo, y.live.lo), upper(a, x.live.hi, y.live.hi)};
  if (x.full && y.full)
    r.full = KeyInterval<typename A::Num>{lower(a, x.full->lo, y.full->lo),
                                          upper(a, x.full->hi, y.full->hi)};
  return r;
}

template <typename A>
RowTileKeys<typename A::Num> analyzeAtom(A &a, Attribute atom,
                                         typename A::Num q0, typename A::Num q1,
                                         typename A::Num seqQ,
                                         typename A::Num seqK) {
  using Num = typename A::Num;
  using Interval = KeyInterval<Num>;
  Num one = a.constant(1);
  if (auto causal = dyn_cast<CausalAttr>(atom)) {
    Num off = offsetFor(a, causal.getAlign(), seqQ, seqK);
    return {Interval{a.constant(0), a.add(q1, off)},
            Interval{a.constant(0), a.add(a.add(q0, off), one)}};
  }
  if (auto window = dyn_cast<SlidingWindowAttr>(atom)) {
    Num off = offsetFor(a, window.getAlign(), seqQ, seqK);
    Interval live, full;
    if (window.getLeft() >= 0) {
      Num left = a.constant(window.getLeft());
      live.lo = a.sub(a.add(q0, off), left);
      full.lo = a.sub(a.add(a.sub(q1, one), off), left);
    }
    if (window.getRight() >= 0) {
      Num right = a.constant(window.getRight());
      live.hi = a.add(a.add(a.sub(q1, one), off), a.add(right, one));
      full.hi = a.add(a.add(q0, off), a.add(right, one));
    }
    return {live, full};
  }
  if (auto prefix = dyn_cast<PrefixLMAttr>(atom)) {
    Num off = offsetFor(a, prefix.getAlign(), seqQ, seqK);
    Num p = a.constant(prefix.getPrefix());
    return {Interval{a.constant(0), a.max(p, a.add(q1, off))},
            Interval{a.constant(0), a.max(p, a.add(a.add(q0, off), one))}};
  }
  if (auto chunked = dyn_cast<ChunkedAttr>(atom)) {
    Num off = offsetFor(a, chunked.getAlign(), seqQ, seqK);
    Num size = a.constant(chunked.getSize());
    Num first = a.floorDiv(a.add(q0, off), size);
    Num last = a.floorDiv(a.add(a.sub(q1, one), off), size);
    return {Interval{a.mul(first, size), a.mul(a.add(last, one), size)},
            Interval{a.mul(last, size), a.mul(a.add(first, one), size)}};
  }
  if (auto orMask = dyn_cast<OrMaskAttr>(atom)) {
    // Live keys: the hull of the members' live keys (unbounded where any
    // member is). Full keys: those of the first member that has any, a
    // subset of the union.
    RowTileKeys<Num> r;
    bool first = true;
    bool loUnbounded = false, hiUnbounded = false;
    for (Attribute member : orMask.getMembers()) {
      RowTileKeys<Num> m = analyzeAtom(a, member, q0, q1, seqQ, seqK);
      loUnbounded |= !m.live.lo;
      hiUnbounded |= !m.live.hi;
      if (first) {
        r.live = m.live;
      } else {
        if (r.live.lo && m.live.lo)
          r.live.lo = a.min(*r.live.lo, *m.live.lo);
        if (r.live.hi && m.live.hi)
          r.live.hi = a.max(*r.live.hi, *m.live.hi);
      }
      if (!r.full && m.full)
        r.full = m.full;
      first = false;
    }
    if (loUnbounded)
      r.live.lo.reset();
    if (hiUnbounded)
      r.live.hi.reset();
    return r;
  }
  // document, custom_mask, mask_mod: decided per element from operands or
  // regions; any key may be live and none is provably full.
  return {Interval{}, std::nullopt};
}
} // namespace detail

/// The keys of rows [q0, q1) under the conjunction of `masks` (may be null),
/// clipped to the real keys [0, seqK). Without masks every real key is live
/// and full. Conjuncts `skip` accepts are left out: a lowering that finds
/// their keys from data at run time intersects them itself
/// (intersectRowTileKeys).
template <typename A>
RowTileKeys<typename A::Num>
analyzeRowTile(A &a, ArrayAttr masks, typename A::Num q0, typename A::Num q1,
               typename A::Num seqQ, typename A::Num seqK,
               function_ref<bool(Attribute)> skip = nullptr) {
  using Num = typename A::Num;
  RowTileKeys<Num> keys{KeyInterval<Num>{a.constant(0), seqK},
                        KeyInterval<Num>{a.constant(0), seqK}};
  if (masks)
    for (Attribute atom : masks)
      if (!skip || !skip(atom))
        keys = detail::intersect(
            a, keys, detail::analyzeAtom(a, atom, q0, q1, seqQ, seqK));
  return keys;
}

/// The keys both `x` and `y` describe (a conjunction of their masks).
template <typename A>
RowTileKeys<typename A::Num>
intersectRowTileKeys(A &a, const RowTileKeys<typename A::Num> &x,
                     const RowTileKeys<typename A::Num> &y) {
  return detail::intersect(a, x, y);
}

/// The kv schedule of one row tile, in tiles of `tile` keys: tiles [ktLo,
/// ktHi) hold a live key, [fullLo, fullHi) (inside it) only keys every row
/// keeps, so they run without mask code. The CPU tiling and every GPU
/// strategy visit the tiles of this range.
template <typename Num>
struct KvTileRange {
  Num ktLo, ktHi, fullLo, fullHi;
};

/// The kv schedule for `keys` (analyzeRowTile). `raggedLastTileIsFull`: the
/// last, shorter tile counts as full when every real key in it is kept (a
/// lowering whose ragged tile holds only real keys); a lowering that pads
/// it with zero-filled keys must mask it.
template <typename A>
KvTileRange<typename A::Num>
kvTileRange(A &a, const RowTileKeys<typename A::Num> &keys,
            typename A::Num seqK, int64_t tile, bool raggedLastTileIsFull) {
  using Num = typename A::Num;
  Num size = a.constant(tile);
  // analyzeRowTile bounds both intervals.
  Num liveLo = a.max(*keys.live.lo, a.constant(0));
  Num liveHi = a.min(*keys.live.hi, seqK);
  Num ktLo = a.floorDiv(liveLo, size);
  Num ktHi = a.max(ktLo, a.ceilDiv(liveHi, size));
  KvTileRange<Num> range{ktLo, ktHi, ktLo, ktLo};
  if (!keys.full)
    return range;
  Num lastFull =
      raggedLastTileIsFull
          ? a.selectGE(*keys.full->hi, seqK, a.ceilDiv(seqK, size),
                       a.floorDiv(*keys.full->hi, size))
          : a.floorDiv(a.min(*keys.full->hi, seqK), size);
  range.fullLo = a.min(a.max(a.ceilDiv(*keys.full->lo, size), ktLo), ktHi);
  range.fullHi = a.min(a.max(lastFull, range.fullLo), ktHi);
  return range;
}

/// Classifies the kv tile [k0, min(k1, Sk)) for the row tile `keys` was
/// computed for. The last tile may be ragged; it holds only real keys.
TileClass classifyTile(const RowTileKeys<int64_t> &keys, int64_t k0,
                       int64_t k1, int64_t seqK);

} // namespace mlir::attn

#endif // ATTN_ANALYSIS_TILECLASSIFICATION_H
