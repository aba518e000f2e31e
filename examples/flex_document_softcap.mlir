// FlexAttention-style packed training batch: causal attention inside each
// document (document ids per token), Gemma-2 soft-capping at 50, and a
// score_mod region adding a learned per-head bias times the distance.
func.func @flex_document_softcap(%q: tensor<1x?x16x64xf16>, %k: tensor<1x?x16x64xf16>,
                                 %v: tensor<1x?x16x64xf16>, %doc: tensor<1x?xi32>,
                                 %rel: tensor<16xf32>) -> tensor<1x?x16x64xf16> {
  %out = attn.attention %q, %k, %v
      doc_ids_q(%doc : tensor<1x?xi32>) doc_ids_kv(%doc : tensor<1x?xi32>)
      {masks = [#attn.causal<top_left>, #attn.document],
       score_mods = [#attn.softcap<50.0>, #attn.score_mod]}
      : tensor<1x?x16x64xf16>, tensor<1x?x16x64xf16>, tensor<1x?x16x64xf16>
      -> tensor<1x?x16x64xf16>
      score_mod {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
        %w = tensor.extract %rel[%h] : tensor<16xf32>
        %d = arith.subi %j, %i : index
        %di = arith.index_cast %d : index to i64
        %df = arith.sitofp %di : i64 to f32
        %bias = arith.mulf %w, %df : f32
        %r = arith.addf %s, %bias : f32
        attn.yield %r : f32
      }
  return %out : tensor<1x?x16x64xf16>
}
