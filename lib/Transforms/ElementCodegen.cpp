//===- ElementCodegen.cpp - per-element masks, score mods and gates -------===//
//
// Emits, for one (query row i, key j) pair, the modified score and whether
// the pair is kept, following the definitions in AttnAttrs.td. The result
// becomes the `element` region of attn.tile_update.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/TilingContext.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace mlir::attn;

namespace {
/// Emits the element code inside the region's block.
class ElementEmitter {
public:
  /// `maskMod` / `scoreMod`: the user regions the atoms #attn.mask_mod and
  /// #attn.score_mod inline (null where the op has none).
  ElementEmitter(OpBuilder &builder, Location loc, Region *maskMod,
                 Region *scoreMod, const AttentionBuffers &buffers,
                 const TilePosition &pos, Value i, Value j,
                 ElementValueCache *cache)
      : b(builder), loc(loc), maskMod(maskMod), scoreMod(scoreMod),
        buf(buffers), pos(pos), i(i), j(j), cache(cache) {}

  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value f32(double value) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
  }
  Value toF32(Value value) {
    if (value.getType().isF32())
      return value;
    return arith::ExtFOp::create(b, loc, b.getF32Type(), value);
  }
  Value indexToF32(Value value) {
    Value asInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), value);
    return arith::SIToFPOp::create(b, loc, b.getF32Type(), asInt);
  }
  /// `index` as base + c with a constant c, where it was built so
  /// (index_cast of an i32 addi with a constant operand, or an index addi);
  /// else (index, 0).
  std::pair<Value, int64_t> constantOffset(Value index) {
    Value v = index;
    if (auto cast = v.getDefiningOp<arith::IndexCastOp>())
      v = cast.getIn();
    auto add = v.getDefiningOp<arith::AddIOp>();
    if (!add)
      return {index, 0};
    for (int side = 0; side < 2; ++side) {
      IntegerAttr c;
      if (matchPattern(add->getOperand(side), m_Constant(&c))) {
        Value base = add->getOperand(1 - side);
        if (!base.getType().isIndex())
          base = arith::IndexCastOp::create(b, loc, b.getIndexType(), base);
        return {base, c.getInt()};
      }
    }
    return {index, 0};
  }
  Value cmp(arith::CmpIPredicate pred, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, pred, x, y);
  }
  Value andI1(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }

  /// The value a mask_mod/score_mod region yields for `args`. Every
  /// tensor.extract becomes a bounds-checked read (guardedRead): of the
  /// captured tensor's buffer where the caller mapped one (the GPU kernel's
  /// parameters), else of the tensor itself (bufferized later on the CPU).
  /// With a cache, a read or an effect-free op seen before with the same
  /// operands is not emitted again.
  Value inlineUserRegion(Region &region, ValueRange args) {
    auto emit = [&](Operation &nested, IRMapping &mapping) {
      auto extract = dyn_cast<tensor::ExtractOp>(nested);
      bool shareable = extract || (nested.getNumRegions() == 0 &&
                                   isMemoryEffectFree(&nested));
      // The key: the op's name and attributes (a read: its source), then
      // its operands as this pair sees them.
      SmallVector<const void *> key;
      if (cache && shareable) {
        key.push_back(nested.getName().getAsOpaquePointer());
        key.push_back(nested.getAttrDictionary().getAsOpaquePointer());
        for (Value operand : nested.getOperands())
          key.push_back(mapping.lookupOrDefault(operand).getAsOpaquePointer());
        if (ArrayRef<Value> known = cache->lookup(key); !known.empty()) {
          mapping.map(nested.getResults(), known);
          return true;
        }
      }
      if (Value narrow = narrowCompare(nested, mapping)) {
        mapping.map(nested.getResult(0), narrow);
      } else if (Value distance = offsetDistance(nested, mapping)) {
        mapping.map(nested.getResult(0), distance);
      } else if (extract) {
        Value source = mapping.lookupOrDefault(extract.getTensor());
        if (buf.captured)
          if (Value memref = buf.captured(extract.getTensor()))
            source = memref;
        SmallVector<Value> indices =
            llvm::map_to_vector(extract.getIndices(), [&](Value v) {
              return mapping.lookupOrDefault(v);
            });
        mapping.map(extract.getResult(), guardedRead(source, indices));
      } else {
        b.clone(nested, mapping);
      }
      if (cache && shareable)
        cache->record(
            key, llvm::map_to_vector(nested.getResults(), [&](Value result) {
              return mapping.lookup(result);
            }));
      return true;
    };
    return inlineYieldingRegion(b, region, args, emit).front();
  }

  /// A region's sitofp(index_cast(x - y)) where x or y is base + c with a
  /// constant c (a key j = k0 + c of a GPU fragment: ALiBi-like position
  /// biases), as floatDistance; null for anything else.
  Value offsetDistance(Operation &nested, IRMapping &mapping) {
    auto toFloat = dyn_cast<arith::SIToFPOp>(nested);
    if (!toFloat)
      return nullptr;
    Value in = mapping.lookupOrDefault(toFloat.getIn());
    auto widened = in.getDefiningOp<arith::IndexCastOp>();
    auto sub =
        widened ? widened.getIn().getDefiningOp<arith::SubIOp>() : nullptr;
    if (!sub || (!constantOffset(sub.getLhs()).second &&
                 !constantOffset(sub.getRhs()).second))
      return nullptr;
    return floatDistance(sub.getLhs(), sub.getRhs(), widened.getType(),
                         cast<FloatType>(toFloat.getType()));
  }

  /// x - y (index values) as a float of `type`, through the integer type
  /// `wide`: where x or y is base + c with a constant c (the GPU kernel's
  /// columns are), the conversion takes the bases, the same ops for every
  /// column of a row (folded to one per row and tile), and the constants
  /// are added as a float (exact below 2^24).
  Value floatDistance(Value x, Value y, Type wide, FloatType type) {
    auto [xBase, xOffset] = constantOffset(x);
    auto [yBase, yOffset] = constantOffset(y);
    Value diff = arith::SubIOp::create(b, loc, xBase, yBase);
    Value f = arith::SIToFPOp::create(
        b, loc, type, arith::IndexCastOp::create(b, loc, wide, diff));
    if (xOffset == yOffset)
      return f;
    return arith::AddFOp::create(
        b, loc, f,
        arith::ConstantOp::create(
            b, loc, FloatAttr::get(type, double(xOffset) - double(yOffset))));
  }

  /// A compare of two values sign-extended from one integer type (index_cast
  /// to index: a captured i32 id, or the GPU kernel's 32-bit rows and
  /// columns), as the compare of the narrow values; null for anything
  /// else. Sign extension keeps every order, signed and unsigned, so the
  /// result is the same, and a GPU compares 32 bits in one instruction, 64
  /// in two (LLVM does not narrow it where the ids pass through the guarded
  /// reads' branches).
  Value narrowCompare(Operation &nested, IRMapping &mapping) {
    auto compare = dyn_cast<arith::CmpIOp>(nested);
    if (!compare)
      return {};
    auto narrowOf = [&](Value v) -> Value {
      auto cast =
          mapping.lookupOrDefault(v).getDefiningOp<arith::IndexCastOp>();
      return cast && cast.getIn().getType().isSignlessInteger() ? cast.getIn()
                                                                : Value();
    };
    Value lhs = narrowOf(compare.getLhs()), rhs = narrowOf(compare.getRhs());
    if (!lhs || !rhs || lhs.getType() != rhs.getType())
      return {};
    return arith::CmpIOp::create(b, loc, compare.getPredicate(), lhs, rhs);
  }

  /// source[indices] (a memref or a tensor) when every index lies in
  /// [0, dim), else 0 (false for i1) without touching memory: the defined
  /// result of an out-of-range read of a captured tensor (AttnOps.td,
  /// "Regions"). One unsigned compare per index covers both ends (a
  /// negative index is huge).
  Value guardedRead(Value source, ArrayRef<Value> indices) {
    bool isMemref = isa<MemRefType>(source.getType());
    Value inBounds = arith::ConstantIntOp::create(b, loc, 1, 1);
    for (auto [d, at] : llvm::enumerate(indices)) {
      Value size = isMemref
                       ? memref::DimOp::create(b, loc, source, d).getResult()
                       : tensor::DimOp::create(b, loc, source, d).getResult();
      inBounds = andI1(inBounds, cmp(arith::CmpIPredicate::ult, at, size));
    }
    Type element = cast<ShapedType>(source.getType()).getElementType();
    auto ifOp = scf::IfOp::create(
        b, loc, inBounds,
        [&](OpBuilder &then, Location at) {
          Value read =
              isMemref ? memref::LoadOp::create(then, at, source, indices)
                             .getResult()
                       : tensor::ExtractOp::create(then, at, source, indices)
                             .getResult();
          scf::YieldOp::create(then, at, read);
        },
        [&](OpBuilder &otherwise, Location at) {
          scf::YieldOp::create(
              otherwise, at,
              arith::ConstantOp::create(otherwise, at,
                                        cast<TypedAttr>(b.getZeroAttr(element)))
                  .getResult());
        });
    return ifOp.getResult(0);
  }

  /// i + off for the given alignment: the query's absolute position.
  Value alignedRow(Alignment align) {
    if (align == Alignment::top_left)
      return i;
    Value off = arith::SubIOp::create(b, loc, pos.seqK, pos.seqQ);
    return arith::AddIOp::create(b, loc, i, off);
  }

  /// Index into a [X|1, Y|1, ...] operand: 0 along broadcast dimensions.
  Value broadcastIndex(Value buffer, unsigned dim, Value index) {
    return emitBroadcastIndex(b, loc, buffer, dim, index);
  }

  Value load(Value buffer, ArrayRef<Value> indices) {
    return memref::LoadOp::create(b, loc, buffer, indices);
  }

  /// A read whose indices from `firstClamped` on are clamped into the
  /// buffer (min(index, dim - 1)): a GPU tile's padding rows and columns
  /// (past the sequence, dropped or never written) must not read past a
  /// per-token or per-pair operand; real rows and columns are unchanged.
  Value clampedLoad(Value buffer, ArrayRef<Value> indices,
                    unsigned firstClamped) {
    SmallVector<Value> at(indices);
    for (unsigned d = firstClamped; d < at.size(); ++d) {
      Value last = arith::SubIOp::create(
          b, loc, memref::DimOp::create(b, loc, buffer, d), index(1));
      // An index widened from i32 (the GPU kernel's rows and columns) is
      // clamped in i32: one register per row or column, not two.
      auto widened = at[d].getDefiningOp<arith::IndexCastOp>();
      if (widened && widened.getIn().getType().isInteger(32)) {
        Value narrow = arith::MinSIOp::create(
            b, loc, widened.getIn(),
            arith::IndexCastOp::create(b, loc, b.getI32Type(), last));
        at[d] = arith::IndexCastOp::create(b, loc, b.getIndexType(), narrow);
      } else {
        at[d] = arith::MinSIOp::create(b, loc, at[d], last);
      }
    }
    return load(buffer, at);
  }

  /// keep(i, j) of one mask atom.
  Value keeps(Attribute atom) {
    using P = arith::CmpIPredicate;
    if (auto causal = dyn_cast<CausalAttr>(atom))
      return cmp(P::sle, j, alignedRow(causal.getAlign()));
    if (auto window = dyn_cast<SlidingWindowAttr>(atom)) {
      Value row = alignedRow(window.getAlign());
      Value keep = arith::ConstantIntOp::create(b, loc, 1, 1);
      if (window.getLeft() >= 0)
        keep = andI1(keep, cmp(P::sge, j,
                               arith::SubIOp::create(b, loc, row,
                                                     index(window.getLeft()))));
      if (window.getRight() >= 0)
        keep = andI1(keep, cmp(P::sle, j,
                               arith::AddIOp::create(
                                   b, loc, row, index(window.getRight()))));
      return keep;
    }
    if (auto prefix = dyn_cast<PrefixLMAttr>(atom))
      return arith::OrIOp::create(
          b, loc, cmp(P::slt, j, index(prefix.getPrefix())),
          cmp(P::sle, j, alignedRow(prefix.getAlign())));
    if (auto chunked = dyn_cast<ChunkedAttr>(atom)) {
      Value size = index(chunked.getSize());
      return cmp(P::eq,
                 arith::FloorDivSIOp::create(
                     b, loc, alignedRow(chunked.getAlign()), size),
                 arith::FloorDivSIOp::create(b, loc, j, size));
    }
    if (isa<DocumentAttr>(atom))
      return cmp(P::eq, tokenLoad(buf.docIdsQ, pos.qStart, i),
                 tokenLoad(buf.docIdsKv, pos.kStart, j));
    if (isa<CustomMaskAttr>(atom))
      return customMaskBit();
    if (isa<MaskModAttr>(atom))
      return inlineUserRegion(*maskMod, {pos.b, pos.h, i, j});
    auto orMask = cast<OrMaskAttr>(atom);
    Value any = arith::ConstantIntOp::create(b, loc, 0, 1);
    for (Attribute member : orMask.getMembers())
      any = arith::OrIOp::create(b, loc, any, keeps(member));
    return any;
  }

  /// A per-token operand: [B, S] dense, [T] varlen.
  Value tokenLoad(Value buffer, Value start, Value index) {
    SmallVector<Value> at = tokenIndices(b, loc, buffer, pos, start, index);
    return clampedLoad(buffer, at, at.size() - 1);
  }

  Value customMaskBit() {
    Value mask = buf.customMask;
    bool packed =
        cast<MemRefType>(mask.getType()).getElementType().isInteger(8);
    if (cast<MemRefType>(mask.getType()).getRank() == 1) {
      // Varlen: this sequence's [q_len, k_len] matrix flattened row-major at
      // maskBase (in bytes when packed, each sequence from a fresh byte).
      Value flat = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, i, pos.layoutSeqK), j);
      // A mask shorter than cu_seqlens implies is read as "masked" past its
      // end instead of out of bounds.
      Value cell = packed ? arith::AddIOp::create(
                                b, loc, pos.maskBase,
                                arith::DivUIOp::create(b, loc, flat, index(8)))
                          : arith::AddIOp::create(b, loc, pos.maskBase, flat);
      Value size = memref::DimOp::create(b, loc, mask, 0);
      Value inside = cmp(arith::CmpIPredicate::ult, cell, size);
      auto guarded = scf::IfOp::create(
          b, loc, inside,
          [&](OpBuilder &, Location) {
            Value bit = packed ? packedBit(mask, {}, pos.maskBase, flat, 0)
                               : load(mask, {cell});
            scf::YieldOp::create(b, loc, bit);
          },
          [&](OpBuilder &, Location) {
            scf::YieldOp::create(
                b, loc, ValueRange{arith::ConstantIntOp::create(b, loc, 0, 1)});
          });
      return guarded.getResult(0);
    }
    SmallVector<Value> lead = {broadcastIndex(mask, 0, pos.b),
                               broadcastIndex(mask, 1, pos.h), i};
    if (!packed) {
      lead.push_back(j);
      return clampedLoad(mask, lead, 2);
    }
    return packedBit(mask, lead, index(0), j, 2);
  }

  /// Bit `bit % 8` of byte `base + bit / 8` (little-endian within a byte),
  /// indices from `firstClamped` on clamped into the mask.
  Value packedBit(Value mask, ArrayRef<Value> lead, Value base, Value bit,
                  unsigned firstClamped) {
    Value eight = index(8);
    SmallVector<Value> indices(lead);
    indices.push_back(arith::AddIOp::create(
        b, loc, base, arith::DivUIOp::create(b, loc, bit, eight)));
    Value byte = clampedLoad(mask, indices, firstClamped);
    Value shift = arith::IndexCastOp::create(
        b, loc, b.getI8Type(), arith::RemUIOp::create(b, loc, bit, eight));
    Value shifted = arith::ShRUIOp::create(b, loc, byte, shift);
    Value one = arith::ConstantIntOp::create(b, loc, 1, 8);
    return cmp(arith::CmpIPredicate::ne,
               arith::AndIOp::create(b, loc, shifted, one),
               arith::ConstantIntOp::create(b, loc, 0, 8));
  }

  /// s' of one score modification.
  Value modify(Attribute mod, Value s) {
    if (auto softcap = dyn_cast<SoftcapAttr>(mod)) {
      // cap * tanh(s / cap), the division as a product with 1 / cap (a
      // full-precision division is a long instruction sequence on GPUs).
      double capValue = softcap.getCap().getValueAsDouble();
      Value t = math::TanhOp::create(
          b, loc, arith::MulFOp::create(b, loc, s, f32(1.0 / capValue)));
      return arith::MulFOp::create(b, loc, f32(capValue), t);
    }
    if (isa<AlibiAttr>(mod)) {
      // s - slope * |i + Sk - Sq - j|
      Value slopes = buf.alibiSlopes;
      Value slope = cast<MemRefType>(slopes.getType()).getRank() == 2
                        ? load(slopes, {pos.b, pos.h})
                        : load(slopes, {pos.h});
      Value dist = floatDistance(alignedRow(Alignment::bottom_right), j,
                                 b.getI64Type(), b.getF32Type());
      Value absDist = math::AbsFOp::create(b, loc, dist);
      return arith::SubFOp::create(
          b, loc, s, arith::MulFOp::create(b, loc, slope, absDist));
    }
    if (isa<BiasAttr>(mod)) {
      Value bias = clampedLoad(buf.bias,
                               {broadcastIndex(buf.bias, 0, pos.b),
                                broadcastIndex(buf.bias, 1, pos.h), i, j},
                               2);
      return arith::AddFOp::create(b, loc, s, toF32(bias));
    }
    return inlineUserRegion(*scoreMod, {s, pos.b, pos.h, i, j});
  }

  /// Adds the gate to the score; with a threshold, also drops the pair when
  /// the gate falls below it.
  std::pair<Value, Value> gate(GateAttr gate, Value s, Value keep) {
    bool varlen = cast<MemRefType>(buf.gateAlpha.getType()).getRank() == 2;
    Value alpha =
        varlen
            ? clampedLoad(buf.gateAlpha,
                          {pos.h, arith::AddIOp::create(b, loc, pos.qStart, i)},
                          1)
            : clampedLoad(buf.gateAlpha, {pos.b, pos.h, i}, 2);
    Value delta =
        varlen ? clampedLoad(
                     buf.gateDelta,
                     {pos.hk, arith::AddIOp::create(b, loc, pos.kStart, j)}, 1)
               : clampedLoad(buf.gateDelta, {pos.b, pos.hk, j}, 2);
    Value x = arith::AddFOp::create(b, loc, toF32(alpha), toF32(delta));
    Value g = x;
    if (gate.getKind() == GateKind::logsigmoid) {
      // logsigmoid(x) = min(x, 0) - log1p(exp(-|x|)), stable for any x.
      Value negAbs =
          arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, x));
      Value soft =
          math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, negAbs));
      g = arith::SubFOp::create(
          b, loc, arith::MinimumFOp::create(b, loc, x, f32(0.0)), soft);
    }
    s = arith::AddFOp::create(b, loc, s, g);
    if (FloatAttr threshold = gate.getThreshold()) {
      Value tau = f32(threshold.getValueAsDouble());
      if (gate.getAdaptive())
        tau = arith::SubFOp::create(
            b, loc, tau, math::LogOp::create(b, loc, indexToF32(pos.seqK)));
      keep = andI1(keep, arith::CmpFOp::create(
                             b, loc, arith::CmpFPredicate::OGE, g, tau));
    }
    return {s, keep};
  }

