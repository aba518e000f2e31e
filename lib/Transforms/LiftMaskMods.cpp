//===- LiftMaskMods.cpp - a mask_mod's closed-form conjuncts -> atoms -----===//
//
// A FlexAttention mask_mod such as `(q_idx >= kv_idx) & (q_idx - kv_idx <=
// 256)` traces into a region the kernels evaluate pair by pair, so the tile
// classification sees "any key may be live, none is full". Its conjuncts
// are linear comparisons of i and j, which the closed-form atoms state
// exactly; once lifted, the analysis skips empty tiles and runs full ones
// without mask code (and attn.block_mask classifies them without
// evaluating a pair).
//
// Each side of a comparison is linearized to ci i + cj j + c0; the
// comparison becomes constraints D <= 0 on D = lhs - rhs (slt: D + 1 <= 0,
// sge: -D <= 0, sgt: -D + 1 <= 0, eq: both D <= 0 and -D <= 0):
//
//   -i + j + c0 <= 0   j <= i + R (R = -c0): causal (R = 0) or
//                      sliding_window<left = -1, right = R> (R > 0)
//    i - j + c0 <= 0   j >= i - L (L = -c0 >= 0):
//                      sliding_window<left = L, right = -1>
//   (j + c0 <= 0) or causal            prefix_lm<prefix = 1 - c0>
//
// all top-left aligned (the region sees indices within the sequence, as
// top-left atoms do). Anything else stays in the region.
//
//===----------------------------------------------------------------------===//

#include "attn/IR/AttnOps.h"
#include "attn/Transforms/MaskModForms.h"
#include "attn/Transforms/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/ADT/TypeSwitch.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNLIFTMASKMODS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
/// Constants beyond this magnitude are left in the region (no overflow in
/// the sums below, and no window wider than any sequence).
constexpr int64_t kMaxConstant = int64_t(1) << 40;

/// ci * i + cj * j + c0.
struct Linear {
  int64_t ci = 0, cj = 0, c0 = 0;
  Linear operator-() const { return {-ci, -cj, -c0}; }
  Linear operator+(const Linear &o) const {
    return {ci + o.ci, cj + o.cj, c0 + o.c0};
  }
  Linear operator-(const Linear &o) const { return *this + -o; }
};

/// `v` as a linear form of the query index `i` and key index `j`, or none.
std::optional<Linear> linearize(Value v, Value i, Value j, int depth = 0) {
  if (v == i)
    return Linear{1, 0, 0};
  if (v == j)
    return Linear{0, 1, 0};
  APInt c;
  if (matchPattern(v, m_ConstantInt(&c)))
    return c.getSignificantBits() <= 41 &&
                   std::abs(c.getSExtValue()) < kMaxConstant
               ? std::optional<Linear>(Linear{0, 0, c.getSExtValue()})
               : std::nullopt;
  Operation *def = v.getDefiningOp();
  if (!def || depth > 8 || !isa<arith::AddIOp, arith::SubIOp>(def))
    return std::nullopt;
  auto lhs = linearize(def->getOperand(0), i, j, depth + 1);
  auto rhs = linearize(def->getOperand(1), i, j, depth + 1);
  if (!lhs || !rhs)
    return std::nullopt;
  Linear sum = isa<arith::AddIOp>(def) ? *lhs + *rhs : *lhs - *rhs;
  if (std::abs(sum.c0) >= kMaxConstant || std::abs(sum.ci) > 8 ||
      std::abs(sum.cj) > 8)
    return std::nullopt;
  return sum;
}

/// The constraints `c <= 0` that the i1 value `v` states, or none.
std::optional<SmallVector<Linear, 2>> constraintsOf(Value v, Value i, Value j) {
  auto cmp = v.getDefiningOp<arith::CmpIOp>();
  if (!cmp || !cmp.getLhs().getType().isIndex())
    return std::nullopt;
  auto lhs = linearize(cmp.getLhs(), i, j);
  auto rhs = linearize(cmp.getRhs(), i, j);
  if (!lhs || !rhs)
    return std::nullopt;
  Linear d = *lhs - *rhs, one{0, 0, 1};
  switch (cmp.getPredicate()) {
  case arith::CmpIPredicate::sle:
    return SmallVector<Linear, 2>{d};
  case arith::CmpIPredicate::slt:
    return SmallVector<Linear, 2>{d + one};
  case arith::CmpIPredicate::sge:
    return SmallVector<Linear, 2>{-d};
  case arith::CmpIPredicate::sgt:
    return SmallVector<Linear, 2>{-d + one};
  case arith::CmpIPredicate::eq:
    return SmallVector<Linear, 2>{d, -d};
  default:
    return std::nullopt;
  }
}

