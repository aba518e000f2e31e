//===- RotaryEmbedding.h - #attn.rope's rotation, for every lowering -*- C++
//-*-===//
//
// The math of one rotated pair (RopeAttr's description), shared by the CPU
// tiling (which rotates q and k tiles into f32 stack tiles) and the GPU
// kernels (which rotate the tiles in shared memory after they land). A
// lowering gives its own sine and cosine: libm on the CPU, a range
// reduction and the SFU's approximations on the GPU (NvvmMath.h).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TRANSFORMS_ROTARYEMBEDDING_H
#define ATTN_TRANSFORMS_ROTARYEMBEDDING_H

#include "attn/IR/AttnOps.h"
#include "attn/Transforms/TilingContext.h"

namespace mlir::attn {

/// sin and cos (f32) of an angle (f32), as a lowering computes them.
using SinCos = function_ref<std::pair<Value, Value>(Value)>;

/// The rotary position (index) of query row `row` of the sequence: `row`
/// (top_left) or row + Sk - Sq (bottom_right).
Value emitRopeQueryPosition(OpBuilder &b, Location loc, RopeAttr rope,
                            const TilePosition &pos, Value row);

/// The angle position * f_d in f32 (`position`: index; `frequency`: f_d).
Value emitRopeAngle(OpBuilder &b, Location loc, Value position,
                    Value frequency);

/// The pair (x_d, x_{d+D/2}) (f32) rotated by the angle whose cosine and
/// sine are given: (x cos - y sin, y cos + x sin).
std::pair<Value, Value> emitRopeTurn(OpBuilder &b, Location loc, Value x,
                                     Value y, Value cos, Value sin);

/// The pair (x_d, x_{d+D/2}) (f32) rotated by the angle position * f_d:
/// (x', y') in f32.
std::pair<Value, Value> emitRopeRotation(OpBuilder &b, Location loc,
                                         Value position, Value frequency,
                                         Value x, Value y, SinCos sinCos);

} // namespace mlir::attn

#endif // ATTN_TRANSFORMS_ROTARYEMBEDDING_H
