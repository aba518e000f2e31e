//===- Sm80KernelBuilder.h - sm80 kernel body builder -----------*- C++ -*-===//
//
// Builds the body of one sm80 kernel (docs/gpu-kernel-design.md):
//
//   one CTA of `warps` warps per (query tile of block_q = 16 x warps rows,
//   head, batch); each warp owns 16 rows; K/V tiles of block_k keys stream
//   through `stages` shared-memory stages with cp.async
//   (nvgpu.device_async_copy); S = Q K^T and O += P V run on
//   nvgpu.mma.sync m16n8k16 (nvvm.mma.sync for bf16) with operands from
//   nvgpu.ldmatrix; row max and row sum use warp shuffles; exp2 becomes
//   ex2.approx.
//
// The kv range and the empty / full / partial classes come from the mask
// analysis, the per-element masks, score modifications and gates from the
// element code shared with the CPU path (TilingContext.h). The methods
// live in three files: Sm80Schedule.cpp (launch order, kv schedule),
// Sm80Pipeline.cpp (set-up, the loop, cp.async memory movement) and
// Sm80Math.cpp (MMA fragments, online softmax on fragments, epilogue). The
// decode strategy builds the same body with packed heads; the sm90a strategy
// with swizzled tiles and warpgroup MMAs in an overlapped loop
// (Sm90Pipeline.cpp, Sm90Math.cpp): its accumulators have the m16n8 fragment
// layout, so the softmax and epilogue are shared.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOGPU_SM80KERNELBUILDER_H
#define ATTN_LIB_CONVERSION_ATTNTOGPU_SM80KERNELBUILDER_H

#include "NvvmMath.h"
#include "Sm80Config.h"
#include "Wgmma.h"

#include "attn/Transforms/DocumentKeys.h"
#include "attn/Transforms/TilingContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <functional>

namespace mlir::attn::sm80 {

/// Whether `threads` loading threads cover whole rows of a `dim`-wide tile
/// (its dim / chunkElements 16-byte chunks per row divide them; 8 halves
/// or 16 fp8 values per chunk): each thread's copies then keep one column
/// and step by whole rows, a few adds per copy.
inline bool copiesCoverWholeRows(int64_t dim, int64_t threads,
                                 int64_t chunkElements = 8) {
  return threads % (dim / chunkElements) == 0;
}

/// Builds the kernel body at the builder's insertion point.
class KernelBuilder {
public:
  /// `workspace`: the split-KV workspace (null unless config.kv_splits > 1).
  KernelBuilder(OpBuilder &b, Location loc, AttentionOp op,
                const AttentionBuffers &buf, LoweringConfigAttr config,
                Value workspace = nullptr)
      : b(b), loc(loc), op(op), buf(buf), config(config),
        tileQ(config.getBlockQ()), tileK(config.getBlockK()),
        numWarps(config.getWarps()), numStages(config.getStages()),
        producerWarps(config.getProducerWarps()), kvWarps(config.getKvWarps()),
        workspace(workspace) {
    shape = op.getProblemShape();
    if (config.getStrategy() == GpuStrategy::decode)
      packedHeads = shape.headsQ / shape.headsKV;
    wgmma = config.getStrategy() == GpuStrategy::sm90a;
    fp8 = fp8Read(op);
    elementType = op.getQ().getType().getElementType();
    headDim = shape.headDim;
    headDimV = shape.headDimV;
    pitch = headDim + kPad;
    pitchV = headDimV + kPad;
  }

  /// Emits the whole body: set-up and sequence bounds, the kv schedule, the
  /// pipelined loop over kv steps, the epilogue.
  void build();

