// Fast float32 exp, sigmoid and tanh that vectorise under IEEE semantics (no -ffast-math).
// Shared by native.cpp and the code the traced fast path generates (rnnkit/kernels/traced).

#pragma once

#include <cstring>

// exp(x) for the gates: 2^n e^f with n = round(x / ln 2) and f = x - n ln 2 (Cody-Waite: ln 2 in
// two parts, so f is exact to float32), |f| <= ln(2)/2, e^f by its degree-7 Taylor polynomial
// (truncation below 6e-9). Plain arithmetic, so the loops vectorise under IEEE semantics (no
// -ffast-math): a NaN stays NaN, and +-inf saturate through the clamp (x beyond +-87.3 would
// leave float32's range).
inline float exp_gate(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 87.3f ? 87.3f : x;
  float n = __builtin_rintf(x * 1.44269504088896341f);
  float f = __builtin_fmaf(-n, 0.693145751953125f, x);
  f = __builtin_fmaf(-n, 1.428606765330187045e-06f, f);
  float p = 1.0f / 5040;
  p = __builtin_fmaf(p, f, 1.0f / 720);
  p = __builtin_fmaf(p, f, 1.0f / 120);
  p = __builtin_fmaf(p, f, 1.0f / 24);
  p = __builtin_fmaf(p, f, 1.0f / 6);
  p = __builtin_fmaf(p, f, 0.5f);
  p = __builtin_fmaf(p, f, 1.0f);
  p = __builtin_fmaf(p, f, 1.0f);
  int bits = (static_cast<int>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float sigm(float x) { return 1.0f / (1.0f + exp_gate(-x)); }

// tanh(x) = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|), accurate to a few ulp wherever 1 - e
// does not cancel; below |x| = 1/4 its odd Taylor polynomial to x^9 (truncation below 1e-8).
inline float tanh_fast(float x) {
  float a = x < 0.0f ? -x : x;
  float e = exp_gate(-2.0f * a);
  float big = (1.0f - e) / (1.0f + e);
  big = x < 0.0f ? -big : big;
  float x2 = x * x;
  float q = __builtin_fmaf(x2, 62.0f / 2835, -17.0f / 315);
  q = __builtin_fmaf(q, x2, 2.0f / 15);
  q = __builtin_fmaf(q, x2, -1.0f / 3);
  float small = __builtin_fmaf(x * x2, q, x);
  return a < 0.25f ? small : big;
}
