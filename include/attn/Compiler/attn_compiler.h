/*===- attn_compiler.h - C API of the Attn compiler ----------------*- C
-*-===*\
|*                                                                            *|
|* libAttnCompiler: compiles attention IR (an `attn.attention` function, as   *|
|* MLIR text) into GPU kernel artifacts for libAttnRuntime, and into CPU      *|
|* functions it runs on host buffers. A plain C ABI so that the Python        *|
|* package reaches it through ctypes. Every call returns 0 on success or a    *|
|* nonzero status with a thread-local message (attnc_last_error); none        *|
|* crashes on bad input.                                                      *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef ATTN_COMPILER_ATTN_COMPILER_H
#define ATTN_COMPILER_ATTN_COMPILER_H

#include "attn/Runtime/attn_runtime.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status of a kernel compilation whose input is valid attention IR that no
/// GPU kernel supports on the chip (head dims, shared memory, ...); the
/// message says why. Other failures return 1.
#define ATTNC_UNSUPPORTED 2

/// Compiles `source` for GPU `chip` ("sm_80", "sm_90") as `format` ("isa":
/// PTX, "bin": cubin). On success *data (freed with attnc_free) holds
/// *size bytes of kernel artifact.
int attnc_compile_kernel(const char *source, const char *chip,
                         const char *format, uint8_t **data, size_t *size);

/// Frees memory returned by this library.
void attnc_free(void *data);

/// One attention function compiled for the CPU (LLVM, ExecutionEngine).
typedef struct attnc_cpu_function attnc_cpu_function;

/// Compiles `source` for the CPU.
int attnc_cpu_compile(const char *source, attnc_cpu_function **function);

/// Runs `function` on host tensors (the runtime's attn_tensor, dense and
/// row-major; bool is one byte per element, bf16 its 16 bits): `args` in
/// argument order, `results` (preallocated) in result order. Checks
/// pointers, dtypes, ranks, strides and sizes first.
int attnc_cpu_run(const attnc_cpu_function *function, const attn_tensor *args,
                  size_t num_args, const attn_tensor *results,
                  size_t num_results);

/// Frees a compiled CPU function (null is allowed).
void attnc_cpu_free(attnc_cpu_function *function);

/// Block classes of attn_classify_blocks.
#define ATTNC_BLOCK_EMPTY 0
#define ATTNC_BLOCK_FULL 1
#define ATTNC_BLOCK_PARTIAL 2

/// Classifies the blocks of a `q_len` x `kv_len` attention matrix cut into
/// `q_block` x `kv_block` blocks under the closed-form mask atoms `masks`
/// (their attribute text, e.g. "[#attn.causal<top_left>]"; "[]" keeps
/// every pair), in closed form as the kernels' tile classification does:
/// classes[m * NK + n] (NQ * NK bytes, NQ = ceil(q_len / q_block), NK =
/// ceil(kv_len / kv_block); `size` must be that) is ATTNC_BLOCK_EMPTY (no
/// pair kept), ATTNC_BLOCK_FULL (every pair of the block inside the matrix
/// kept) or ATTNC_BLOCK_PARTIAL. Exact for a single atom; for several, a
/// block called partial may keep no pair. Atoms that read operands or
/// regions (document, custom masks, mask_mod) are rejected.
int attnc_classify_blocks(const char *masks, int64_t q_len, int64_t kv_len,
                          int64_t q_block, int64_t kv_block, uint8_t *classes,
                          size_t size);

/// The message of the last failed call on this thread ("" if none).
const char *attnc_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* ATTN_COMPILER_ATTN_COMPILER_H */