  /// A config with `tma`: the producer copies Q, K and V tiles with TMA
  /// through these tensor-map arguments (TensorMaps.h).
  void copyWithTensorMaps(Value q, Value k, Value v) {
    qMap = q;
    kMap = k;
    vMap = v;
  }

private:
  /// This CTA's tile: its position, sequence bounds (a CTA with nothing to
  /// do leaves), shared-memory views, the Q copy (unless a producer makes
  /// it) and the kv schedule (tileCount, tileAt, isFullTile).
  void setUpTile();

  /// Maps the grid's launch order to (query tile, head, batch): heads in
  /// groups sized for L2, inside a group the tile slowest (Sm80Schedule.cpp
  /// states the order); `qt` in: blockIdx.x, out: the tile counted from
  /// the last.
  void orderTilesInHeadGroups(Value &qt);

  /// sm80 and decode: the cp.async-pipelined kv loop on mma.sync, and the
  /// epilogue.
  void buildSm80Loop();

  /// The kv tiles the mask analysis keeps for this query tile, in order:
  /// step t visits tile ktLo + t; tiles inside the full interval (and not
  /// ragged: the zero-filled padding keys of a ragged tile must be masked)
  /// run the mask-free code.
  void scheduleKvRange();

  /// The document scan spread over the CTA's threads (DocumentKeys.h).
  ScanLanes ctaScanLanes();

  /// Block-sparse (FlexAttention BlockMask): the kv blocks listed for this
  /// tile's query block, partial ones first (masks evaluated), then the full
  /// ones (no mask code unless ragged). A block of kv_block keys is
  /// kv_block / block_k consecutive tiles; step t maps to a listed block and a
  /// tile inside it.
  void scheduleListedBlocks();

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value minIdx(Value x, Value y) {
    return arith::MinSIOp::create(b, loc, x, y);
  }
  Value exp2(Value x) { return emitExp2(b, loc, x); }
  Value log2(Value x) { return emitLog2(b, loc, x); }
  Value maxIdx(Value x, Value y) {
    return arith::MaxSIOp::create(b, loc, x, y);
  }
  Value addIdx(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  /// The shared-memory stage of kv step (or copy step) `step`.
  Value stageOf(Value step) {
    return arith::RemUIOp::create(b, loc, step, index(numStages));
  }
  Value mulIdx(Value x, int64_t c) {
    return arith::MulIOp::create(b, loc, x, index(c));
  }
  Value mulIdx(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  /// Row `r` of this warp's share of a K/V tile as a row of the tile (the
  /// same row with one kv warp).
  Value tileKey(Value r) { return kvKey0 ? addIdx(r, kvKey0) : r; }
  /// An index as i32, and back (sign-extended).
  Value narrow32(Value x) {
    return arith::IndexCastOp::create(b, loc, b.getI32Type(), x);
  }
  Value widen32(Value x) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), x);
  }
  /// Unsigned quotient and remainder of non-negative indices.
  Value divIdx(Value x, Value y) {
    return arith::DivUIOp::create(b, loc, x, y);
  }
  Value remIdx(Value x, Value y) {
    return arith::RemUIOp::create(b, loc, x, y);
  }

  /// The Q tile and the K/V stages as views of dynamic shared memory:
  /// padded rows for ldmatrix, or (wgmma) flat 128-byte-swizzled panels
  /// from a 1024-byte-aligned base (Wgmma.h).
  void createSharedViews();

  /// Makes this thread's completed cp.async writes visible to wgmma (the
  /// async proxy) and waits for the whole CTA.
  void sharedBarrier();

  /// Makes this thread's completed cp.async writes visible to wgmma (the
  /// async proxy).
  void asyncProxyFence();

  /// sm90a with a producer warpgroup (Sm90WarpSpecialized.cpp): the
  /// producer (threads past the consumers') loads Q and the K/V stages and
  /// publishes each on its "full" mbarrier; the consumers run the
  /// overlapped loop on published stages and hand each back on its "empty"
  /// mbarrier. No CTA barrier inside the loop.
  void buildSpecializedLoop();
  void produceTiles();
  void consumeTiles();

