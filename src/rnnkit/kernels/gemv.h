// Matrix-vector product for batch-1 recurrent steps, shared by native.cpp and the code the
// traced fast path generates (rnnkit/kernels/traced). float32; vectorised by hand for AVX-512
// and AVX2 (the library is built with -march=native), plain loops otherwise.

#pragma once

#include <cstddef>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace rnnkit_gemv {

// out (n) = beta * out + a (k) @ B (k, n), B row-major with leading dimension ld.
// MKL's packed sgemm with one row runs a matrix-vector product below the speed the weight can
// be read from cache; this loop keeps a block of outputs in registers and streams B once
// (docs/design/native-loop.md). The sum over k runs in order, so results are deterministic.
#if defined(__AVX512F__)
template <int V>
inline void gemv_block(const float* a, const float* b, int ld, int k, float beta, float* out) {
  __m512 acc[V];
  for (int v = 0; v < V; ++v)
    acc[v] = beta == 0.0f ? _mm512_setzero_ps()
                          : _mm512_mul_ps(_mm512_set1_ps(beta), _mm512_loadu_ps(out + 16 * v));
  for (int i = 0; i < k; ++i) {
    const __m512 s = _mm512_set1_ps(a[i]);
    const float* row = b + static_cast<size_t>(i) * ld;
    for (int v = 0; v < V; ++v) acc[v] = _mm512_fmadd_ps(s, _mm512_loadu_ps(row + 16 * v), acc[v]);
  }
  for (int v = 0; v < V; ++v) _mm512_storeu_ps(out + 16 * v, acc[v]);
}

inline void gemv_tail(const float* a, const float* b, int ld, int k, float beta, float* out,
                      int r) {
  const __mmask16 m = static_cast<__mmask16>((1u << r) - 1);
  __m512 acc = beta == 0.0f ? _mm512_setzero_ps()
                            : _mm512_mul_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(m, out));
  for (int i = 0; i < k; ++i)
    acc = _mm512_fmadd_ps(_mm512_set1_ps(a[i]),
                          _mm512_maskz_loadu_ps(m, b + static_cast<size_t>(i) * ld), acc);
  _mm512_mask_storeu_ps(out, m, acc);
}

inline void gemv_cols(const float* a, const float* b, int ld, int j, int n, int k, float beta,
               float* out) {
  for (; j + 128 <= n; j += 128) gemv_block<8>(a, b + j, ld, k, beta, out + j);
  for (; j + 16 <= n; j += 16) gemv_block<1>(a, b + j, ld, k, beta, out + j);
  if (j < n) gemv_tail(a, b + j, ld, k, beta, out + j, n - j);
}
#elif defined(__AVX2__) && defined(__FMA__)
template <int V>
inline void gemv_block(const float* a, const float* b, int ld, int k, float beta, float* out) {
  __m256 acc[V];
  for (int v = 0; v < V; ++v)
    acc[v] = beta == 0.0f ? _mm256_setzero_ps()
                          : _mm256_mul_ps(_mm256_set1_ps(beta), _mm256_loadu_ps(out + 8 * v));
  for (int i = 0; i < k; ++i) {
    const __m256 s = _mm256_set1_ps(a[i]);
    const float* row = b + static_cast<size_t>(i) * ld;
    for (int v = 0; v < V; ++v) acc[v] = _mm256_fmadd_ps(s, _mm256_loadu_ps(row + 8 * v), acc[v]);
  }
  for (int v = 0; v < V; ++v) _mm256_storeu_ps(out + 8 * v, acc[v]);
}

inline void gemv_cols(const float* a, const float* b, int ld, int j, int n, int k, float beta,
               float* out) {
  for (; j + 64 <= n; j += 64) gemv_block<8>(a, b + j, ld, k, beta, out + j);
  for (; j + 8 <= n; j += 8) gemv_block<1>(a, b + j, ld, k, beta, out + j);
  for (; j < n; ++j) {
    float acc = beta == 0.0f ? 0.0f : beta * out[j];
    for (int i = 0; i < k; ++i) acc = __builtin_fmaf(a[i], b[static_cast<size_t>(i) * ld + j], acc);
    out[j] = acc;
  }
}
#else
inline void gemv_cols(const float* a, const float* b, int ld, int j1, int n, int k, float beta,
               float* out) {
  constexpr int kBlock = 64;
  for (int j0 = j1; j0 < n; j0 += kBlock) {
    const int w = n - j0 < kBlock ? n - j0 : kBlock;
    float acc[kBlock];
    for (int j = 0; j < w; ++j) acc[j] = beta == 0.0f ? 0.0f : beta * out[j0 + j];
    for (int i = 0; i < k; ++i) {
      const float s = a[i];
      const float* row = b + static_cast<size_t>(i) * ld + j0;
#pragma omp simd
      for (int j = 0; j < w; ++j) acc[j] = __builtin_fmaf(s, row[j], acc[j]);
    }
    for (int j = 0; j < w; ++j) out[j0 + j] = acc[j];
  }
}
#endif

inline void gemv(const float* a, const float* b, int ld, int n, int k, float beta, float* out) {
  gemv_cols(a, b, ld, 0, n, k, beta, out);
}

// The loop above is used while the weight fits in any core's L2 (256 KB: an LSTM up to H = 128,
// a GRU up to H = 147). Measured at batch 1 (Intel Xeon, AVX-512, 2 threads): the LSTM's
// forward+backward at (T, I, H) = (1000, 64, 128) 1.4x faster than through MKL's packed
// sgemm (7.2 against 10.1 ms); at H = 256 and 1024 slower than MKL (which splits the product
// between the threads), even with the columns split between the threads the same way.
constexpr long kGemvMaxElems = 1L << 16;
inline bool own_gemv(int m, int n, int k) {
  return m == 1 && static_cast<long>(n) * k <= kGemvMaxElems;
}

}  // namespace rnnkit_gemv