/// The atom of one constraint `c <= 0`, or null.
Attribute atomOf(MLIRContext *ctx, const Linear &c) {
  auto topLeft = Alignment::top_left;
  if (c.ci == -1 && c.cj == 1 && c.c0 <= 0) // j <= i + R
    return c.c0 == 0 ? Attribute(CausalAttr::get(ctx, topLeft))
                     : SlidingWindowAttr::get(ctx, -1, -c.c0, topLeft);
  if (c.ci == 1 && c.cj == -1 && c.c0 <= 0) // j >= i - L
    return SlidingWindowAttr::get(ctx, -c.c0, -1, topLeft);
  return nullptr;
}

/// The atoms that state the i1 value `v` exactly, or none.
std::optional<SmallVector<Attribute>> atomsOf(Value v, Value i, Value j) {
  MLIRContext *ctx = v.getContext();
  if (auto orOp = v.getDefiningOp<arith::OrIOp>()) {
    // (j <= P - 1) or causal: prefix-LM.
    for (auto [prefixSide, causalSide] :
         {std::pair{orOp.getLhs(), orOp.getRhs()},
          std::pair{orOp.getRhs(), orOp.getLhs()}}) {
      auto prefix = constraintsOf(prefixSide, i, j);
      auto causal = atomsOf(causalSide, i, j);
      if (prefix && prefix->size() == 1 && causal && causal->size() == 1 &&
          isa<CausalAttr>(causal->front())) {
        const Linear &c = prefix->front();
        if (c.ci == 0 && c.cj == 1 && c.c0 <= 1)
          return SmallVector<Attribute>{
              PrefixLMAttr::get(ctx, 1 - c.c0, Alignment::top_left)};
      }
    }
    return std::nullopt;
  }
  auto constraints = constraintsOf(v, i, j);
  if (!constraints)
    return std::nullopt;
  SmallVector<Attribute> atoms;
  for (const Linear &c : *constraints) {
    Attribute atom = atomOf(ctx, c);
    if (!atom)
      return std::nullopt;
    atoms.push_back(atom);
  }
  return atoms;
}

/// Lifts the closed-form conjuncts of `op`'s mask_mod region into atoms of
/// its masks (only where #attn.mask_mod is a top-level conjunct: inside an
/// #attn.or its conjuncts are not the mask's).
template <typename OpTy> void liftMaskMod(OpTy op) {
  ArrayAttr masks = op.getMasksAttr();
  Region &region = op.getMaskMod();
  if (!maskModIsConjunct(masks) || region.empty())
    return;
  Block &body = region.front();
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield || yield.getNumOperands() != 1 || body.getNumArguments() != 4)
    return;
  Value i = body.getArgument(2), j = body.getArgument(3);
  SmallVector<Value> conjuncts, kept;
  collectConjuncts(yield.getOperand(0), conjuncts);
  SmallVector<Attribute> atoms;
  for (Value conjunct : conjuncts) {
    if (auto lifted = atomsOf(conjunct, i, j))
      atoms.append(*lifted);
    else
      kept.push_back(conjunct);
  }
  if (atoms.empty())
    return;
  SmallVector<Attribute> newMasks;
  for (Attribute atom : masks)
    if (!kept.empty() || !isa<MaskModAttr>(atom))
      newMasks.push_back(atom);
  newMasks.append(atoms);
  op.setMasksAttr(ArrayAttr::get(op.getContext(), newMasks));
  if (kept.empty()) {
    region.getBlocks().clear();
    return;
  }
  OpBuilder b(yield);
  Value keep = kept.front();
  for (Value v : ArrayRef(kept).drop_front())
    keep = arith::AndIOp::create(b, yield.getLoc(), keep, v);
  yield->setOperands(keep);
  // The lifted conjuncts' ops are dead now (the block's arguments stay:
  // the region keeps its (b, h, q_idx, kv_idx) signature).
  for (bool erased = true; erased;) {
    erased = false;
    for (Operation &nested : llvm::make_early_inc_range(llvm::reverse(body)))
      if (isOpTriviallyDead(&nested)) {
        nested.erase();
        erased = true;
      }
  }
}

struct LiftMaskModsPass
    : public attn::impl::AttnLiftMaskModsBase<LiftMaskModsPass> {
  void runOnOperation() override {
    getOperation()->walk([](Operation *op) {
      llvm::TypeSwitch<Operation *>(op).Case<AttentionOp, BlockMaskOp>(
          [](auto op) { liftMaskMod(op); });
    });
  }
};
} // namespace