  /// The producer with tensor maps: one thread arrives on step j's full
  /// barrier expecting its bytes and issues its TMA copies, panel by
  /// panel, of Q (step 0), K_j and V_{j-1}; a step past the schedule (and
  /// the V slot of step 0) copies rows outside the tensor: zeros.
  void produceTilesWithTensorMaps();
  /// TMA copies of `tileRows` rows from sequence row `row` (of head
  /// `head`) of `map`'s tensor into the swizzled tile at shared byte
  /// address `dst`, completing on `barrier`.
  void copyTileWithTensorMap(Value map, Value dst, Value barrier, Value row,
                             Value head, int64_t tileRows, int64_t dim);

  /// The `!llvm.ptr<3>` of mbarrier `slot` (Wgmma.h's mbarrierCount).
  Value mbarrier(Value slot);

  /// A stage's mbarriers (Sm90WarpSpecialized.cpp): kind k of stage s is
  /// slot k * stages + s.
  enum class StageBarrier { full = 0, empty = 1, landed = 2 };
  Value stageBarrier(StageBarrier kind, Value stage);
  /// Waits for kv step `step`'s phase of its stage's `kind` barrier (phase
  /// step / stages); `empty`: for the consumers' release of step
  /// step - stages (a fresh barrier's "phase -1" passes at once).
  void waitStep(StageBarrier kind, Value step);

  /// One step of the overlapped loop (Sm90Pipeline.cpp) on K stage
  /// `kStage` and V stage `vStage`, tile `kt`: `state` is (m0, m1, l0, l1,
  /// O..., P...). `afterPV` runs once P_{t-1} V_{t-1} and S_t completed
  /// (both stages are read). Returns the next state.
  SmallVector<Value> overlappedStep(Value t, Value kt, ArrayRef<Value> state,
                                    Value kStage, Value vStage,
                                    function_ref<void()> afterPV = {});

  /// The initial state of the overlapped loop: m = -max, l = 0, O = 0 and
  /// P = 0 (P_{-1} V_{-1} adds nothing).
  SmallVector<Value> overlappedInit();

  /// O *= (c0, c1) per row: skipped (lazyRescale) where the whole warp
  /// kept its maxima.
  SmallVector<Value> rescaleUnlessKept(ArrayRef<Value> out, Value c0, Value c1);

  /// O += P_last V_last from V stage `vStage`, then the epilogue.
  void finishOverlapped(ArrayRef<Value> state, Value vStage);

  /// sm90a: the kv loop with FlashAttention-3's overlap inside each
  /// warpgroup (Sm90Pipeline.cpp): step t issues S_t = Q K_t^T and
  /// O += P_{t-1} V_{t-1}, waits for S_t, runs the softmax of tile t while
  /// the P V GEMM runs, then waits for it and rescales O. K runs one tile
  /// ahead of V: K_{t+S-1} and V_{t+S-2} load while K_t and V_{t-1} are
  /// read. The Q tile's cp.async group is older than step 0's: the first
  /// step's wait covers it.
  void buildWgmmaLoop();

  /// Issues S = Q K^T of stage `stage` on the warpgroup's 64 rows (wgmma,
  /// one committed group): tileK / 8 accumulator fragments, read only
  /// through wgmmaWait.
  SmallVector<Value> wgmmaScores(Value stage);

  /// O += P V of stage `stage` (wgmma, P from registers: `pFrags` holds
  /// the 4x2 A fragment of each 16 keys); issued only unless `wait`.
  SmallVector<Value> wgmmaPV(ArrayRef<Value> pFrags, ArrayRef<Value> outAcc,
                             Value stage, bool wait);

  /// Waits until at most `pending` wgmma groups are in flight; returns
  /// `accumulators` (2x2 fragments) as read after the wait.
  SmallVector<Value> wgmmaWait(int64_t pending, ArrayRef<Value> accumulators);

