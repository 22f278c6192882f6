// Native per-step loops for the LSTM and GRU kernels (float32, CPU).
//
// rnnkit/kernels/native.py compiles this file once per machine with the system C++ compiler and
// loads it with ctypes; without a compiler the pure-PyTorch kernels run instead. The file has no
// PyTorch headers, so it compiles in about a second. The matrix products go through the BLAS
// that PyTorch itself links (MKL's packed sgemm: the recurrent weight is packed once per
// sequence; at batch 1 with a small weight, gemv.h), whose entry points native.py passes in
// through rnnkit_set_blas. The rest of a step (gates, cell update; in the backward the
// derivative factors) is one fused loop over the batch: one product and one pass a step.
//
// The input projection, weight and input gradients stay single large PyTorch products. Layouts
// are time-major, contiguous: gates (T, B, G*H), states (T, B, H), torch.nn's gate order.

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstring>

#include <omp.h>

#include "barrier.h"
#include "fastmath.h"
#include "gemv.h"

namespace {

using rnnkit_gemv::gemm_cols;
using rnnkit_gemv::own_gemv;

// Whether the LSTM's per-step product of m rows with a weight of `elems` floats runs through
// gemv.h (split between the threads by hidden units) rather than MKL's packed sgemm, which at
// a few rows runs far below the speed the weight streams from cache (at two rows 3x its
// one-row time). gemv.h reads the weight once per four rows a step, so its edge shrinks as the
// rows grow and the weight leaves L2. Measured on the AVX2 machine, 2 threads, us a forward
// step own / MKL: H 128 (2^16 floats): B 1 4.1 / 6.6, B 2 5.5 / 19, B 16 33 / 38, B 32
// 55 / 52; H 256 (2^18): B 1 21 / 30, B 4 40 / 76, B 8 74 / 74, B 16 115 / 96; H 1024: B 1
// 944 / 461 (docs/design/native-loop.md).
inline bool lstm_own(int m, long elems) {
  return m >= 1 && ((elems <= (1L << 16) && m <= 16) || (elems <= (1L << 18) && m <= 4));
}

// MKL's CBLAS constants.
constexpr int kRowMajor = 101;
constexpr int kNoTrans = 111;
constexpr int kTrans = 112;
constexpr int kPacked = 151;
constexpr int kBMatrix = 162;

typedef size_t (*pack_size_fn)(int identifier, int m, int n, int k);
typedef void (*pack_fn)(int layout, int identifier, int trans, int m, int n, int k, float alpha,
                        const float* src, int ld, float* dest);
typedef void (*compute_fn)(int layout, int transa, int transb, int m, int n, int k,
                           const float* a, int lda, const float* b, int ldb, float beta, float* c,
                           int ldc);

pack_size_fn g_pack_size = nullptr;
pack_fn g_pack = nullptr;
compute_fn g_compute = nullptr;

// out (m, n) = beta * out + a (m, k) @ op(w), op(w) (k, n) packed once into buf (the caller's:
// rnnkit_packed_bytes(m, n, k) bytes, 64-byte aligned); own: gemv.h over op(w) as (k, n).
struct Packed {
  float* buf;
  int m, n, k;
  bool own;
  const float* kn;  // own: op(w) as (k, n) (w, or its transpose in buf), leading dimension ld_kn
  int ld_kn;
  Packed(float* buf_, const float* w, int trans, int m_, int n_, int k_, int ld, bool own_)
      : buf(buf_), m(m_), n(n_), k(k_), own(own_), kn(w), ld_kn(ld) {
    if (!own) {
      g_pack(kRowMajor, kBMatrix, trans, m, n, k, 1.0f, w, ld, buf);
    } else if (trans == kTrans) {  // op(w) = w^T, w (n, k)
      for (int j = 0; j < n; ++j)
        for (int i = 0; i < k; ++i)
          buf[static_cast<size_t>(i) * n + j] = w[static_cast<size_t>(j) * ld + i];
      kn = buf;
      ld_kn = n;
    }
  }
  void apply(const float* a, float beta, float* out) const {
    if (own)
      gemm_cols(a, k, m, kn, ld_kn, 0, n, k, beta, out, n);
    else
      g_compute(kRowMajor, kNoTrans, kPacked, m, n, k, a, k, buf, n, beta, out, n);
  }
};

// Rows of a step are split between OpenMP threads (PyTorch's own pool) when a step has enough
// elements to pay for the fork; otherwise one thread.
constexpr int kParallelMinElems = 4096;
inline int row_threads(int B, int H) {
  return (B > 1 && static_cast<long>(B) * H >= kParallelMinElems) ? omp_get_max_threads() : 1;
}

// The LSTM's gates and cell update for hidden units [j0, j1) of one batch row (the arguments of
// rnnkit_lstm_step, offset to the row).
inline void lstm_units(int H, const float* a, const float* bias, float* g, const float* cpb,
                       float* cb, float* hb, int j0, int j1) {
#pragma omp simd
  for (int j = j0; j < j1; ++j) {
    float i = sigm(a[j] + bias[j]), f = sigm(a[H + j] + bias[H + j]);
    float gg = tanh_fast(a[2 * H + j] + bias[2 * H + j]);
    float o = sigm(a[3 * H + j] + bias[3 * H + j]);
    float c = f * cpb[j] + i * gg;
    cb[j] = c;
    hb[j] = o * tanh_fast(c);
    g[j] = i;
    g[H + j] = f;
    g[2 * H + j] = gg;
    g[3 * H + j] = o;
  }
}

// The backward of lstm_units for hidden units [j0, j1) of one row (rnnkit_lstm_step_back's
// arguments, offset to the row). kExtra: dxb (the gradient of the output c_{t-1}) is added;
// a template rather than `dxb ? dxb[j] : 0` in the loop, which gcc vectorises as a masked load
// that made the whole loop 5x slower (AVX2, 10 against 1.9 ns a unit).
template <bool kExtra>
inline void lstm_units_back_t(int H, const float* g, const float* cb, const float* cpb,
                              const float* dhb, float* dcb, const float* dxb, float* dg, int j0,
                              int j1) {
#pragma omp simd
  for (int j = j0; j < j1; ++j) {
    float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
    float tc = tanh_fast(cb[j]);
    float dhv = dhb[j];
    float dcv = dcb[j] + dhv * o * (1.0f - tc * tc);
    dg[j] = dcv * gg * i * (1.0f - i);
    dg[H + j] = dcv * cpb[j] * f * (1.0f - f);
    dg[2 * H + j] = dcv * i * (1.0f - gg * gg);
    dg[3 * H + j] = dhv * tc * o * (1.0f - o);
    dcb[j] = kExtra ? dcv * f + dxb[j] : dcv * f;
  }
}

inline void lstm_units_back(int H, const float* g, const float* cb, const float* cpb,
                            const float* dhb, float* dcb, const float* dxb, float* dg, int j0,
                            int j1) {
  if (dxb)
    lstm_units_back_t<true>(H, g, cb, cpb, dhb, dcb, dxb, dg, j0, j1);
  else
    lstm_units_back_t<false>(H, g, cb, cpb, dhb, dcb, dxb, dg, j0, j1);
}

// Row b of rnnkit_gru_step_back; kExtra: dh_extra is added (a template, as lstm_units_back_t).
template <bool kExtra>
inline void gru_row_back(int b, int H, const float* rz_t, const float* n_t, const float* hwn_t,
                         const float* h_prev, const float* dh, const float* dh_extra,
                         float* dxw_t, float* dhw_t, float* dh_out) {
  const int G = 3 * H;
  const size_t r = static_cast<size_t>(b) * H;
  const float* rzb = rz_t + 2 * r;
  const float *hwnb = hwn_t + r, *nb = n_t + r, *hpb = h_prev + r, *dhb = dh + r;
  const float* dxb = kExtra ? dh_extra + r : nullptr;
  float* dx = dxw_t + static_cast<size_t>(b) * G;
  float* dw = dhw_t + static_cast<size_t>(b) * G;
  float* dob = dh_out + r;
#pragma omp simd
  for (int j = 0; j < H; ++j) {
    float rv = rzb[j], zv = rzb[H + j], nv = nb[j], dhv = dhb[j];
    float daz = dhv * (hpb[j] - nv) * zv * (1.0f - zv);
    float dan = dhv * (1.0f - zv) * (1.0f - nv * nv);
    float dar = dan * hwnb[j] * rv * (1.0f - rv);
    dx[j] = dar;
    dx[H + j] = daz;
    dx[2 * H + j] = dan;
    dw[j] = dar;
    dw[H + j] = daz;
    dw[2 * H + j] = dan * rv;
    dob[j] = kExtra ? dhv * zv + dxb[j] : dhv * zv;
  }
}

// At batch 1 with rnnkit's own matrix-vector loop, a step is too small to pay for a fork, but
// not for a barrier: the hidden units are split between the threads inside one parallel region
// over the whole sequence, each thread computing its units' columns of the product (its part of
// the weight stays in its core's L2) and their gates, then one barrier per step (docs/design/
// native-loop.md; barrier.h). kSplitMinUnits: fewer units than this per thread run on one thread.
constexpr int kSplitMinUnits = 32;

// After a split loop found the cores contended, the next kContendedCalls loops run on one
// thread (then splitting is tried again).
constexpr int kContendedCalls = 16;
std::atomic<int> g_contended{0};
std::atomic<int> g_stop_after{-1};  // tests: leave every split loop after this many barriers
std::atomic<int> g_left{0};  // split loops left since the last rnnkit_split_stop_after

inline void left_split() {
  g_left.fetch_add(1);
  if (g_stop_after.load() < 0) g_contended.store(kContendedCalls);
}

inline int unit_threads(const Packed& w, int H) {
  if (!w.own) return 1;
  if (g_contended.load(std::memory_order_relaxed) > 0) {
    g_contended.fetch_sub(1, std::memory_order_relaxed);
    return 1;
  }
  return rnnkit_sync::team_size(H, kSplitMinUnits);
}

// One thread's place in a split loop: its units [j0, j1), its barrier sense, and whether it
// goes on alone. sync: the step's barrier; false when this thread leaves the loop (the cores
// are contended: thread 0 goes on with all units, without barriers).
struct Share {
  rnnkit_sync::StepBarrier& barrier;
  int H, j0, j1, sense = 0;
  bool alone = false;
  Share(rnnkit_sync::StepBarrier& b, int H_, int nt) : barrier(b), H(H_) {
    rnnkit_sync::share(H, omp_get_thread_num(), nt, &j0, &j1);
  }
  bool sync() {
    if (alone || barrier.wait(sense)) return true;
    if (omp_get_thread_num() != 0) return false;
    alone = true;
    j0 = 0;
    j1 = H;
    left_split();
    return true;
  }
};

// Run loop(Share&) on nt threads in one parallel region, with the split loops' barrier.
template <class Loop>
void run_split(int H, int nt, Loop loop) {
  rnnkit_sync::StepBarrier barrier;
  barrier.init(nt, g_stop_after.load());
  #pragma omp parallel num_threads(nt)
  {
    Share me(barrier, H, nt);
    loop(me);
  }
}

// rnnkit_lstm_forward for B rows on nt threads (w: W_hh^T as (H, 4H), gemv.h's loops).
void lstm_forward_split(int T, int B, int H, float* gates, const float* bias, const Packed& w,
                        const float* h0, const float* c0, float* hs, float* cs, int nt) {
  const int G = 4 * H;
  const size_t step = static_cast<size_t>(B) * H;
  run_split(H, nt, [&](Share& me) {
    int &j0 = me.j0, &j1 = me.j1;
    for (int t = 0; t < T; ++t) {
      float* gt = gates + t * static_cast<size_t>(B) * G;
      const float* hp = t == 0 ? h0 : hs + (t - 1) * step;
      const float* cp = t == 0 ? c0 : cs + (t - 1) * step;
      if (j0 < j1) {
        for (int q = 0; q < 4; ++q)
          gemm_cols(hp, H, B, w.kn, w.ld_kn, q * H + j0, q * H + j1, H, 1.0f, gt, G);
        for (int b = 0; b < B; ++b) {
          const size_t r = static_cast<size_t>(b) * H;
          lstm_units(H, gt + static_cast<size_t>(b) * G, bias, gt + static_cast<size_t>(b) * G,
                     cp + r, cs + t * step + r, hs + t * step + r, j0, j1);
        }
      }
      if (!me.sync()) break;
    }
  });
}

// rnnkit_lstm_backward for B rows on nt threads (w: W_hh as (4H, H), gemv.h's loops). Each
// thread writes its units' gate gradients, and after the barrier its units of dh_{t-1}, which
// only it reads in the next step.
void lstm_backward_split(int T, int B, int H, const float* gates, const Packed& w,
                         const float* c0, const float* cs, const float* dhs, const float* dcs,
                         float* dgates, float* dh0, float* dh, float* dc, int nt) {
  const int G = 4 * H;
  const size_t step = static_cast<size_t>(B) * H;
  run_split(H, nt, [&](Share& me) {
    int &j0 = me.j0, &j1 = me.j1;
    for (int t = T - 1; t >= 0; --t) {
      float* dgt = dgates + t * static_cast<size_t>(B) * G;
      const float* gt = gates + t * static_cast<size_t>(B) * G;
      const float* cp = t == 0 ? c0 : cs + (t - 1) * step;
      const float* extra = (dcs && t > 0) ? dcs + (t - 1) * step : nullptr;
      for (int b = 0; b < B; ++b) {
        const size_t r = static_cast<size_t>(b) * H;
        lstm_units_back(H, gt + static_cast<size_t>(b) * G, cs + t * step + r, cp + r, dh + r,
                        dc + r, extra ? extra + r : nullptr, dgt + static_cast<size_t>(b) * G,
                        j0, j1);
      }
      if (!me.sync()) break;
      if (j0 >= j1 || (t == 0 && !dh0)) continue;
      float* out = t > 0 ? dh : dh0;
      if (t > 0)
        for (int b = 0; b < B; ++b)
          std::memcpy(dh + static_cast<size_t>(b) * H + j0,
                      dhs + (t - 1) * step + static_cast<size_t>(b) * H + j0,
                      static_cast<size_t>(j1 - j0) * sizeof(float));
      gemm_cols(dgt, G, B, w.kn, w.ld_kn, j0, j1, G, t > 0 ? 1.0f : 0.0f, out, H);
    }
  });
}

}  // namespace

