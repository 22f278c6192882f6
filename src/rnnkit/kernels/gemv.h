// Products with few rows for small-batch recurrent steps, shared by native.cpp and the code the
// traced fast path generates (rnnkit/kernels/traced). float32; vectorised by hand for AVX-512
// and AVX2 (the library is built with -march=native), plain loops otherwise.

#pragma once

#include <cstddef>
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace rnnkit_gemv {

// out (m, n) = beta * out + a (m, k) @ B (k, n), B row-major with leading dimension ld.
// MKL's packed sgemm with a few rows runs below the speed the weight can be read from cache
// (at two rows slower than at one); these loops keep a block of outputs in registers, broadcast
// one input of each row at a time and stream the block's columns of B once for up to four
// rows (docs/design/native-loop.md). The sum over k runs in order, so results are
// deterministic and do not depend on how the columns are split between threads.

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#if defined(__AVX512F__)
using vec = __m512;
constexpr int kW = 16;  // floats per vector
inline vec vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, vec v) { _mm512_storeu_ps(p, v); }
inline vec vset1(float x) { return _mm512_set1_ps(x); }
inline vec vfma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
constexpr int kRowsV = 6;  // vectors per row in a block of four rows (24 accumulators of 32)
constexpr int kPairV = 8;  // in a block of two rows (16 accumulators, 8 vectors of the weight)
#else
using vec = __m256;
constexpr int kW = 8;
inline vec vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, vec v) { _mm256_storeu_ps(p, v); }
inline vec vset1(float x) { return _mm256_set1_ps(x); }
inline vec vfma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
constexpr int kRowsV = 3;  // 12 accumulators of 16 registers
constexpr int kPairV = 4;
#endif

// R rows x V vectors of outputs at out (leading dimension ldo).
template <int R, int V>
inline void block(const float* a, int lda, const float* b, int ld, int k, float beta, float* out,
                  int ldo) {
  vec acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v)
      acc[r][v] = beta == 0.0f ? vset1(0.0f)
                               : vfma(vset1(beta), vload(out + r * ldo + kW * v), vset1(0.0f));
  for (int i = 0; i < k; ++i) {
    const float* row = b + static_cast<size_t>(i) * ld;
    vec w[V];
    for (int v = 0; v < V; ++v) w[v] = vload(row + kW * v);
    for (int r = 0; r < R; ++r) {
      const vec s = vset1(a[static_cast<size_t>(r) * lda + i]);
      for (int v = 0; v < V; ++v) acc[r][v] = vfma(s, w[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) vstore(out + r * ldo + kW * v, acc[r][v]);
}

// Columns [j, n) of R rows: blocks of V vectors, then single vectors, then single columns.
template <int R, int V>
inline void rows_cols(const float* a, int lda, const float* b, int ld, int j, int n, int k,
                      float beta, float* out, int ldo) {
  for (; j + V * kW <= n; j += V * kW) block<R, V>(a, lda, b + j, ld, k, beta, out + j, ldo);
  for (; j + kW <= n; j += kW) block<R, 1>(a, lda, b + j, ld, k, beta, out + j, ldo);
  for (; j < n; ++j)
    for (int r = 0; r < R; ++r) {
      float* o = out + r * ldo + j;
      float acc = beta == 0.0f ? 0.0f : beta * *o;
      for (int i = 0; i < k; ++i)
        acc = __builtin_fmaf(a[static_cast<size_t>(r) * lda + i], b[static_cast<size_t>(i) * ld + j],
                             acc);
      *o = acc;
    }
}

inline void gemm_cols(const float* a, int lda, int m, const float* b, int ld, int j, int n, int k,
                      float beta, float* out, int ldo) {
  int r = 0;
  for (; r + 4 <= m; r += 4)
    rows_cols<4, kRowsV>(a + static_cast<size_t>(r) * lda, lda, b, ld, j, n, k, beta,
                         out + static_cast<size_t>(r) * ldo, ldo);
  if (r + 2 <= m) {
    rows_cols<2, kPairV>(a + static_cast<size_t>(r) * lda, lda, b, ld, j, n, k, beta,
                             out + static_cast<size_t>(r) * ldo, ldo);
    r += 2;
  }
  if (r < m)
    rows_cols<1, 8>(a + static_cast<size_t>(r) * lda, lda, b, ld, j, n, k, beta,
                    out + static_cast<size_t>(r) * ldo, ldo);
}
#else
inline void gemm_cols(const float* a, int lda, int m, const float* b, int ld, int j1, int n,
                      int k, float beta, float* out, int ldo) {
  constexpr int kBlock = 64;
  for (int r = 0; r < m; ++r) {
    const float* ar = a + static_cast<size_t>(r) * lda;
    float* o = out + static_cast<size_t>(r) * ldo;
    for (int j0 = j1; j0 < n; j0 += kBlock) {
      const int w = n - j0 < kBlock ? n - j0 : kBlock;
      float acc[kBlock];
      for (int j = 0; j < w; ++j) acc[j] = beta == 0.0f ? 0.0f : beta * o[j0 + j];
      for (int i = 0; i < k; ++i) {
        const float s = ar[i];
        const float* row = b + static_cast<size_t>(i) * ld + j0;
#pragma omp simd
        for (int j = 0; j < w; ++j) acc[j] = __builtin_fmaf(s, row[j], acc[j]);
      }
      for (int j = 0; j < w; ++j) o[j0 + j] = acc[j];
    }
  }
}
#endif

// All n columns of one row.
inline void gemv(const float* a, const float* b, int ld, int n, int k, float beta, float* out) {
  gemm_cols(a, k, 1, b, ld, 0, n, k, beta, out, n);
}

// At batch 1 these loops are used while the weight fits in any core's L2 (2^16 floats, 256 KB:
// an LSTM up to H = 128, a GRU up to H = 147; native.cpp's LSTM uses them for a few rows and
// larger weights too, its hidden units split between the threads). Measured at batch 1 (Intel Xeon, AVX-512, 2 threads): the LSTM's forward+backward
// at (T, I, H) = (1000, 64, 128) 1.4x faster than through MKL's packed sgemm (7.2 against
// 10.1 ms); at H = 256 and 1024 slower than MKL (which splits the product between the threads).
constexpr long kGemvMaxElems = 1L << 16;
inline bool own_gemv(int m, int n, int k) {
  return m == 1 && static_cast<long>(n) * k <= kGemvMaxElems;
}

}  // namespace rnnkit_gemv