  /// Continues only where `cond` holds: the rest of the kernel body is built
  /// inside an scf.if (a CTA with nothing to do returns at once).
  void exitUnless(Value cond);

  /// Builds `body` inside an scf.if on `cond`; the builder then continues
  /// after it.
  void emitIf(Value cond, function_ref<void()> body);

  /// The (sequence row, query head) of row `tileRow` of the query tile:
  /// (q0 + tileRow, h) for one head per CTA; packed (decode), rows
  /// r = s * G + g hold query s of head hk * G + g, G = Hq / Hkv.
  std::pair<Value, Value> queryRow(Value tileRow);

  /// The tile row of accumulator row g (x = 0) or g + 8 (x = 1) of this
  /// lane's warp.
  Value fragmentRow(int x) {
    return addIdx(mulIdx(warp, kRowsPerWarp), addIdx(group, index(8 * x)));
  }

  /// Split-KV: this CTA (split blockIdx.x of gridDim.x) keeps steps
  /// [lo, lo + ceil(count / splits)) of the kv schedule.
  void splitSchedule();
  /// This split's share of `count` steps: (first, how many).
  std::pair<Value, Value> splitSteps(Value count);

  /// Stores the finished rows: out and lse (sinks applied), or, for one
  /// split of several (`partial`), the split's normalised output and its
  /// log2-domain log-sum-exp into the workspace (MergeKernel.h).
  void storeRows(ArrayRef<Value> results, bool partial);

  /// sm90a: whether storeRows stages the output tile in the Q tile's shared
  /// memory and writes it 16 bytes at a time (copyStagedRows), and the
  /// staged tile's swizzled layout.
  bool stagesOutput() const;
  sm90::SwizzleLayout outputLayout() const;
  void copyStagedRows();

  /// Row x of an accumulator fragment times `inverse`, as a pair of the
  /// element type (the two adjacent output columns of this lane).
  Value outPair(Value acc, int x, Value inverse);

  /// Indices of (sequence row `row`, head, column) in a [B, S, H, D] or
  /// [B, H, S, D] tensor, or in a packed varlen [T, H, D] one whose sequence
  /// starts at `start`.
  SmallVector<Value> rowIndices(Value start, Value row, Value head, Value col);

  /// Copies `tileRows` rows of the sequence starting at packed row `start`
  /// of `src` (`dim` columns), tile row r being (sequence row, head) =
  /// rowOf(r) and zero-filled where the row is at or past `rows`, into
  /// `dst` (2-D, or stage `stage` of a 3-D buffer), 16 bytes per cp.async.
  /// `indicesOf(row, head, col)`: the indices into `src` (default: the
  /// q/k/v layout's, rowIndices); a paged K/V pool gives its own.
  void loadTile(
      Value src, Value dst, Value stage, int64_t tileRows, int64_t dim,
      Value start, Value rows,
      function_ref<std::pair<Value, Value>(Value)> rowOf,
      function_ref<SmallVector<Value>(Value, Value, Value)> indicesOf = {});

  /// The indices of element (r, col) of a shared tile of `tileRows` x `dim`
  /// (stage `stage` of it, or the 2-D tile when null): [stage, r, col] of
  /// padded rows, or (wgmma) the flat offset in 128-byte-swizzled panels.
  SmallVector<Value> sharedTileIndices(Value stage, Value r, Value col,
                                       int64_t tileRows, int64_t dim);

  /// Closes the cp.async copies issued so far into one group (its token).
  Value commitGroup();

  /// Copies the Q tile (the loading threads' share) as one cp.async group.
  Value loadQ();

  /// Which of a tile's K and V a copy moves.
  enum class KVPart { both, k, v };

  /// K and/or V of the tile of step `t` into `stage`; a step past the last
  /// is zero-filled (keeps one group per iteration, so the wait count is
  /// fixed). Returns the tile.
  Value loadKV(Value t, Value stage, KVPart part = KVPart::both);