extern "C" {

int rnnkit_abi_version() { return 6; }

int rnnkit_max_threads() { return omp_get_max_threads(); }

// How many split loops were left for contended cores since the last rnnkit_split_stop_after.
int rnnkit_split_contended() { return g_left.load(); }

// Tests: every split loop leaves the split after `waits` barriers (>= 1) as if the cores were
// contended, without the one-thread countdown that follows real contention (-1: only when
// they are). Clears the count and the countdown.
void rnnkit_split_stop_after(int waits) {
  g_stop_after.store(waits);
  g_left.store(0);
  g_contended.store(0);
}

// Enough for Packed(m, n, k) whether or not its product runs through gemv.h.
long rnnkit_packed_bytes(int m, int n, int k) {
  const long own = static_cast<long>(n) * k * static_cast<long>(sizeof(float));
  const long mkl = static_cast<long>(g_pack_size(kBMatrix, m, n, k));
  return own > mkl ? own : mkl;
}

void rnnkit_set_blas(void* pack_size, void* pack, void* compute) {
  g_pack_size = reinterpret_cast<pack_size_fn>(pack_size);
  g_pack = reinterpret_cast<pack_fn>(pack);
  g_compute = reinterpret_cast<compute_fn>(compute);
}

// One LSTM step after the products. pre (B, 4H): x_t W_ih^T + h_{t-1} W_hh^T (i|f|g|o), to
// which bias (4H: b_ih + b_hh, zeros without bias) is added here rather than broadcast into the
// whole-sequence projection (a pass over T x B x 4H floats saved); writes the activated gates to
// gates_t (B, 4H; may be pre itself), c_t and h_t (B, H).
void rnnkit_lstm_step(int B, int H, const float* pre, const float* bias, float* gates_t,
                      const float* c_prev, float* c_t, float* h_t) {
  const int G = 4 * H;
  const int nt = row_threads(B, H);
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int b = 0; b < B; ++b) {
    const size_t r = static_cast<size_t>(b) * H;
    lstm_units(H, pre + static_cast<size_t>(b) * G, bias, gates_t + static_cast<size_t>(b) * G,
               c_prev + r, c_t + r, h_t + r, 0, H);
  }
}

