// The helpers of the code rnnkit's traced fast path generates for a cell (see codegen.py).
// The generated file defines `real` (float or double), then this text follows it.

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <omp.h>

#include "barrier.h"
#include "fastmath.h"
#include "gemv.h"

// Rows of a step are split between OpenMP threads when the step has enough elements to pay for
// the fork (as in native.cpp).
inline int row_threads(int B, int W) {
  return (B > 1 && static_cast<long>(B) * W >= 4096) ? omp_get_max_threads() : 1;
}

static const real INF = std::numeric_limits<real>::infinity();

inline double sigm(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline float tanhr(float x) { return tanh_fast(x); }
inline double tanhr(double x) { return std::tanh(x); }
inline real relur(real x) { return x < 0 ? (real)0 : x; }  // relu(NaN) is NaN
inline real sgn(real x) { return (real)((x > 0) - (x < 0)); }
inline real clampr(real x, real lo, real hi) { return x < lo ? lo : (x > hi ? hi : x); }
inline real powr(real x, real e) { return e == 2 ? x * x : std::pow(x, e); }
inline real softplusr(real x, real beta, real threshold) {
  return x * beta > threshold ? x : std::log1p(std::exp(x * beta)) / beta;
}
inline real gelur(real x) { return (real)0.5 * x * (1 + std::erf(x * (real)0.7071067811865476)); }
inline real gelu_grad(real x) {
  return (real)0.5 * (1 + std::erf(x * (real)0.7071067811865476)) +
         x * (real)0.3989422804014327 * std::exp((real)-0.5 * x * x);
}
// d max(a, b) / da: torch's convention gives each of two equal operands half.
inline real tie_grad(real g, real a, real b) { return a > b ? g : (a == b ? g / 2 : (real)0); }

// BLAS: MKL's packed sgemm when PyTorch has it, else the Fortran ?gemm_ it exports. The
// pointers come from rnnkit_traced_init.
typedef size_t (*pack_size_fn)(int, int, int, int);
typedef void (*pack_fn)(int, int, int, int, int, int, float, const float*, int, float*);
typedef void (*compute_fn)(int, int, int, int, int, int, const float*, int, const float*, int,
                           float, float*, int);
typedef void (*gemm_fn)(const char*, const char*, const int*, const int*, const int*,
                        const real*, const real*, const int*, const real*, const int*,
                        const real*, real*, const int*);
static pack_size_fn g_pack_size = nullptr;
static pack_fn g_pack = nullptr;
static compute_fn g_compute = nullptr;
static gemm_fn g_gemm = nullptr;

// out (m, n) = beta * out + a (m, k) @ op(w): op(w) = w (k, n) row-major with leading dimension
// ld, or with trans, w^T where w is (n, k). Packed once (float) for the whole sequence; at
// batch 1 with a small float weight, the matrix-vector loop of gemv.h over op(w) in (k, n)
// layout (w itself, or its transpose copied once), as native.cpp does.
struct Gemm {
  const real* w;
  bool trans;
  int m, n, k, ld;
  float* packed = nullptr;
  const float* kn = nullptr;  // the gemv.h path: op(w) as (k, n), leading dimension ld_kn
  int ld_kn = 0;
  Gemm(const real* w_, bool trans_, int m_, int n_, int k_, int ld_)
      : w(w_), trans(trans_), m(m_), n(n_), k(k_), ld(ld_) {
    if (sizeof(real) != sizeof(float) || m <= 0) return;
    const float* wf = reinterpret_cast<const float*>(w);
    if (rnnkit_gemv::own_gemv(m, n, k)) {
      kn = wf;
      ld_kn = ld;
      if (trans) {
        packed = static_cast<float*>(std::aligned_alloc(64, ((size_t)n * k * 4 + 63) / 64 * 64));
        for (int j = 0; j < n; ++j)
          for (int i = 0; i < k; ++i) packed[(size_t)i * n + j] = wf[(size_t)j * ld + i];
        kn = packed;
        ld_kn = n;
      }
    } else if (g_pack) {
      size_t bytes = g_pack_size(162, m, n, k);
      packed = static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
      g_pack(101, 162, trans ? 112 : 111, m, n, k, 1.0f, wf, ld, packed);
    }
  }
  ~Gemm() { std::free(packed); }
  void apply(const real* a, int lda, real beta, real* out, int ldc) const {
    if (m == 0) return;
    if (kn) {
      rnnkit_gemv::gemv(reinterpret_cast<const float*>(a), kn, ld_kn, n, k, (float)beta,
                        reinterpret_cast<float*>(out));
      return;
    }
    if (packed) {
      g_compute(101, 111, 151, m, n, k, reinterpret_cast<const float*>(a), lda, packed, n,
                (float)beta, reinterpret_cast<float*>(out), ldc);
      return;
    }
    const real one = 1;
    // Column-major: out^T (n, m) = op(w)^T (n, k) a^T (k, m).
    g_gemm(trans ? "T" : "N", "N", &n, &m, &k, &one, w, &ld, a, &lda, &beta, out, &ldc);
  }
  // Thread tid's share of the output columns (rnnkit_sync::share) when nt threads split the loop, which
  // they do only when every product runs through gemv.h (kn); the whole product otherwise.
  void apply_part(const real* a, int lda, real beta, real* out, int ldc, int tid, int nt) const;
};

inline void Gemm::apply_part(const real* a, int lda, real beta, real* out, int ldc, int tid,
                             int nt) const {
  if (nt <= 1 || !kn) return apply(a, lda, beta, out, ldc);
  int j0, j1;
  rnnkit_sync::share(n, tid, nt, &j0, &j1);
  if (j0 < j1)
    rnnkit_gemv::gemm_cols(reinterpret_cast<const float*>(a), lda, 1, kn, ld_kn, j0, j1, k,
                           (float)beta, reinterpret_cast<float*>(out), ldc);
}

// At batch 1 with every product on gemv.h the whole time loop runs in one parallel region:
// each thread takes its share of every product's columns and of every elementwise loop without
// reductions, the other blocks run on thread 0, and a barrier (barrier.h) follows each block;
// when the barriers find the cores contended thread 0 goes on alone. One thread per 64
// columns of the narrowest product, no more than the processors.
inline int split_threads(int B, bool all_own, int narrowest) {
  return B == 1 && all_own ? rnnkit_sync::team_size(narrowest, 64) : 1;
}

// Tests: RNNKIT_SPLIT_STOP_AFTER=n makes every split loop's barrier report contended cores
// after n waits (thread 0 then finishes alone); unset, only real contention does.
inline int split_stop_after() {
  const char* s = std::getenv("RNNKIT_SPLIT_STOP_AFTER");
  return s ? std::atoi(s) : -1;
}

extern "C" void rnnkit_traced_init(void* pack_size, void* pack, void* compute, void* gemm) {
  g_pack_size = reinterpret_cast<pack_size_fn>(pack_size);
  g_pack = reinterpret_cast<pack_fn>(pack);
  g_compute = reinterpret_cast<compute_fn>(compute);
  g_gemm = reinterpret_cast<gemm_fn>(gemm);
}
