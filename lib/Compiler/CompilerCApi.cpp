//===- CompilerCApi.cpp - libAttnCompiler's C entry points ----------------===//

#include "attn/Analysis/TileClassification.h"
#include "attn/CPU/CpuAttention.h"
#include "attn/Compiler/attn_compiler.h"
#include "attn/GPU/KernelArtifact.h"
#include "attn/IR/AttnDialect.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

using namespace mlir::attn;

struct attnc_cpu_function {
  std::unique_ptr<cpu::CompiledAttention> compiled;
};

namespace {
thread_local std::string lastError;

int fail(std::string message) {
  lastError = std::move(message);
  return 1;
}

int failWith(llvm::Error error) {
  return fail(llvm::toString(std::move(error)));
}

/// Host buffers from C descriptors; false (with the message set) on a bad one.
bool toHostBuffers(const attn_tensor *tensors, size_t count, const char *what,
                   std::vector<cpu::HostBuffer> &out) {
  if (count && !tensors) {
    fail(std::string("attnc_cpu_run: ") + what + " is null");
    return false;
  }
  for (size_t i = 0; i < count; ++i) {
    const attn_tensor &t = tensors[i];
    std::string where =
        std::string("attnc_cpu_run: ") + what + " " + std::to_string(i);
    std::optional<cpu::ElementType> type;
    // A C caller may store any int in the enum field: read it as an int.
    uint32_t code;
    static_assert(sizeof(code) == sizeof(t.dtype), "C enums are int-sized");
    std::memcpy(&code, &t.dtype, sizeof(code));
    switch (code) {
    case ATTN_DTYPE_F16:
      type = cpu::ElementType::F16;
      break;
    case ATTN_DTYPE_BF16:
      type = cpu::ElementType::BF16;
      break;
    case ATTN_DTYPE_F32:
      type = cpu::ElementType::F32;
      break;
    case ATTN_DTYPE_I8:
      type = cpu::ElementType::I8;
      break;
    case ATTN_DTYPE_I32:
      type = cpu::ElementType::I32;
      break;
    case ATTN_DTYPE_I64:
      type = cpu::ElementType::I64;
      break;
    case ATTN_DTYPE_BOOL:
      type = cpu::ElementType::I1;
      break;
    case ATTN_DTYPE_F8E4M3:
      type = cpu::ElementType::F8E4M3;
      break;
    }
    if (!type) {
      fail(where + ": unknown dtype code " + std::to_string(code));
      return false;
    }
    if (t.rank < 0 || t.rank > ATTN_MAX_RANK) {
      fail(where + ": rank " + std::to_string(t.rank) + " outside [0, 8]");
      return false;
    }
    cpu::HostBuffer host;
    host.data = t.data;
    host.type = *type;
    host.shape.assign(t.shape, t.shape + t.rank);
    // The CPU functions take dense row-major buffers; an empty one has no
    // element to place, so any strides describe it.
    bool empty = false;
    for (int d = 0; d < t.rank; ++d) {
      if (t.shape[d] < 0) {
        fail(where + ": negative size " + std::to_string(t.shape[d]));
        return false;
      }
      empty |= t.shape[d] == 0;
    }
    int64_t stride = 1;
    for (int d = t.rank - 1; d >= 0 && !empty; --d) {
      if (t.shape[d] > 1 && t.strides[d] != stride) {
        fail(where + ": not dense row-major (stride " +
             std::to_string(t.strides[d]) + " in dimension " +
             std::to_string(d) + ", expected " + std::to_string(stride) + ")");
        return false;
      }
      if (__builtin_mul_overflow(stride, t.shape[d], &stride)) {
        fail(where + ": more elements than 64 bits count");
        return false;
      }
    }
    out.push_back(std::move(host));
  }
  return true;
}
} // namespace

