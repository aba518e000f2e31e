//===- OpProblem.cpp - the oracle's problem for an attn.attention ---------===//

#include "attn/Reference/OpProblem.h"
#include "attn/IR/AttnOps.h"
#include "attn/Reference/MaskReference.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

namespace {
llvm::Error notCovered(const llvm::Twine &what) {
  return llvm::createStringError("the reference does not cover " + what);
}
} // namespace

llvm::Expected<reference::Problem> reference::problemFromOp(AttentionOp op,
                                                            int64_t batch,
                                                            int64_t seqQ,
                                                            int64_t seqK) {
  const char *operands[] = {
      "cu_seqlens_q",    "cu_seqlens_k", "seqused_q",
      "seqused_k",       "doc_ids_q",    "doc_ids_kv",
      "custom_mask",     "alibi_slopes", "bias",
      "kv_num_blocks",   "kv_indices",   "full_kv_num_blocks",
      "full_kv_indices", "sinks",        "gate_alpha",
      "gate_delta"};
  Value present[] = {
      op.getCuSeqlensQ(),    op.getCuSeqlensK(),  op.getSequsedQ(),
      op.getSequsedK(),      op.getDocIdsQ(),     op.getDocIdsKv(),
      op.getCustomMask(),    op.getAlibiSlopes(), op.getBias(),
      op.getKvNumBlocks(),   op.getKvIndices(),   op.getFullKvNumBlocks(),
      op.getFullKvIndices(), op.getSinks(),       op.getGateAlpha(),
      op.getGateDelta()};
  for (auto [name, value] : llvm::zip_equal(operands, present))
    if (value)
      return notCovered(llvm::Twine("the ") + name + " operand");
  if (op.hasFp8Kv())
    return notCovered("f8E4M3FN k/v (an fp8 KV cache)");
  if (!op.getMaskMod().empty() || !op.getScoreMod().empty())
    return notCovered("mask_mod/score_mod regions");
  if (op.getBlockSparseAttr() || op.getSparseSoftmaxAttr() || op.getGateAttr())
    return notCovered("block sparsity, sparse softmax or gates");
  if (!op.getScaleAttr())
    return notCovered("an op without an explicit scale (run "
                      "--attn-materialize-defaults first)");

  bool bhsd = op.getLayout() == Layout::bhsd;
  auto q = cast<RankedTensorType>(op.getQ().getType());
  auto k = cast<RankedTensorType>(op.getK().getType());
  auto v = cast<RankedTensorType>(op.getV().getType());
  int64_t headsAxis = bhsd ? 1 : 2;
  Problem problem;
  problem.batch = batch;
  problem.seqQ = seqQ;
  problem.seqK = seqK;
  problem.bhsd = bhsd;
  problem.headsQ = q.getDimSize(headsAxis);
  problem.headsKV = k.getDimSize(headsAxis);
  problem.headDim = q.getDimSize(3);
  problem.headDimV = v.getDimSize(3);
  problem.scale = op.getScaleAttr().getValueAsDouble();

  if (RopeAttr rope = op.getRopeAttr())
    problem.rope = Problem::Rope{rope.getTheta().getValueAsDouble(),
                                 rope.getScale().getValueAsDouble(),
                                 rope.getAlign() == Alignment::bottom_right};
  for (Attribute atom : op.getMasksAttr() ? op.getMasksAttr().getValue()
                                          : ArrayRef<Attribute>()) {
    auto mask = cast<MaskAttrInterface>(atom);
    if (!mask.isAnalytic())
      return notCovered(llvm::formatv("the mask {0}", atom).str());
    problem.masks.push_back([atom](const Pair &p) {
      return analyticKeeps(atom, p.i, p.j, p.seqQ, p.seqK);
    });
  }
  for (Attribute mod : op.getScoreModsAttr() ? op.getScoreModsAttr().getValue()
                                             : ArrayRef<Attribute>()) {
    auto softcap = dyn_cast<SoftcapAttr>(mod);
    if (!softcap)
      return notCovered(llvm::formatv("the score mod {0}", mod).str());
    double cap = softcap.getCap().getValueAsDouble();
    problem.mods.push_back(
        [cap](double s, const Pair &) { return cap * std::tanh(s / cap); });
  }
  return problem;
}