// One LSTM step backward. dh (B, H): dL/dh_t in total; dc (B, H): on entry dL/dc_t from step
// t+1 (and the cell-state output), on return dL/dc_{t-1} = dc_t f + dc_extra (dc_extra, the
// gradient of the output c_{t-1}, may be null); dgates_t (B, 4H) receives the pre-activation
// gradients.
void rnnkit_lstm_step_back(int B, int H, const float* gates_t, const float* c_t,
                           const float* c_prev, const float* dh, float* dc,
                           const float* dc_extra, float* dgates_t) {
  const int G = 4 * H;
  const int nt = row_threads(B, H);
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int b = 0; b < B; ++b) {
    const size_t r = static_cast<size_t>(b) * H;
    lstm_units_back(H, gates_t + static_cast<size_t>(b) * G, c_t + r, c_prev + r, dh + r, dc + r,
                    dc_extra ? dc_extra + r : nullptr, dgates_t + static_cast<size_t>(b) * G, 0,
                    H);
  }
}

// LSTM forward. gates (T, B, 4H) holds x_t W_ih^T on entry and the activated gates i, f, g, o on
// return; bias (4H) b_ih + b_hh; w_hh (4H, H); h0, c0 (B, H); hs, cs (T, B, H) are written;
// packed holds rnnkit_packed_bytes(B, 4H, H).
void rnnkit_lstm_forward(int T, int B, int H, float* gates, const float* bias,
                         const float* w_hh, const float* h0, const float* c0, float* hs,
                         float* cs, float* packed) {
  const int G = 4 * H;
  Packed w(packed, w_hh, kTrans, B, G, H, H, lstm_own(B, 4L * H * H));  // h @ W_hh^T
  const int nt = unit_threads(w, H);
  if (nt > 1) return lstm_forward_split(T, B, H, gates, bias, w, h0, c0, hs, cs, nt);
  const size_t step = static_cast<size_t>(B) * H;
  for (int t = 0; t < T; ++t) {
    float* gt = gates + t * static_cast<size_t>(B) * G;
    const float* hp = t == 0 ? h0 : hs + (t - 1) * step;
    const float* cp = t == 0 ? c0 : cs + (t - 1) * step;
    w.apply(hp, 1.0f, gt);
    rnnkit_lstm_step(B, H, gt, bias, gt, cp, cs + t * step, hs + t * step);
  }
}