  /// #attn.rope (SharedRope.cpp): rotates rows [0, tileRows) of the padded
  /// shared tile `tile` (stage `stage` of it, or the 2-D tile when null) in
  /// place, row r at position positionOf(r), spread over every thread. The
  /// caller makes the copy visible before and waits for the CTA after.
  /// `firstPosition`: where row r sits at firstPosition + r (a K tile),
  /// so that each thread's rows turn by a fixed step (fewer sin/cos).
  void rotateSharedTile(Value tile, Value stage, int64_t tileRows,
                        function_ref<Value(Value)> positionOf,
                        Value firstPosition = nullptr);
  /// Calls body(row, unit) for every unit of a rows x perRow grid of a
  /// shared tile, spread over all threads of the CTA (rolled where a thread
  /// has many). `columnSetUp(unit)` runs before a unit's body, or once per
  /// thread where each thread keeps one unit column. Up to `maxUnrolled`
  /// units per thread are emitted unrolled (their loads all in flight).
  void forEachTileUnit(int64_t rows, int64_t perRow,
                       function_ref<void(Value, Value)> body,
                       function_ref<void(Value)> columnSetUp = {},
                       int64_t maxUnrolled = 4);

  /// An fp8 cache (SharedDequant.cpp): stage `stage` of the byte staging
  /// tiles of K and V dequantized (x * k_scale, x * v_scale, rounded to the
  /// element type) into the single K/V tiles the MMAs read (stage 0 of
  /// kShared / vShared), spread over every thread. The caller makes the
  /// copies visible before and waits for the CTA after.
  void dequantizeStage(Value stage);
  /// Dequantizes `dim`-wide rows of staged words `words` into `tile`.
  void dequantizeTile(Value words, Value tile, Value stage, int64_t dim);
  /// Columns col .. col + 3 of row r: the 4 values of `word` (i32) stored
  /// to `tile` (stage 0) in the element type.
  void dequantizeWord(Value word, Value tile, Value r, Value col);
  /// Two e4m3 values (the low and high byte of an i16) as a vector<2> of
  /// the element type, exactly.
  Value e4m3Pair(Value pair);
  /// Fragments read straight from the byte stages (Fp8Read::fragments):
  /// the B fragment of S = Q K^T for keys 8n.. and dims 16kk..; of O += P V
  /// for keys 16kb.. and value columns 8nd.. (the m16n8k16 B layout:
  /// this lane's (k = 2 quad + {0, 1}, n = group) and k + 8).
  Value fp8KFragment(Value stage, int64_t n, int64_t kk);
  Value fp8VFragment(Value stage, int64_t kb, int64_t nd);

  /// The rope frequencies f_d (a constant global of the kernel module,
  /// from RopeAttr::inverseFrequencies), fetched once per kernel.
  Value ropeFrequencies();

  /// The Q tile's A fragments (ldmatrix.x4), loaded once per CTA.
  void loadQFragments();

  /// Step t of the kv schedule (its tile was found when it was prefetched);
  /// returns the next loop state.
  SmallVector<Value> iteration(Value t, ArrayRef<Value> state);

  /// One tile's online-softmax update: the new (m0, m1, l0, l1) of rows g
  /// and g + 8, the factors exp2(m - m') O is rescaled by, and P (tileK / 8
  /// 2x2 f32 fragments).
  struct SoftmaxUpdate {
    SmallVector<Value> rowState;
    Value corr[2];
    SmallVector<Value> probs;
  };
  /// With `keepBits` (from tileKeepBits) a partial tile's masks and key
  /// bound are read from the bits instead of evaluated here.
  SoftmaxUpdate onlineSoftmax(ArrayRef<Value> scores, Value k0, bool partial,
                              ArrayRef<Value> rowState,
                              ArrayRef<Value> keepBits = {});

