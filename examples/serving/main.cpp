// A serving loop over libAttnRuntime with a paged KV cache, as a model
// server would run one attention layer:
//
//   1. prefill: each request's prompt K/V are written into its pages (pages
//      taken from a shared pool in shuffled order), then the prompts attend
//      to their caches (ragged queries, causal): prefill.mlir;
//   2. decode steps: each request's new token's K/V are appended to its last
//      page (a new page when it is full), the page table is updated, and the
//      new tokens attend to their whole caches: decode.mlir (the decode
//      strategy: split-KV, a merge kernel, a workspace the runtime
//      allocates).
//
// Every output is checked against attention computed in double on the host
// over each request's full history. Exits 77 ("skipped") without a GPU.
#include <attn/Runtime/CudaDriver.hpp>
#include <attn/Runtime/HalfFloat.hpp>
#include <attn/Runtime/Runtime.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <random>
#include <tuple>
#include <vector>

extern const uint8_t attn_prefill_kernel[];
extern const size_t attn_prefill_kernel_size;
extern const uint8_t attn_decode_kernel[];
extern const size_t attn_decode_kernel_size;

namespace {
constexpr int kSkipped = 77;
constexpr int64_t Hq = 8, Hkv = 2, D = 128, Page = 16;
constexpr int64_t kToken = Hkv * D; // K (or V) elements of one token

/// One request: its pages (in the pool, shuffled) and its K/V history.
struct Request {
  int64_t prompt;
  std::vector<int32_t> pages;
  std::vector<uint16_t> k, v; // [len, Hkv, D], bf16 bits
  int64_t len() const { return static_cast<int64_t>(k.size()) / kToken; }
};

/// Attention of one query row (head h, all D columns) over the first
/// `keys` keys of `r`, in double; appends the output row to `ref`.
void reference(const Request &r, const uint16_t *q, int64_t h, int64_t keys,
               std::vector<double> &ref) {
  int64_t hk = h / (Hq / Hkv);
  std::vector<double> p(keys);
  double m = -INFINITY, l = 0;
  for (int64_t j = 0; j < keys; ++j) {
    double s = 0;
    for (int64_t d = 0; d < D; ++d)
      s += double(attn::bf16ToFloat(q[d])) *
           attn::bf16ToFloat(r.k[(j * Hkv + hk) * D + d]);
    p[j] = s / std::sqrt(double(D));
    m = std::max(m, p[j]);
  }
  for (int64_t j = 0; j < keys; ++j)
    l += (p[j] = std::exp(p[j] - m));
  for (int64_t d = 0; d < D; ++d) {
    double o = 0;
    for (int64_t j = 0; j < keys; ++j)
      o += p[j] / l * attn::bf16ToFloat(r.v[(j * Hkv + hk) * D + d]);
    ref.push_back(keys ? o : 0.0);
  }
}
} // namespace

