#include "data/real_fft.h"

#include <map>
#include <mutex>

#include "common/strings.h"

namespace rnnwave {
namespace {

/// Plans by size, created on first use and destroyed at exit.
class PlanCache {
 public:
  ~PlanCache() {
    std::lock_guard lock(mutex_);
    for (auto& [size, plan] : plans_) fftwf_destroy_plan(plan);
  }

  fftwf_plan get(int size) {
    std::lock_guard lock(mutex_);
    auto found = plans_.find(size);
    if (found != plans_.end()) return found->second;
    // Arrays from fftwf_alloc_*, like every RealFft's, so the plan's alignment holds for
    // them. FFTW_ESTIMATE does not touch the arrays.
    float* in = fftwf_alloc_real(static_cast<size_t>(size));
    fftwf_complex* out = fftwf_alloc_complex(static_cast<size_t>(size / 2 + 1));
    fftwf_plan plan = (in && out) ? fftwf_plan_dft_r2c_1d(size, in, out, FFTW_ESTIMATE) : nullptr;
    fftwf_free(in);
    fftwf_free(out);
    if (plan == nullptr) fail("FFTW could not plan a real FFT of size ", size);
    plans_.emplace(size, plan);
    return plan;
  }

 private:
  std::mutex mutex_;
  std::map<int, fftwf_plan> plans_;
};

PlanCache& plan_cache() {
  static PlanCache cache;
  return cache;
}

}  // namespace

RealFft::RealFft(int size)
    : size_(size),
      plan_(nullptr),
      input_(size > 0 ? fftwf_alloc_real(static_cast<size_t>(size)) : nullptr),
      output_(size > 0 ? fftwf_alloc_complex(static_cast<size_t>(size / 2 + 1)) : nullptr) {
  if (size < 1) fail("FFT size must be at least 1, got ", size);
  if (!input_ || !output_) fail("cannot allocate the buffers of an FFT of size ", size);
  plan_ = plan_cache().get(size);
}

void RealFft::power_spectrum(std::span<double> power) {
  const size_t bins = static_cast<size_t>(size_ / 2 + 1);
  if (power.size() != bins) fail("power spectrum: expected ", bins, " bins, got ", power.size());
  fftwf_execute_dft_r2c(plan_, input_.get(), output_.get());
  const fftwf_complex* out = output_.get();
  for (size_t k = 0; k < bins; ++k) {
    const double re = out[k][0];
    const double im = out[k][1];
    power[k] = re * re + im * im;
  }
}

}  // namespace rnnwave