extern "C" {

int attnc_compile_kernel(const char *source, const char *chip,
                         const char *format, uint8_t **data, size_t *size) {
  if (!source || !chip || !format || !data || !size)
    return fail("attnc_compile_kernel: null argument");
  *data = nullptr;
  *size = 0;
  llvm::Expected<KernelArtifact> artifact =
      compileKernelArtifact(source, chip, format);
  if (!artifact) {
    std::error_code code;
    std::string message;
    llvm::handleAllErrors(artifact.takeError(),
                          [&](const llvm::ErrorInfoBase &e) {
                            code = e.convertToErrorCode();
                            message = e.message();
                          });
    fail(std::move(message));
    return code == std::errc::not_supported ? ATTNC_UNSUPPORTED : 1;
  }
  *data = static_cast<uint8_t *>(std::malloc(artifact->bytes.size()));
  if (!*data)
    return fail("attnc_compile_kernel: out of memory");
  std::memcpy(*data, artifact->bytes.data(), artifact->bytes.size());
  *size = artifact->bytes.size();
  return 0;
}

void attnc_free(void *data) { std::free(data); }

int attnc_cpu_compile(const char *source, attnc_cpu_function **function) {
  if (!source || !function)
    return fail("attnc_cpu_compile: null argument");
  *function = nullptr;
  auto compiled = cpu::CompiledAttention::compile(source);
  if (!compiled)
    return failWith(compiled.takeError());
  *function = new attnc_cpu_function{std::move(*compiled)};
  return 0;
}

int attnc_cpu_run(const attnc_cpu_function *function, const attn_tensor *args,
                  size_t num_args, const attn_tensor *results,
                  size_t num_results) {
  if (!function)
    return fail("attnc_cpu_run: null function");
  std::vector<cpu::HostBuffer> in, out;
  if (!toHostBuffers(args, num_args, "argument", in) ||
      !toHostBuffers(results, num_results, "result", out))
    return 1;
  if (llvm::Error error = function->compiled->run(in, out))
    return failWith(std::move(error));
  return 0;
}

void attnc_cpu_free(attnc_cpu_function *function) { delete function; }

int attnc_classify_blocks(const char *masks, int64_t q_len, int64_t kv_len,
                          int64_t q_block, int64_t kv_block, uint8_t *classes,
                          size_t size) {
  const std::string where = "attnc_classify_blocks: ";
  if (!masks || (!classes && size))
    return fail(where + "null argument");
  if (q_len < 0 || kv_len < 0 || q_block < 1 || kv_block < 1)
    return fail(where + "lengths must be >= 0 and block sizes >= 1, got " +
                std::to_string(q_len) + " x " + std::to_string(kv_len) +
                " in blocks of " + std::to_string(q_block) + " x " +
                std::to_string(kv_block));
  int64_t nq = q_len / q_block + (q_len % q_block != 0);
  int64_t nk = kv_len / kv_block + (kv_len % kv_block != 0);
  int64_t cells;
  if (__builtin_mul_overflow(nq, nk, &cells) || uint64_t(cells) != size)
    return fail(where + "classes holds " + std::to_string(size) +
                " bytes, the matrix has " + std::to_string(nq) + " x " +
                std::to_string(nk) + " blocks");
  mlir::MLIRContext context;
  context.loadDialect<AttnDialect>();
  std::string diagnostic;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    diagnostic = d.str();
    return mlir::success();
  });
  mlir::Attribute parsed = mlir::parseAttribute(masks, &context);
  auto atoms = llvm::dyn_cast_or_null<mlir::ArrayAttr>(parsed);
  if (!atoms)
    return fail(where + "masks must be an array of mask attributes, got '" +
                masks + "'" + (diagnostic.empty() ? "" : ": " + diagnostic));
  for (mlir::Attribute atom : atoms) {
    auto orMask = llvm::dyn_cast<OrMaskAttr>(atom);
    bool analytic = orMask ? orMask.isAnalytic()
                           : llvm::isa<CausalAttr, SlidingWindowAttr,
                                       PrefixLMAttr, ChunkedAttr>(atom);
    if (!analytic) {
      std::string text;
      llvm::raw_string_ostream os(text);
      atom.print(os);
      return fail(where + text +
                  " is not a closed-form mask atom (it reads operands or a "
                  "region)");
    }
  }
  StaticArith arith;
  for (int64_t m = 0; m < nq; ++m) {
    // No sum past the lengths: a block size may be near 2^63.
    int64_t q0 = m * q_block, q1 = q0 + std::min(q_block, q_len - q0);
    RowTileKeys<int64_t> keys =
        analyzeRowTile(arith, atoms, q0, q1, q_len, kv_len);
    for (int64_t n = 0; n < nk; ++n) {
      int64_t k0 = n * kv_block;
      TileClass tile =
          classifyTile(keys, k0, k0 + std::min(kv_block, kv_len - k0), kv_len);
      classes[m * nk + n] = tile == TileClass::Empty  ? ATTNC_BLOCK_EMPTY
                            : tile == TileClass::Full ? ATTNC_BLOCK_FULL
                                                      : ATTNC_BLOCK_PARTIAL;
    }
  }
  return 0;
}

const char *attnc_last_error(void) { return lastError.c_str(); }

} // extern "C"
