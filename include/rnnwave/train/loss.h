// rnnwave/train/loss.h — losses and metrics over rows of scores.
//
// Shapes: M rows (positions or sequences), C classes. logits [M, C], targets [M] (int64),
// row_weights [M] (empty = every row 1). A row weight scales that row's term; weights
// 0/1 form a mask (e.g. padding positions of a language model batch). Every function
// validates its arguments first (sizes, targets in [0, C), finite logits and targets,
// weights finite and >= 0 with a positive sum) and throws Error naming the offending
// values; nothing is written then. Sums run in double, in increasing row order, so results
// are bit-identical for every thread count.
#pragma once

#include <cstdint>
#include <span>

namespace rnnwave {

/// A weighted sum of per-row terms, and what it is divided by.
struct LossValue {
  double mean = 0;    ///< total / weight: the loss to minimise
  double total = 0;   ///< sum over rows of w_m * term_m
  double weight = 0;  ///< sum over rows of w_m (the number of counted rows for a 0/1 mask)
};

/// Softmax cross-entropy, as torch.nn.functional.cross_entropy(reduction='none') followed
/// by a weighted mean:
///   nll_m  = logsumexp(logits[m, :]) - logits[m, targets[m]]
///   result = sum_m w_m nll_m / sum_m w_m
/// logsumexp subtracts the row maximum and accumulates in double. grad_logits [M, C]
/// (empty = not computed) receives grad_scale * d mean / d logits
/// = grad_scale * w_m / sum(w) * (softmax - onehot); a caller whose loss is the mean of
/// several such calls passes its share as grad_scale (scaled in double, in the same pass).
/// Perplexity over several batches is exp(sum of total / sum of weight).
template <class T>
LossValue softmax_cross_entropy(std::span<const T> logits, int64_t rows, int64_t classes,
                                std::span<const int64_t> targets,
                                std::span<const T> row_weights, std::span<T> grad_logits,
                                double grad_scale = 1.0);

/// The total log-likelihood sum_m w_m log softmax(logits[m, :])[targets[m]] (<= 0), for
/// evaluation: minus softmax_cross_entropy's total, without a gradient. rows may be 0.
template <class T>
double log_likelihood(std::span<const T> logits, int64_t rows, int64_t classes,
                      std::span<const int64_t> targets, std::span<const T> row_weights);

/// Mean squared error for regression, as torch.nn.MSELoss() with row weights:
///   result = sum_m w_m (predictions[m] - targets[m])^2 / sum_m w_m
/// predictions, targets [M]; grad_predictions [M] (empty = not computed) receives
/// grad_scale * 2 w_m (predictions[m] - targets[m]) / sum(w) (a caller whose loss is a
/// share of a larger mean passes the share, as for softmax_cross_entropy).
template <class T>
LossValue mse_loss(std::span<const T> predictions, std::span<const T> targets,
                   std::span<const T> row_weights, std::span<T> grad_predictions,
                   double grad_scale = 1.0);

/// Correct predictions among the counted rows.
struct AccuracyCount {
  int64_t correct = 0;  ///< rows whose argmax is the target
  int64_t counted = 0;  ///< rows with a non-zero weight
  double fraction() const { return counted == 0 ? 0.0 : static_cast<double>(correct) / counted; }
};

/// Counts rows whose highest logit (the first one on ties, as torch.argmax) is the target,
/// among rows of non-zero weight. rows may be 0.
template <class T>
AccuracyCount count_correct(std::span<const T> logits, int64_t rows, int64_t classes,
                            std::span<const int64_t> targets, std::span<const T> row_weights);

}  // namespace rnnwave