  /// What the element code of this lane's accumulator elements sees: for
  /// fragment rows x = 0, 1 the query row (within the sequence) and its
  /// position; the first column k0 + 2 quad and the key length as i32.
  struct FragmentCoords {
    TilePosition rowPos[2];
    Value row[2];
    Value firstColumn, seqK32;
  };
  FragmentCoords fragmentCoords(Value k0);
  /// Column 8 n + y of the lane's fragments: (i32, index).
  std::pair<Value, Value> fragmentColumn(const FragmentCoords &coords,
                                         int64_t n, int y);

  /// A partial tile's keep flags under the masks and the key bound, packed:
  /// element (x, n, y) is bit (2 n + y) mod 32 of word 2 ((2 n + y) / 32)
  /// + x. Emitted between issuing a wgmma and waiting for it, the mask code
  /// (and its reads of captured ids) runs while the tensor cores compute S.
  SmallVector<Value> tileKeepBits(Value k0);
  /// tileKeepBits' words: one per fragment row and 32 of its tileK / 4
  /// columns.
  int64_t keepBitWords() const { return 2 * ((tileK / 4 + 31) / 32); }
  /// Whether the overlapped sm90a step evaluates partial tiles' masks
  /// before its S wait (tileKeepBits): where a mask_mod reads a captured
  /// tensor per key. Chosen by measurement (H100, FlexAttention gallery):
  /// per-batch documents 11% and softcap + documents 16% faster with bits;
  /// masks of indices (d64 causal 4%, a per-head window 3%) and
  /// `#attn.document` (3%, its partial tiles are few after the id scan)
  /// slower; single-tensor documents unchanged.
  bool precomputesKeeps() { return wgmma && maskModReadsPerKey(op); }

  /// sm90a (without sparse softmax): the softmax keeps a row's reference
  /// maximum while the maximum grows by at most kLazyRescaleLog2 (in the
  /// log2 domain: weights up to 2^8), so most steps skip O *= c.
  bool lazyRescale() const { return wgmma && !sparseThreshold; }
  static constexpr double kLazyRescaleLog2 = 8.0;

  /// The A fragment (4x2 of the element type) of keys [16 kb, 16 kb + 16):
  /// P's fragments 2 kb and 2 kb + 1 rounded, in m16n8k16 order.
  Value pFragment(ArrayRef<Value> probs, int64_t kb);

  /// The online-softmax update and O += P V for one tile; `state` is
  /// (m0, m1, l0, l1, O...). Returns the next state.
  SmallVector<Value> softmaxAndPV(ArrayRef<Value> scores, Value k0,
                                  bool partial, ArrayRef<Value> state,
                                  Value stage);

  /// acc += a * b on one m16n8k16 tensor-core tile (a: 4x2, b: 2x2 of the
  /// element type, acc: 2x2 f32 per thread). f16 goes through
  /// nvgpu.mma.sync; nvgpu cannot type bf16 operands, so bf16 goes straight
  /// to nvvm.mma.sync on the same register fragments reinterpreted as i32
  /// pairs (the PTX instruction's own operand form).
  Value mma(Value a, Value bFrag, Value acc);

  /// The m16n8k16 B fragment (2x2 of the element type) whose 8 x 16 block
  /// starts at (row, col) of stage `stage` of a padded shared tile, by
  /// ldmatrix.x2 (`transpose`d for V, whose keys are its rows).
  Value ldmatrixB(Value tile, Value stage, Value row, Value col,
                  bool transpose);

  Value extract(Value vec, int64_t x, int64_t y) {
    return vector::ExtractOp::create(b, loc, vec, ArrayRef<int64_t>{x, y});
  }

  /// An accumulator fragment with its rows g and g + 8 scaled by c0, c1.
  Value rescale(Value acc, Value c0, Value c1);

  /// Reduces over the 4 lanes that share a row (xor 1, xor 2).
  Value quadReduce(Value v, bool max);