private:
  OpBuilder &b;
  Location loc;
  Region *maskMod, *scoreMod;
  const AttentionBuffers &buf;
  const TilePosition &pos;
  Value i, j;
  ElementValueCache *cache;
};
} // namespace

bool mlir::attn::hasElementCode(AttentionOp op, bool partial) {
  ArrayAttr masks = op.getMasksAttr();
  ArrayAttr mods = op.getScoreModsAttr();
  return (partial && masks && !masks.empty()) || (mods && !mods.empty()) ||
         op.getGateAttr();
}

bool mlir::attn::maskModReadsPerKey(AttentionOp op) {
  // The verifier keeps the region exactly where a mask atom uses it.
  Region &maskMod = op.getMaskMod();
  if (maskMod.empty())
    return false;
  // A read whose index derives from kv_idx (the region's last argument).
  SetVector<Operation *> slice;
  getForwardSlice(maskMod.front().getArguments().back(), &slice);
  return llvm::any_of(slice, llvm::IsaPred<tensor::ExtractOp>);
}

Value mlir::attn::emitMaskKeep(OpBuilder &builder, Location loc,
                               ArrayAttr masks, Region &maskMod,
                               const AttentionBuffers &buffers,
                               const TilePosition &pos, Value i, Value j,
                               ElementValueCache *cache) {
  ElementEmitter emit(builder, loc, &maskMod, nullptr, buffers, pos, i, j,
                      cache);
  Value keep = arith::ConstantIntOp::create(builder, loc, 1, 1);
  if (masks)
    for (Attribute atom : masks)
      keep = emit.andI1(keep, emit.keeps(atom));
  return keep;
}

