// Runs one causal GQA attention layer on the GPU with a kernel embedded in
// this binary (attn_layer_kernel, generated from layer.mlir) and checks every
// output against attention computed in double on the host.
//
// Device memory comes from the CUDA driver, opened at run time like the
// runtime does (attn/Runtime/CudaDriver.hpp), so the program builds and
// starts anywhere; it exits with 77
// ("skipped") where there is no driver or GPU.
#include <attn/Runtime/CudaDriver.hpp>
#include <attn/Runtime/HalfFloat.hpp>
#include <attn/Runtime/Runtime.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

extern const uint8_t attn_layer_kernel[];
extern const size_t attn_layer_kernel_size;

namespace {
constexpr int kSkipped = 77;

} // namespace

int main() {
  const int64_t B = 2, Sq = 300, Sk = 700, Hq = 8, Hkv = 2, D = 128;
  attn::CudaDevice cuda;
  if (!cuda.open()) {
    std::printf("skipped: no CUDA driver or GPU here\n");
    return kSkipped;
  }
  attn::Kernel kernel;
  if (attn::Status s =
          attn::Kernel::load(attn_layer_kernel, attn_layer_kernel_size, kernel);
      !s) {
    std::printf("load failed: %s\n", s.message.c_str());
    return 1;
  }

  // Random inputs, rounded to bf16 once so the host and the GPU see the
  // same numbers.
  std::mt19937 rng(42);
  std::normal_distribution<float> normal;
  auto random = [&](int64_t n) {
    std::vector<uint16_t> v(n);
    for (uint16_t &x : v)
      x = attn::floatToBf16(normal(rng));
    return v;
  };
  std::vector<uint16_t> q = random(B * Sq * Hq * D),
                        k = random(B * Sk * Hkv * D),
                        v = random(B * Sk * Hkv * D);
  std::vector<uint16_t> out(B * Sq * Hq * D, 0x7FC0); // NaN poison
  std::vector<float> lse(B * Hq * Sq, NAN);

  uint64_t dq = cuda.upload(q.data(), q.size() * 2),
           dk = cuda.upload(k.data(), k.size() * 2),
           dv = cuda.upload(v.data(), v.size() * 2),
           dout = cuda.upload(out.data(), out.size() * 2),
           dlse = cuda.upload(lse.data(), lse.size() * 4);
  if (!dq || !dk || !dv || !dout || !dlse) {
    std::printf("device allocation failed\n");
    return 1;
  }
  auto ptr = [](uint64_t p) { return reinterpret_cast<void *>(p); };
  std::vector<attn_arg> args = {
      attn::tensorArg(ptr(dq), ATTN_DTYPE_BF16, {B, Sq, Hq, D}),
      attn::tensorArg(ptr(dk), ATTN_DTYPE_BF16, {B, Sk, Hkv, D}),
      attn::tensorArg(ptr(dv), ATTN_DTYPE_BF16, {B, Sk, Hkv, D}),
      attn::tensorArg(ptr(dout), ATTN_DTYPE_BF16, {B, Sq, Hq, D}),
      attn::tensorArg(ptr(dlse), ATTN_DTYPE_F32, {B, Hq, Sq})};
  if (attn::Status s = kernel.launch(args); !s) {
    std::printf("launch failed: %s\n", s.message.c_str());
    return 1;
  }
  if (cuda.ctxSynchronize() != 0 ||
      cuda.memcpyDtoH(out.data(), dout, out.size() * 2) != 0 ||
      cuda.memcpyDtoH(lse.data(), dlse, lse.size() * 4) != 0) {
    std::printf("kernel execution failed\n");
    return 1;
  }
  for (uint64_t p : {dq, dk, dv, dout, dlse})
    cuda.memFree(p);

  // Reference: causal with bottom-right alignment (key j visible to row i
  // when j <= i + Sk - Sq), query head h reads kv head h / (Hq / Hkv).
  double errSq = 0, refSq = 0, lseErr = 0;
  const double scale = 1.0 / std::sqrt(double(D));
  std::vector<double> p(Sk);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t i = 0; i < Sq; ++i) {
        int64_t hk = h / (Hq / Hkv), last = i + Sk - Sq;
        double m = -INFINITY, l = 0;
        for (int64_t j = 0; j <= last; ++j) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d)
            s += double(attn::bf16ToFloat(q[((b * Sq + i) * Hq + h) * D + d])) *
                 attn::bf16ToFloat(k[((b * Sk + j) * Hkv + hk) * D + d]);
          p[j] = s * scale;
          m = std::max(m, p[j]);
        }
        for (int64_t j = 0; j <= last; ++j)
          l += (p[j] = std::exp(p[j] - m));
        for (int64_t d = 0; d < D; ++d) {
          double ref = 0;
          for (int64_t j = 0; j <= last; ++j)
            ref += p[j] / l * attn::bf16ToFloat(v[((b * Sk + j) * Hkv + hk) * D + d]);
          double got = attn::bf16ToFloat(out[((b * Sq + i) * Hq + h) * D + d]);
          errSq += (got - ref) * (got - ref);
          refSq += ref * ref;
        }
        lseErr = std::max(
            lseErr, std::abs(lse[(b * Hq + h) * Sq + i] - (m + std::log(l))));
      }
  double rel = std::sqrt(errSq / refSq);
  // bf16 output: one rounding of 2^-8 relative; 1e-2 leaves room for the
  // bf16 P in P V.
  bool ok = rel < 1e-2 && lseErr < 1e-3;
  std::printf("%s: causal GQA layer B=%lld Sq=%lld Sk=%lld Hq=%lld Hkv=%lld "
              "D=%lld bf16: ||out - ref|| / ||ref|| = %.3e, max |lse - ref| = "
              "%.3e\n",
              ok ? "PASS" : "FAIL", (long long)B, (long long)Sq, (long long)Sk,
              (long long)Hq, (long long)Hkv, (long long)D, rel, lseErr);
  return ok ? 0 : 1;
}