  /// The epilogue: out = O / l (0 for a row that kept nothing), lse, sinks;
  /// every row of the tile inside the sequence is written.
  void finalize(ArrayRef<Value> results);

  /// Several kv warps: once the copies (`lastGroup` the youngest) are done,
  /// kv warps 1.. hand their (m, l, O) to kv warp 0 through shared memory,
  /// which merges them (M = max m, each state scaled by 2^(m - M), the
  /// softmax's log2 domain); returns the merged (m0, m1, l0, l1, O...),
  /// meaningful in kv warp 0.
  SmallVector<Value> mergeKvWarps(ArrayRef<Value> state, Value lastGroup);

  OpBuilder &b;
  Location loc;
  AttentionOp op;
  const AttentionBuffers &buf;
  LoweringConfigAttr config;
  /// The tile sizes of the lowering config: query rows per CTA, keys per
  /// kv step, warps.
  const int64_t tileQ, tileK, numWarps;
  /// Shared-memory stages of K/V tiles: S-1 tiles load while one is used.
  const int64_t numStages;
  /// sm90a: warps of the producer warpgroup (0: none, every thread loads).
  const int64_t producerWarps;
  /// Warps sharing each query row, each taking tileK / kvWarps keys of every
  /// tile (decode); this warp's index among them and its first key in a
  /// tile (null with one kv warp).
  const int64_t kvWarps;
  Value kvWarp, kvKey0;
  /// The dynamic shared memory (bytes), of which the tiles are views.
  Value sharedBase;
  /// The threads that copy and rewrite tiles (forEachTileUnit, rope): this
  /// thread's index among them, and how many there are (every thread, or
  /// the producer warpgroup's).
  Value loadThread;
  int64_t loadThreads = 0;
  /// Producer warpgroup: the shared address (bytes) of the first mbarrier.
  Value barrierAddress;
  /// Decode: query heads per kv head packed into the tile (0: one head per
  /// CTA).
  int64_t packedHeads = 0;
  /// sm90a: wgmma GEMMs from swizzled shared memory (Wgmma.h).
  bool wgmma = false;
  /// wgmma: the shared addresses (bytes) of the Q tile and K/V stage 0.
  Value qAddress, kAddress, vAddress;
  /// Tensor-map arguments of Q, K and V where the producer copies with TMA
  /// (null otherwise).
  Value qMap, kMap, vMap;
  Value workspace;
  ProblemShape shape;
  Type elementType, f32;
  int64_t headDim, headDimV, pitch, pitchV;
  TilePosition pos;
  Value tid, warp, lane, group, quad;
  Value qShared, kShared, vShared;
  /// The Q tile's cp.async group (null where a producer copies it).
  Value qGroup;
  /// The kv schedule: steps [0, tileCount), the tile of a step, and whether
  /// a step's tile runs the mask-free code.
  Value tileCount;
  std::function<Value(Value)> tileAt;
  std::function<Value(Value, Value)> isFullTile;
  /// Whether the kv schedule already holds only this split's steps (a
  /// document scan per split).
  bool scheduleIsSplit = false;
  /// The sparse-softmax threshold of this sequence (null without).
  Value sparseThreshold;
  SmallVector<Value> qFrags;
  /// #attn.rope: the frequency table (null until ropeFrequencies()).
  Value ropeTable;
  /// An fp8 cache: how it is read, the staging tiles (as f8E4M3FN for the
  /// copies, i32 words for the pass, i16 pairs of K and bytes of V for the
  /// fragment loads) and the scales (f32; applied to S and to the output).
  Fp8Read fp8 = Fp8Read::none;
  Value kStaging, vStaging, kWords, vWords, kHalves, vBytes8, kScale, vScale;
};

} // namespace mlir::attn::sm80

#endif // ATTN_LIB_CONVERSION_ATTNTOGPU_SM80KERNELBUILDER_H
