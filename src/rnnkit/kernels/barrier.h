// The barrier between the steps of a time loop whose threads split each step's hidden units
// (native.cpp's LSTM at a few rows). Linux only, as the native library.
//
// A step at batch 1 takes a few microseconds, and libgomp's `omp barrier` costs 0.35 us with
// two threads (measured on the AVX2 machine, 2026-12-08). This sense-reversing barrier spins on
// one cache line (0.04 us there) for a bounded number of rounds, then sleeps on a futex until
// the last thread arrives, so a thread whose partner was descheduled (another process on the
// core) gives the core up instead of burning the partner's time. With the cores contended a
// barrier every step costs a sleep and a wake-up every step (5x slower than one thread, measured
// with two such processes on two cores), so the barrier also tells the team when to stop
// splitting: when more than kMaxSlept of the last kWindow waits slept.

#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>

#include <omp.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace rnnkit_sync {

class StepBarrier {
 public:
  // stop_after >= 0: tell the team to stop after that many waits, contended or not (tests).
  void init(int n, int stop_after = -1) {
    n_ = n;
    stop_after_ = stop_after;
    waits_ = 0;
    count_.store(0);
    flag_.store(0);
    sleepers_.store(0);
    slept_.store(0);
    rounds_ = 0;
    go_.store(1);
  }
  // Every one of the n threads calls wait with its own sense (0 before the first wait); none
  // returns before all have called it, and each then sees all writes made before. All get the
  // same answer: true to go on splitting, false when the cores are contended (the team should
  // leave the split loop after this barrier).
  bool wait(int& sense) {
    sense ^= 1;
    if (count_.fetch_add(1) == n_ - 1) {
      count_.store(0);
      if (++waits_ == stop_after_) go_.store(0);
      if (++rounds_ == kWindow) {
        if (slept_.load() > kMaxSlept) go_.store(0);
        slept_.store(0);
        rounds_ = 0;
      }
      flag_.store(sense);
      if (sleepers_.load() > 0) futex(FUTEX_WAKE_PRIVATE, INT_MAX);
      return go_.load() != 0;
    }
    for (int spins = 0; spins < kSpins; ++spins) {
      if (flag_.load(std::memory_order_acquire) == sense) return go_.load() != 0;
      relax();
    }
    slept_.fetch_add(1);
    sleepers_.fetch_add(1);
    while (flag_.load() != sense) futex(FUTEX_WAIT_PRIVATE, sense ^ 1);
    sleepers_.fetch_sub(1);
    return go_.load() != 0;
  }

 private:
  static constexpr int kSpins = 1 << 11;  // tens of microseconds: a few steps
  static constexpr int kWindow = 32;
  static constexpr int kMaxSlept = 4;
  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }
  void futex(int op, int val) {
    syscall(SYS_futex, reinterpret_cast<int*>(&flag_), op, val, nullptr, nullptr, 0);
  }
  alignas(64) std::atomic<int> count_{0};
  alignas(64) std::atomic<int> flag_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<int> slept_{0};
  std::atomic<int> go_{1};
  int rounds_ = 0, waits_ = 0, stop_after_ = -1;  // touched by the last thread to arrive only
  int n_ = 1;
};

// Thread tid's columns [j0, j1) of w when nt threads split a step by columns: whole cache lines
// (16 floats), so no two threads write one line.
inline void share(int w, int tid, int nt, int* j0, int* j1) {
  const int per = ((w + nt - 1) / nt + 15) / 16 * 16;
  *j0 = tid * per < w ? tid * per : w;
  *j1 = *j0 + per < w ? *j0 + per : w;
}

// How many threads split a step of `work` columns, at least `per_thread` each: no more than
// PyTorch's threads nor the processors (a barrier a step with more threads than cores waits
// for descheduled threads every step: 10-100x slower, measured with 4 threads on 2 cores).
inline int team_size(int work, int per_thread) {
  int nt = omp_get_max_threads();
  if (omp_get_num_procs() < nt) nt = omp_get_num_procs();
  if (work / per_thread < nt) nt = work / per_thread;
  return nt > 1 ? nt : 1;
}

}  // namespace rnnkit_sync
