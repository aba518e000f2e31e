//===- CanonicalizeMasks.cpp - one spelling per mask set ------------------===//

#include "attn/IR/AttnOps.h"
#include "attn/Transforms/Passes.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNCANONICALIZEMASKS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
/// Rank of an atom in the canonical order: cheap closed-form atoms first.
int atomRank(Attribute atom) {
  return llvm::TypeSwitch<Attribute, int>(atom)
      .Case<CausalAttr>([](auto) { return 0; })
      .Case<SlidingWindowAttr>([](auto) { return 1; })
      .Case<ChunkedAttr>([](auto) { return 2; })
      .Case<PrefixLMAttr>([](auto) { return 3; })
      .Case<DocumentAttr>([](auto) { return 4; })
      .Case<CustomMaskAttr>([](auto) { return 5; })
      .Case<MaskModAttr>([](auto) { return 6; })
      .Default([](auto) { return 7; });
}

bool keepsEverything(Attribute atom) {
  auto window = dyn_cast<SlidingWindowAttr>(atom);
  return window && window.getLeft() < 0 && window.getRight() < 0;
}

/// The canonical form of one atom; null when it keeps every key.
Attribute canonicalAtom(Attribute atom);

/// Canonical members of an `or`, flattened and deduplicated; null when a
/// member keeps everything (so does the `or`).
Attribute canonicalOr(OrMaskAttr orMask) {
  llvm::SetVector<Attribute> members;
  SmallVector<Attribute> worklist(orMask.getMembers().begin(),
                                  orMask.getMembers().end());
  for (size_t i = 0; i < worklist.size(); ++i) {
    Attribute member = canonicalAtom(worklist[i]);
    if (!member)
      return nullptr;
    if (auto nested = dyn_cast<OrMaskAttr>(member))
      members.insert(nested.getMembers().begin(), nested.getMembers().end());
    else
      members.insert(member);
  }
  if (members.size() == 1)
    return members.front();
  SmallVector<Attribute> sorted(members.begin(), members.end());
  llvm::stable_sort(sorted, [](Attribute a, Attribute b) {
    return atomRank(a) < atomRank(b);
  });
  return OrMaskAttr::get(orMask.getContext(),
                         ArrayAttr::get(orMask.getContext(), sorted));
}

Attribute canonicalAtom(Attribute atom) {
  if (keepsEverything(atom))
    return nullptr;
  if (auto window = dyn_cast<SlidingWindowAttr>(atom))
    if (window.getLeft() < 0 && window.getRight() == 0)
      return CausalAttr::get(atom.getContext(), window.getAlign());
  if (auto orMask = dyn_cast<OrMaskAttr>(atom))
    return canonicalOr(orMask);
  return atom;
}

/// Whether `masks` (recursively through `or`) holds an atom of type T.
template <typename T>
bool usesAtom(ArrayRef<Attribute> masks) {
  return llvm::any_of(masks, [](Attribute atom) {
    if (auto orMask = dyn_cast<OrMaskAttr>(atom))
      return usesAtom<T>(orMask.getMembers().getValue());
    return isa<T>(atom);
  });
}

/// Drops the operands and region that only dropped atoms used, so that the
/// op still verifies (e.g. `or(#attn.mask_mod, keep-everything)`).
void dropUnusedMaskInputs(AttentionOp op, ArrayRef<Attribute> masks) {
  if (!usesAtom<DocumentAttr>(masks)) {
    op.getDocIdsQMutable().clear();
    op.getDocIdsKvMutable().clear();
  }
  if (!usesAtom<CustomMaskAttr>(masks))
    op.getCustomMaskMutable().clear();
  if (!usesAtom<MaskModAttr>(masks))
    op.getMaskMod().getBlocks().clear();
}

struct CanonicalizeMasksPass
    : public attn::impl::AttnCanonicalizeMasksBase<CanonicalizeMasksPass> {
  void runOnOperation() override {
    getOperation()->walk([](AttentionOp op) {
      ArrayAttr masks = op.getMasksAttr();
      if (!masks)
        return;
      llvm::SetVector<Attribute> atoms;
      for (Attribute atom : masks)
        if (Attribute canonical = canonicalAtom(atom))
          atoms.insert(canonical);
      SmallVector<Attribute> sorted(atoms.begin(), atoms.end());
      llvm::stable_sort(sorted, [](Attribute a, Attribute b) {
        return atomRank(a) < atomRank(b);
      });
      dropUnusedMaskInputs(op, sorted);
      if (sorted.empty())
        op.removeMasksAttr();
      else
        op.setMasksAttr(ArrayAttr::get(op.getContext(), sorted));
    });
  }
};
} // namespace