// LSTM backward. gates, hs, cs as left by the forward; dhs, dcs (T, B, H) the gradients of the
// outputs (dcs may be null); dgates (T, B, 4H) receives the pre-activation gradients; dh0, dc0
// (B, H) receive the gradients of the initial state (either may be null); dh, dc (B, H) are work
// space; packed holds rnnkit_packed_bytes(B, H, 4H).
void rnnkit_lstm_backward(int T, int B, int H, const float* gates, const float* w_hh,
                          const float* c0, const float* cs, const float* dhs, const float* dcs,
                          float* dgates, float* dh0, float* dc0, float* dh, float* dc,
                          float* packed) {
  const int G = 4 * H;
  const size_t step = static_cast<size_t>(B) * H;
  Packed w(packed, w_hh, kNoTrans, B, H, G, H, lstm_own(B, 4L * H * H));  // dgates @ W_hh
  std::memcpy(dh, dhs + (T - 1) * step, step * sizeof(float));
  if (dcs)
    std::memcpy(dc, dcs + (T - 1) * step, step * sizeof(float));
  else
    std::memset(dc, 0, step * sizeof(float));
  const int nt = unit_threads(w, H);
  if (nt > 1) {
    lstm_backward_split(T, B, H, gates, w, c0, cs, dhs, dcs, dgates, dh0, dh, dc, nt);
    if (dc0) std::memcpy(dc0, dc, step * sizeof(float));
    return;
  }
  for (int t = T - 1; t >= 0; --t) {
    float* dgt = dgates + t * static_cast<size_t>(B) * G;
    rnnkit_lstm_step_back(B, H, gates + t * static_cast<size_t>(B) * G, cs + t * step,
                          t == 0 ? c0 : cs + (t - 1) * step, dh, dc,
                          (dcs && t > 0) ? dcs + (t - 1) * step : nullptr, dgt);
    if (t > 0) {
      std::memcpy(dh, dhs + (t - 1) * step, step * sizeof(float));
      w.apply(dgt, 1.0f, dh);
    } else if (dh0) {
      w.apply(dgt, 0.0f, dh0);
    }
  }
  if (dc0) std::memcpy(dc0, dc, step * sizeof(float));
}

