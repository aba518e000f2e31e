//===- TestPasses.td - attn test-only passes ---------------*- tablegen -*-===//
//
// Passes that exist to print what an analysis decides, for lit tests; they
// are registered by attn-opt only (registerAttnTestPasses), not shipped in
// the compiler libraries.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_PASSES_TD
#define ATTN_TEST_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnTestTileClasses : Pass<"attn-test-tile-classes"> {
  let summary = "Report the empty/full/partial class of every tile (testing)";
  let description = [{
    For each `attn.attention` with static, non-varlen sequence lengths,
    emits a remark with one line per query tile and one letter per kv tile:
    `E` (empty: never visited), `F` (full: no mask code), `P` (partial:
    masks evaluated per element). This prints what the tiling pass decides.
  }];
  let options = [
    Option<"qTile", "q-tile", "int64_t", /*default=*/"64", "query rows per tile">,
    Option<"kvTile", "kv-tile", "int64_t", /*default=*/"64", "keys per tile">,
  ];
}

#endif // ATTN_TEST_PASSES_TD
