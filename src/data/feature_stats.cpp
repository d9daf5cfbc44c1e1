// Per-feature mean and standard deviation, and normalisation with them.
#include <algorithm>
#include <cmath>

#include "common/strings.h"
#include "rnnwave/data_audio.h"

namespace rnnwave {

void FeatureStats::validate() const {
  if (mean.size() != stddev.size()) {
    fail("feature statistics: mean has ", mean.size(), " values but stddev has ", stddev.size());
  }
  if (mean.empty()) fail("feature statistics are empty");
  for (size_t f = 0; f < mean.size(); ++f) {
    if (!std::isfinite(mean[f])) fail("feature statistics: mean[", f, "] is ", mean[f]);
    if (!(std::isfinite(stddev[f]) && stddev[f] > 0.0f)) {
      fail("feature statistics: stddev[", f, "] must be positive and finite, got ", stddev[f]);
    }
  }
}

void FeatureStatsAccumulator::add(const Tensor& features) {
  if (features.rank() != 2) {
    fail("feature statistics: expected features [T, F], got ", shape_to_string(features.shape()));
  }
  const auto size = static_cast<size_t>(features.dim(1));
  if (sum_.empty()) {
    sum_.assign(size, 0.0);
    sum_squares_.assign(size, 0.0);
  } else if (size != sum_.size()) {
    fail("feature statistics: features [", features.dim(0), ", ", size, "] after features with ",
         sum_.size(), " columns");
  }
  const float* data = features.data();
  for (int64_t t = 0; t < features.dim(0); ++t) {
    for (size_t f = 0; f < size; ++f) {
      const double x = data[static_cast<size_t>(t) * size + f];
      sum_[f] += x;
      sum_squares_[f] += x * x;
    }
  }
  frames_ += features.dim(0);
}

FeatureStats FeatureStatsAccumulator::finish() const {
  if (frames_ == 0) fail("feature statistics: no frame was added");
  FeatureStats stats;
  stats.mean.resize(sum_.size());
  stats.stddev.resize(sum_.size());
  const auto n = static_cast<double>(frames_);
  for (size_t f = 0; f < sum_.size(); ++f) {
    const double mean = sum_[f] / n;
    const double variance = std::max(0.0, sum_squares_[f] / n - mean * mean);
    const double stddev = std::sqrt(variance);
    stats.mean[f] = static_cast<float>(mean);
    stats.stddev[f] = stddev < 1e-6 ? 1.0f : static_cast<float>(stddev);
  }
  return stats;
}

void normalize_features(Tensor& features, const FeatureStats& stats) {
  stats.validate();
  if (features.rank() != 2 || features.dim(1) != stats.size()) {
    fail("normalize features: expected features [T, ", stats.size(), "], got ",
         shape_to_string(features.shape()));
  }
  const auto size = static_cast<size_t>(stats.size());
  float* data = features.data();
  for (int64_t t = 0; t < features.dim(0); ++t) {
    float* row = data + static_cast<size_t>(t) * size;
    for (size_t f = 0; f < size; ++f) row[f] = (row[f] - stats.mean[f]) / stats.stddev[f];
  }
}

}  // namespace rnnwave
