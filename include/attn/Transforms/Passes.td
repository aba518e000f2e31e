//===- Passes.td - attn passes -----------------------------*- tablegen -*-===//

#ifndef ATTN_TRANSFORMS_PASSES_TD
#define ATTN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnMaterializeDefaults : Pass<"attn-materialize-defaults"> {
  let summary = "Write every defaulted attn.attention attribute explicitly";
  let description = [{
    Makes each `attn.attention` self-describing before it is lowered:
    `scale` becomes explicit (1/sqrt(head_dim) when absent) and empty
    `masks` / `score_mods` arrays are removed, so that later passes read one
    form only. The op's semantics are unchanged.
  }];
}

#endif // ATTN_TRANSFORMS_PASSES_TD
