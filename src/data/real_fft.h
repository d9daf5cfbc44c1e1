// The power spectrum of real frames through FFTW (single precision).
#pragma once

#include <fftw3.h>

#include <memory>
#include <span>

namespace rnnwave {

/// One thread's FFT of size n: its own aligned buffers, and a plan shared by every
/// RealFft of that size. FFTW's planner is not thread-safe, so plans are created once,
/// under a lock, with FFTW_ESTIMATE (the same algorithm on every run: results are
/// reproducible), and executed concurrently with fftwf_execute_dft_r2c, which is safe.
class RealFft {
 public:
  explicit RealFft(int size);

  int size() const { return size_; }
  /// The frame to transform: [size] floats, filled by the caller before each call.
  std::span<float> input() { return {input_.get(), static_cast<size_t>(size_)}; }
  /// power[k] = re^2 + im^2 of bin k of the transform of input(), k in [0, size/2]
  /// (size/2 + 1 values), summed in double. input() is left unchanged.
  void power_spectrum(std::span<double> power);

 private:
  struct Free {
    void operator()(void* p) const { fftwf_free(p); }
  };
  int size_;
  fftwf_plan plan_;  // owned by the shared cache
  std::unique_ptr<float, Free> input_;
  std::unique_ptr<fftwf_complex, Free> output_;
};

}  // namespace rnnwave