// One GRU step after the products (torch.nn's formulation). xw_t (B, 3H) = x_t W_ih^T, to which
// b_ih (3H; zeros without bias) is added here; hw (B, 3H) = h_{t-1} W_hh^T + b_hh (r|z|n).
// Written (B, H each): hwn_t = hw's n block (kept for backward), rz_t (B, 2H) = [sigmoid(a_r),
// sigmoid(a_z)], n_t, h_t.
void rnnkit_gru_step(int B, int H, const float* xw_t, const float* b_ih, const float* hw,
                     const float* h_prev, float* hwn_t, float* rz_t, float* n_t, float* h_t) {
  const int G = 3 * H;
  const int nt = row_threads(B, H);
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int b = 0; b < B; ++b) {
    const float* x = xw_t + static_cast<size_t>(b) * G;
    const float* s = hw + static_cast<size_t>(b) * G;
    const size_t r = static_cast<size_t>(b) * H;
    float* rzb = rz_t + 2 * r;
    const float* hpb = h_prev + r;
    float *hwnb = hwn_t + r, *nb = n_t + r, *hb = h_t + r;
#pragma omp simd
    for (int j = 0; j < H; ++j) {
      float rv = sigm(x[j] + b_ih[j] + s[j]);
      float zv = sigm(x[H + j] + b_ih[H + j] + s[H + j]);
      float hn = s[2 * H + j];
      float nv = tanh_fast(x[2 * H + j] + b_ih[2 * H + j] + rv * hn);
      rzb[j] = rv;
      rzb[H + j] = zv;
      hwnb[j] = hn;
      nb[j] = nv;
      hb[j] = nv + zv * (hpb[j] - nv);
    }
  }
}