Value mlir::attn::emitMaskKeep(OpBuilder &builder, AttentionOp op,
                               const AttentionBuffers &buffers,
                               const TilePosition &pos, Value i, Value j,
                               ElementValueCache *cache) {
  return emitMaskKeep(builder, op.getLoc(), op.getMasksAttr(), op.getMaskMod(),
                      buffers, pos, i, j, cache);
}

std::pair<Value, Value>
mlir::attn::emitElement(OpBuilder &builder, AttentionOp op,
                        const AttentionBuffers &buffers,
                        const TilePosition &pos, bool partial, Value s, Value i,
                        Value j, ElementValueCache *cache) {
  ElementEmitter emit(builder, op.getLoc(), &op.getMaskMod(), &op.getScoreMod(),
                      buffers, pos, i, j, cache);
  Value keep = partial
                   ? emitMaskKeep(builder, op, buffers, pos, i, j, cache)
                   : arith::ConstantIntOp::create(builder, op.getLoc(), 1, 1);
  if (ArrayAttr mods = op.getScoreModsAttr())
    for (Attribute mod : mods)
      s = emit.modify(mod, s);
  if (GateAttr gate = op.getGateAttr())
    std::tie(s, keep) = emit.gate(gate, s, keep);
  return {s, keep};
}

void mlir::attn::buildElementRegion(OpBuilder &builder, AttentionOp op,
                                    const AttentionBuffers &buffers,
                                    const TilePosition &pos, bool partial,
                                    Region &region) {
  if (!hasElementCode(op, partial))
    return;
  Location loc = op.getLoc();
  OpBuilder::InsertionGuard guard(builder);
  Type index = builder.getIndexType();
  Block *block = builder.createBlock(&region, region.end(),
                                     {builder.getF32Type(), index, index},
                                     {loc, loc, loc});
  Value i = arith::AddIOp::create(builder, loc, pos.q0, block->getArgument(1));
  Value j = arith::AddIOp::create(builder, loc, pos.k0, block->getArgument(2));
  auto [s, keep] = emitElement(builder, op, buffers, pos, partial,
                               block->getArgument(0), i, j);
  YieldOp::create(builder, loc, ValueRange{s, keep});
}
