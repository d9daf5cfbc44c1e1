// The public entry points of the feature pipeline: from samples or from a WAV file.
#include "common/strings.h"
#include "data/feature_extractor.h"
#include "rnnwave/data_audio.h"

namespace rnnwave {

Tensor features_of_samples(std::span<const float> samples, const FeatureOptions& options) {
  return FeatureExtractor(options).compute(samples, "samples");
}

Tensor features_of_wav(const std::string& path, const FeatureOptions& options) {
  FeatureExtractor extractor(options);  // options checked before the file is read
  const std::vector<float> samples = load_wav(path, options.sample_rate);
  check_recording_length(samples, options, path);
  return extractor.compute(samples, quote_for_message(path, 200));
}

Tensor features_of_wav(const std::string& path, const FeatureOptions& options,
                       const FeatureStats& stats) {
  stats.validate();
  if (stats.size() != options.feature_size()) {
    fail("feature statistics have ", stats.size(), " features but the options give ",
         options.feature_size());
  }
  Tensor features = features_of_wav(path, options);
  normalize_features(features, stats);
  return features;
}

}  // namespace rnnwave