// One GRU step backward. dh (B, H): dL/dh_t in total. Written: dxw_t (B, 3H) the gradient of the
// input projection (r|z|n), dhw_t (B, 3H) that of the recurrent projection, and dh_out (B, H) =
// dh z + dh_extra (dh_extra, the output gradient of h_{t-1}, may be null), the part of
// dL/dh_{t-1} that does not go through W_hh. dh_out may be dh itself.
void rnnkit_gru_step_back(int B, int H, const float* rz_t, const float* n_t,
                          const float* hwn_t, const float* h_prev, const float* dh,
                          const float* dh_extra, float* dxw_t, float* dhw_t, float* dh_out) {
  const int nt = row_threads(B, H);
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int b = 0; b < B; ++b) {
    if (dh_extra)
      gru_row_back<true>(b, H, rz_t, n_t, hwn_t, h_prev, dh, dh_extra, dxw_t, dhw_t, dh_out);
    else
      gru_row_back<false>(b, H, rz_t, n_t, hwn_t, h_prev, dh, dh_extra, dxw_t, dhw_t, dh_out);
  }
}

// GRU forward. xw (T, B, 3H) = x_t W_ih^T (r|z|n); b_ih (3H); w_hh (3H, H); b_hh (3H) or null;
// h0 (B, H). Written: hwn, n, hs (T, B, H), rz (T, B, 2H) as rnnkit_gru_step writes them. scratch
// holds B * 3H floats, packed rnnkit_packed_bytes(B, 3H, H).
void rnnkit_gru_forward(int T, int B, int H, const float* xw, const float* b_ih,
                        const float* w_hh, const float* b_hh, const float* h0, float* hwn, float* rz, float* n,
                        float* hs, float* scratch, float* packed) {
  const int G = 3 * H;
  const size_t step = static_cast<size_t>(B) * H;
  Packed w(packed, w_hh, kTrans, B, G, H, H, own_gemv(B, G, H));
  for (int t = 0; t < T; ++t) {
    const float* hp = t == 0 ? h0 : hs + (t - 1) * step;
    for (int b = 0; b < B; ++b) {
      float* s = scratch + static_cast<size_t>(b) * G;
      if (b_hh)
        std::memcpy(s, b_hh, G * sizeof(float));
      else
        std::memset(s, 0, G * sizeof(float));
    }
    w.apply(hp, 1.0f, scratch);
    rnnkit_gru_step(B, H, xw + t * static_cast<size_t>(B) * G, b_ih, scratch, hp, hwn + t * step,
                    rz + 2 * t * step, n + t * step, hs + t * step);
  }
}