int main() {
  attn::CudaDevice cuda;
  if (!cuda.open()) {
    std::printf("skipped: no CUDA driver or GPU here\n");
    return kSkipped;
  }
  attn::Kernel prefill, decode;
  for (auto [kernel, bytes, size] :
       {std::tuple<attn::Kernel *, const uint8_t *, size_t>{
            &prefill, attn_prefill_kernel, attn_prefill_kernel_size},
        {&decode, attn_decode_kernel, attn_decode_kernel_size}})
    if (attn::Status s = attn::Kernel::load(bytes, size, *kernel); !s) {
      std::printf("load failed: %s\n", s.message.c_str());
      return 1;
    }

  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  auto random = [&](int64_t n) {
    std::vector<uint16_t> x(n);
    for (uint16_t &e : x)
      e = attn::floatToBf16(normal(rng));
    return x;
  };
  const int64_t steps = 20;
  std::vector<Request> requests = {{100, {}, {}, {}}, {37, {}, {}, {}},
                                   {1, {}, {}, {}}};
  const int64_t B = requests.size();

  // The pool: every request's pages, shuffled, plus spares.
  int64_t poolPages = 3;
  for (const Request &r : requests)
    poolPages += (r.prompt + steps + Page - 1) / Page;
  std::vector<int32_t> order(poolPages);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  size_t next = 0;
  for (Request &r : requests)
    for (int64_t p = 0; p < (r.prompt + steps + Page - 1) / Page; ++p)
      r.pages.push_back(order[next++]);
  std::vector<uint16_t> zeros(poolPages * Page * kToken, 0);
  uint64_t dk = cuda.upload(zeros.data(), zeros.size() * 2);
  uint64_t dv = cuda.upload(zeros.data(), zeros.size() * 2);
  auto ptr = [](uint64_t p) { return reinterpret_cast<void *>(p); };

  // Appends one token's K/V to r's cache: slot len % Page of page len / Page.
  auto append = [&](Request &r, const uint16_t *k, const uint16_t *v) {
    int64_t t = r.len();
    uint64_t offset =
        (uint64_t(r.pages[t / Page]) * Page + t % Page) * kToken * 2;
    r.k.insert(r.k.end(), k, k + kToken);
    r.v.insert(r.v.end(), v, v + kToken);
    return cuda.memcpyHtoD(dk + offset, k, kToken * 2) == 0 &&
           cuda.memcpyHtoD(dv + offset, v, kToken * 2) == 0;
  };
  // The page table of the current lengths, uploaded (freed by the caller).
  auto pageTable = [&](std::vector<uint64_t> &owned) {
    std::vector<int32_t> indptr = {0}, indices, last;
    for (const Request &r : requests) {
      int64_t used = (r.len() + Page - 1) / Page;
      indices.insert(indices.end(), r.pages.begin(), r.pages.begin() + used);
      indptr.push_back(static_cast<int32_t>(indices.size()));
      last.push_back(static_cast<int32_t>(r.len() - (used - 1) * Page));
    }
    std::vector<attn_arg> args;
    for (const std::vector<int32_t> *t : {&indptr, &indices, &last}) {
      owned.push_back(cuda.upload(t->data(), t->size() * 4));
      args.push_back(attn::tensorArg(ptr(owned.back()), ATTN_DTYPE_I32,
                                     {int64_t(t->size())}));
    }
    return args;
  };
  auto pools = [&]() {
    return std::vector<attn_arg>{
        attn::tensorArg(ptr(dk), ATTN_DTYPE_BF16, {poolPages, Page, Hkv, D}),
        attn::tensorArg(ptr(dv), ATTN_DTYPE_BF16, {poolPages, Page, Hkv, D})};
  };

  double errSq = 0, refSq = 0;
  auto compare = [&](const std::vector<uint16_t> &got,
                     const std::vector<double> &ref) {
    for (size_t i = 0; i < ref.size(); ++i) {
      double g = attn::bf16ToFloat(got[i]);
      errSq += (g - ref[i]) * (g - ref[i]);
      refSq += ref[i] * ref[i];
    }
  };

  // 1. Prefill: the prompts' K/V into their pages, then the prompts attend.
  std::vector<int32_t> cu = {0};
  for (Request &r : requests) {
    for (int64_t t = 0; t < r.prompt; ++t) {
      std::vector<uint16_t> k = random(kToken), v = random(kToken);
      if (!append(r, k.data(), v.data())) {
        std::printf("cache write failed\n");
        return 1;
      }
    }
    cu.push_back(cu.back() + static_cast<int32_t>(r.prompt));
  }
  int64_t tokens = cu.back();
  std::vector<uint16_t> q = random(tokens * Hq * D);
  std::vector<uint16_t> out(tokens * Hq * D, 0x7FC0); // NaN poison
  std::vector<uint64_t> owned = {cuda.upload(q.data(), q.size() * 2),
                                 cuda.upload(out.data(), out.size() * 2),
                                 cuda.upload(cu.data(), cu.size() * 4)};
  std::vector<attn_arg> args = {
      attn::tensorArg(ptr(owned[0]), ATTN_DTYPE_BF16, {tokens, Hq, D})};
  for (attn_arg a : pools())
    args.push_back(a);
  args.push_back(attn::tensorArg(ptr(owned[2]), ATTN_DTYPE_I32, {B + 1}));
  for (attn_arg a : pageTable(owned))
    args.push_back(a);
  args.push_back(
      attn::tensorArg(ptr(owned[1]), ATTN_DTYPE_BF16, {tokens, Hq, D}));
  if (attn::Status s = prefill.launch(args); !s) {
    std::printf("prefill launch failed: %s\n", s.message.c_str());
    return 1;
  }
  if (cuda.ctxSynchronize() != 0 ||
      cuda.memcpyDtoH(out.data(), owned[1], out.size() * 2) != 0) {
    std::printf("prefill failed\n");
    return 1;
  }
  std::vector<double> ref;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < requests[b].prompt; ++i)
      for (int64_t h = 0; h < Hq; ++h) // causal: query i sees keys 0..i
        reference(requests[b], &q[((cu[b] + i) * Hq + h) * D], h, i + 1, ref);
  compare(out, ref);
  for (uint64_t p : owned)
    cuda.memFree(p);

  // 2. Decode steps: append each request's new K/V, attend over the cache.
  for (int64_t step = 0; step < steps; ++step) {
    for (Request &r : requests) {
      std::vector<uint16_t> k = random(kToken), v = random(kToken);
      if (!append(r, k.data(), v.data())) {
        std::printf("cache write failed\n");
        return 1;
      }
    }
    std::vector<uint16_t> qd = random(B * Hq * D);
    std::vector<uint16_t> od(B * Hq * D, 0x7FC0);
    owned = {cuda.upload(qd.data(), qd.size() * 2),
             cuda.upload(od.data(), od.size() * 2)};
    args = {attn::tensorArg(ptr(owned[0]), ATTN_DTYPE_BF16, {B, 1, Hq, D})};
    for (attn_arg a : pools())
      args.push_back(a);
    for (attn_arg a : pageTable(owned))
      args.push_back(a);
    args.push_back(
        attn::tensorArg(ptr(owned[1]), ATTN_DTYPE_BF16, {B, 1, Hq, D}));
    if (attn::Status s = decode.launch(args); !s) {
      std::printf("decode launch failed: %s\n", s.message.c_str());
      return 1;
    }
    if (cuda.ctxSynchronize() != 0 ||
        cuda.memcpyDtoH(od.data(), owned[1], od.size() * 2) != 0) {
      std::printf("decode step %lld failed\n", (long long)step);
      return 1;
    }
    ref.clear();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < Hq; ++h)
        reference(requests[b], &qd[(b * Hq + h) * D], h, requests[b].len(),
                  ref);
    compare(od, ref);
    for (uint64_t p : owned)
      cuda.memFree(p);
  }
  cuda.memFree(dk);
  cuda.memFree(dv);

  double rel = std::sqrt(errSq / refSq);
  bool ok = rel < 1e-2;
  std::printf("%s: paged KV serving loop, %lld requests (prompts 100/37/1), "
              "prefill + %lld decode steps, pages of %lld in a shuffled pool "
              "of %lld, GQA %lld/%lld d%lld bf16: ||out - ref|| / ||ref|| = "
              "%.3e\n",
              ok ? "PASS" : "FAIL", (long long)B, (long long)steps,
              (long long)Page, (long long)poolPages, (long long)Hq,
              (long long)Hkv, (long long)D, rel);
  return ok ? 0 : 1;
}
