//===- CompilerCApi.cpp - libAttnCompiler's C entry points ----------------===//

#include "attn/Compiler/attn_compiler.h"
#include "attn/CPU/CpuAttention.h"
#include "attn/GPU/KernelArtifact.h"

#include <cstdlib>
#include <cstring>
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

int failWith(llvm::Error error) { return fail(llvm::toString(std::move(error))); }

/// Host buffers from C descriptors; false (with the message set) on a bad one.
bool toHostBuffers(const attnc_buffer *buffers, size_t count, const char *what,
                   std::vector<cpu::HostBuffer> &out) {
  if (count && !buffers) {
    fail(std::string("attnc_cpu_run: ") + what + " is null");
    return false;
  }
  static const cpu::ElementType types[] = {
      cpu::ElementType::F16, cpu::ElementType::BF16, cpu::ElementType::F32,
      cpu::ElementType::I1,  cpu::ElementType::I8,   cpu::ElementType::I32,
      cpu::ElementType::I64};
  for (size_t i = 0; i < count; ++i) {
    const attnc_buffer &b = buffers[i];
    std::string where =
        std::string("attnc_cpu_run: ") + what + " " + std::to_string(i);
    if (b.dtype < 0 || b.dtype > ATTNC_I64) {
      fail(where + ": unknown dtype code " + std::to_string(b.dtype));
      return false;
    }
    if (b.rank < 0 || b.rank > ATTNC_MAX_RANK) {
      fail(where + ": rank " + std::to_string(b.rank) + " outside [0, 8]");
      return false;
    }
    cpu::HostBuffer host;
    host.data = b.data;
    host.type = types[b.dtype];
    host.shape.assign(b.shape, b.shape + b.rank);
    for (int64_t s : host.shape)
      if (s < 0) {
        fail(where + ": negative size " + std::to_string(s));
        return false;
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
  if (!artifact)
    return failWith(artifact.takeError());
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

int attnc_cpu_run(const attnc_cpu_function *function, const attnc_buffer *args,
                  size_t num_args, const attnc_buffer *results,
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

const char *attnc_last_error(void) { return lastError.c_str(); }

} // extern "C"