// GRU backward. dxw, dhw (T, B, 3H) receive the gradients of the input and recurrent
// projections (r|z|n); dh0 (B, H) or null; dh (B, H) work space; packed holds
// rnnkit_packed_bytes(B, H, 3H).
void rnnkit_gru_backward(int T, int B, int H, const float* w_hh, const float* h0,
                         const float* hwn, const float* rz, const float* n, const float* hs,
                         const float* dhs, float* dxw, float* dhw, float* dh0, float* dh,
                         float* packed) {
  const int G = 3 * H;
  const size_t step = static_cast<size_t>(B) * H;
  Packed w(packed, w_hh, kNoTrans, B, H, G, H, own_gemv(B, H, G));  // dhw @ W_hh
  std::memcpy(dh, dhs + (T - 1) * step, step * sizeof(float));
  for (int t = T - 1; t >= 0; --t) {
    float* dht = dhw + t * static_cast<size_t>(B) * G;
    float* out = t > 0 ? dh : (dh0 ? dh0 : dh);
    rnnkit_gru_step_back(B, H, rz + 2 * t * step, n + t * step, hwn + t * step,
                         t == 0 ? h0 : hs + (t - 1) * step, dh,
                         t > 0 ? dhs + (t - 1) * step : nullptr,
                         dxw + t * static_cast<size_t>(B) * G, dht, out);
    if (t > 0 || dh0) w.apply(dht, 1.0f, out);
  }
}

