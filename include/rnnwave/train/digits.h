// rnnwave/train/digits.h — what a model of the built-in digits task does besides training:
// say which digit is spoken in a recording.
#pragma once

#include <array>
#include <string>

#include "rnnwave/train/trainer.h"

namespace rnnwave {

/// A digit and the probability of each of the ten (softmax of the model's logits).
struct DigitPrediction {
  int label = 0;
  std::array<double, 10> probabilities{};
};

/// The digit spoken in a WAV file (8 kHz mono, at least one 25 ms frame) by the model of a
/// digits run, with the features normalised by the statistics saved with the model, so a
/// run restored from its checkpoint predicts without the data set. Throws Error for a
/// file that cannot be used (naming it and the problem) or a run of another task.
DigitPrediction predict_digit(const Trainer& trainer, const std::string& wav_path);

}  // namespace rnnwave