// One vanilla RNN step after the products: h_t = act(pre + bias), pre (B, H) = x_t W_ih^T +
// h_{t-1} W_hh^T; bias (H) b_ih + b_hh (zeros without bias); act tanh, or relu when relu != 0.
// h_t may be pre itself.
void rnnkit_rnn_step(int B, int H, const float* pre, const float* bias, float* h_t, int relu) {
  const int nt = row_threads(B, H);
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int b = 0; b < B; ++b) {
    const float* a = pre + static_cast<size_t>(b) * H;
    float* h = h_t + static_cast<size_t>(b) * H;
    if (relu) {
#pragma omp simd
      for (int j = 0; j < H; ++j) {
        float v = a[j] + bias[j];
        h[j] = v > 0.0f ? v : (v == v ? 0.0f : v);  // relu, NaN kept
      }
    } else {
#pragma omp simd
      for (int j = 0; j < H; ++j) h[j] = tanh_fast(a[j] + bias[j]);
    }
  }
}

// One vanilla RNN step backward: da_t = dh * act'(a_t), from h_t (1 - h^2 for tanh, [h > 0] for
// relu).
void rnnkit_rnn_step_back(int B, int H, const float* h_t, const float* dh, float* da_t,
                          int relu) {
  const int nt = row_threads(B, H);
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int b = 0; b < B; ++b) {
    const size_t r = static_cast<size_t>(b) * H;
    const float *h = h_t + r, *d = dh + r;
    float* da = da_t + r;
    if (relu) {
#pragma omp simd
      for (int j = 0; j < H; ++j) da[j] = h[j] > 0.0f ? d[j] : 0.0f;
    } else {
#pragma omp simd
      for (int j = 0; j < H; ++j) da[j] = d[j] * (1.0f - h[j] * h[j]);
    }
  }
}

// Vanilla RNN forward. hs (T, B, H) holds x_t W_ih^T on entry and h_t on return; bias (H);
// w_hh (H, H); h0 (B, H); packed holds rnnkit_packed_bytes(B, H, H).
void rnnkit_rnn_forward(int T, int B, int H, float* hs, const float* bias, const float* w_hh,
                        const float* h0, int relu, float* packed) {
  const size_t step = static_cast<size_t>(B) * H;
  Packed w(packed, w_hh, kTrans, B, H, H, H, own_gemv(B, H, H));
  for (int t = 0; t < T; ++t) {
    float* ht = hs + t * step;
    w.apply(t == 0 ? h0 : hs + (t - 1) * step, 1.0f, ht);
    rnnkit_rnn_step(B, H, ht, bias, ht, relu);
  }
}

// Vanilla RNN backward. da (T, B, H) receives the pre-activation gradients; dh0 (B, H) or null;
// dh (B, H) work space; packed holds rnnkit_packed_bytes(B, H, H).
void rnnkit_rnn_backward(int T, int B, int H, const float* hs, const float* w_hh,
                         const float* dhs, float* da, float* dh0, float* dh, int relu,
                         float* packed) {
  const size_t step = static_cast<size_t>(B) * H;
  Packed w(packed, w_hh, kNoTrans, B, H, H, H, own_gemv(B, H, H));  // da @ W_hh
  std::memcpy(dh, dhs + (T - 1) * step, step * sizeof(float));
  for (int t = T - 1; t >= 0; --t) {
    float* dat = da + t * step;
    rnnkit_rnn_step_back(B, H, hs + t * step, dh, dat, relu);
    if (t > 0) {
      std::memcpy(dh, dhs + (t - 1) * step, step * sizeof(float));
      w.apply(dat, 1.0f, dh);
    } else if (dh0) {
      w.apply(dat, 0.0f, dh0);
    }
  }
}

}  // extern "C"
