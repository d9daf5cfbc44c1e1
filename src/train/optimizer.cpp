// The optimizer: options, per-parameter state kept by name, validation, checkpoints. The
// update rules themselves are in sgd.cpp and adam.cpp.
#include "rnnwave/train/optimizer.h"

#include <cmath>
#include <set>

#include "common/finite.h"
#include "common/strings.h"
#include "rnnwave/huge_pages.h"
#include "train/optimizer_rules.h"
#include "train/parallel.h"

namespace rnnwave {

namespace train {

const OptimizerRule& optimizer_rule(OptimizerKind kind) {
  for (const OptimizerRule& rule : kOptimizerRules) {
    if (rule.kind == kind) return rule;
  }
  fail("unknown optimizer kind ", static_cast<int>(kind));
}

}  // namespace train

namespace {

constexpr const char* kStepKey = "step";
constexpr const char* kRateKey = "learning_rate";
/// Doubles represent every integer below 2^53 exactly.
constexpr double kMaxSteps = 9007199254740992.0;

void check_rate(double lr) {
  if (!(std::isfinite(lr) && lr > 0)) fail("optimizer learning_rate must be finite and > 0, got ", lr);
}

}  // namespace

std::string_view to_string(OptimizerKind kind) { return train::optimizer_rule(kind).name; }

OptimizerKind parse_optimizer_kind(std::string_view name) {
  std::string valid;
  for (const train::OptimizerRule& rule : train::kOptimizerRules) {
    if (rule.name == name) return rule.kind;
    valid += cat(valid.empty() ? "" : ", ", rule.name);
  }
  fail("unknown optimizer '", name, "' (valid: ", valid, ")");
}

void OptimizerOptions::validate() const {
  train::optimizer_rule(kind);
  check_rate(learning_rate);
  if (!(std::isfinite(weight_decay) && weight_decay >= 0)) {
    fail("optimizer weight_decay must be finite and >= 0, got ", weight_decay);
  }
  if (!(momentum >= 0 && momentum < 1)) fail("optimizer momentum must be in [0, 1), got ", momentum);
  if (nesterov && momentum == 0) fail("optimizer nesterov needs momentum > 0, got momentum 0");
  if (kind != OptimizerKind::sgd && (momentum != 0 || nesterov)) {
    fail("optimizer momentum and nesterov are options of sgd, not of ", to_string(kind));
  }
  if (!(beta1 >= 0 && beta1 < 1)) fail("optimizer beta1 must be in [0, 1), got ", beta1);
  if (!(beta2 >= 0 && beta2 < 1)) fail("optimizer beta2 must be in [0, 1), got ", beta2);
  if (!(std::isfinite(eps) && eps > 0)) fail("optimizer eps must be finite and > 0, got ", eps);
}

template <class T>
struct BasicOptimizer<T>::Impl {
  /// The state of one parameter: its size and its buffers, in the order of buffer names.
  struct Slot {
    int64_t size = 0;
    std::vector<LargeVector<T>> buffers;
  };

  OptimizerOptions options;
  const train::OptimizerRule* rule = nullptr;
  std::vector<std::string> buffer_names;
  double learning_rate = 0;
  int64_t steps = 0;
  bool bound = false;  // the parameter list is known (first step or loaded buffers)
  std::map<std::string, Slot> slots;

  void check_params(std::span<const Parameter<T>> params) const {
    std::set<std::string_view> seen;
    for (const Parameter<T>& p : params) {
      if (p.name.empty()) fail("optimizer step: a parameter has an empty name");
      if (!seen.insert(p.name).second) fail("optimizer step: parameter '", p.name, "' given twice");
      if (p.value.size() != p.grad.size()) {
        fail("optimizer step: parameter '", p.name, "' has ", p.value.size(),
             " elements but its gradient ", p.grad.size());
      }
      const std::span<const T> grad = p.grad;
      check_finite<T>(grad, {static_cast<int64_t>(grad.size())}, cat("gradient of ", p.name));
    }
    if (!bound) return;
    for (const Parameter<T>& p : params) {
      const auto slot = slots.find(p.name);
      if (slot == slots.end()) {
        fail("optimizer step: parameter '", p.name, "' is not one of the ", slots.size(),
             " parameters of the optimizer's state (first: '", slots.begin()->first, "')");
      }
      if (slot->second.size != static_cast<int64_t>(p.value.size())) {
        fail("optimizer step: parameter '", p.name, "' has ", p.value.size(),
             " elements, its optimizer state ", slot->second.size);
      }
    }
    if (params.size() != slots.size()) {
      for (const auto& [name, slot] : slots) {
        if (seen.count(name) == 0) {
          fail("optimizer step: parameter '", name, "' (", slot.size,
               " elements) of the optimizer's state is missing from the ", params.size(),
               " given");
        }
      }
    }
  }

  void bind(std::span<const Parameter<T>> params) {
    for (const Parameter<T>& p : params) {
      Slot& slot = slots[p.name];
      slot.size = static_cast<int64_t>(p.value.size());
      slot.buffers.assign(buffer_names.size(), LargeVector<T>(p.value.size(), T(0)));
    }
    bound = true;
  }
};

template <class T>
BasicOptimizer<T>::BasicOptimizer(const OptimizerOptions& options) : impl_(std::make_unique<Impl>()) {
  options.validate();
  impl_->options = options;
  impl_->rule = &train::optimizer_rule(options.kind);
  for (std::string_view name : impl_->rule->buffers(options)) impl_->buffer_names.emplace_back(name);
  impl_->learning_rate = options.learning_rate;
}

template <class T>
BasicOptimizer<T>::~BasicOptimizer() = default;
template <class T>
BasicOptimizer<T>::BasicOptimizer(BasicOptimizer&&) noexcept = default;
template <class T>
BasicOptimizer<T>& BasicOptimizer<T>::operator=(BasicOptimizer&&) noexcept = default;

template <class T>
const OptimizerOptions& BasicOptimizer<T>::options() const { return impl_->options; }

template <class T>
double BasicOptimizer<T>::learning_rate() const { return impl_->learning_rate; }

template <class T>
void BasicOptimizer<T>::set_learning_rate(double lr) {
  check_rate(lr);
  impl_->learning_rate = lr;
}

template <class T>
int64_t BasicOptimizer<T>::steps() const { return impl_->steps; }

template <class T>
std::vector<std::string> BasicOptimizer<T>::buffer_names() const { return impl_->buffer_names; }

template <class T>
void BasicOptimizer<T>::step(std::span<const Parameter<T>> params) {
  Impl& s = *impl_;
  s.check_params(params);
  if (!s.bound) s.bind(params);
  s.steps += 1;
  const train::StepScalars scalars{s.learning_rate, s.steps};
  train::UpdateRule<T> update;
  if constexpr (std::is_same_v<T, float>) {
    update = s.rule->update_float;
  } else {
    update = s.rule->update_double;
  }
  for (const Parameter<T>& p : params) {
    typename Impl::Slot& slot = s.slots.at(p.name);
    std::vector<T*> buffers;
    for (LargeVector<T>& buffer : slot.buffers) buffers.push_back(buffer.data());
    const std::span<T* const> buffer_span(buffers);
    train::parallel_blocks(slot.size, train::kElementBlock, [&](int64_t begin, int64_t end) {
      update(s.options, scalars, p.value.data(), p.grad.data(), buffer_span, begin, end);
    });
  }
}

template <class T>
OptimizerState<T> BasicOptimizer<T>::state() const {
  const Impl& s = *impl_;
  OptimizerState<T> state;
  state.scalars[kStepKey] = static_cast<double>(s.steps);
  state.scalars[kRateKey] = s.learning_rate;
  for (const auto& [name, slot] : s.slots) {
    for (size_t b = 0; b < slot.buffers.size(); ++b) {
      state.tensors.emplace(cat(name, "/", s.buffer_names[b]),
                            BasicTensor<T>({slot.size}, {slot.buffers[b].begin(), slot.buffers[b].end()}));
    }
  }
  return state;
}

template <class T>
void BasicOptimizer<T>::load_state(const OptimizerState<T>& state) {
  Impl& s = *impl_;
  for (const auto& [key, value] : state.scalars) {
    if (key != kStepKey && key != kRateKey) {
      fail("optimizer state: unexpected scalar ", quote_for_message(key), " (expected '", kStepKey, "' and '",
           kRateKey, "')");
    }
  }
  for (const char* key : {kStepKey, kRateKey}) {
    if (state.scalars.count(key) == 0) fail("optimizer state: missing scalar '", key, "'");
  }
  const double steps = state.scalars.at(kStepKey);
  if (!(steps >= 0 && steps < kMaxSteps && steps == std::floor(steps))) {
    fail("optimizer state: 'step' must be a non-negative integer, got ", steps);
  }
  const double lr = state.scalars.at(kRateKey);
  if (!(std::isfinite(lr) && lr > 0)) {
    fail("optimizer state: 'learning_rate' must be finite and > 0, got ", lr);
  }
  // Group "<param>/<buffer>" by parameter; check every piece before replacing anything.
  std::map<std::string, typename Impl::Slot> slots;
  for (const auto& [key, tensor] : state.tensors) {
    const size_t slash = key.rfind('/');
    const std::string name = slash == std::string::npos ? "" : key.substr(0, slash);
    const std::string buffer = slash == std::string::npos ? key : key.substr(slash + 1);
    size_t index = s.buffer_names.size();
    for (size_t b = 0; b < s.buffer_names.size(); ++b) {
      if (s.buffer_names[b] == buffer) index = b;
    }
    if (name.empty() || index == s.buffer_names.size()) {
      std::string expected;
      for (const std::string& b : s.buffer_names) expected += cat(expected.empty() ? "" : ", ", b);
      fail("optimizer state: tensor ", quote_for_message(key), " is not '<parameter>/<buffer>' with a buffer of ",
           to_string(s.options.kind), s.options.momentum != 0 ? " with momentum" : "", " (",
           expected.empty() ? "it keeps none" : expected, ")");
    }
    if (tensor.rank() != 1) {
      fail("optimizer state: tensor ", quote_for_message(key), " must be 1-D, got shape ",
           shape_to_string(tensor.shape()));
    }
    check_finite<T>(tensor.span(), tensor.shape(), cat("optimizer state ", quote_for_message(key)));
    if (buffer == "exp_avg_sq") {
      // Adam's running mean of squared gradients: a negative value would make the next
      // step's square root NaN, mid-epoch.
      for (int64_t i = 0; i < tensor.size(); ++i) {
        if (tensor.data()[i] < 0) {
          fail("optimizer state ", quote_for_message(key), ": value ", tensor.data()[i], " at [", i,
               "] is negative (a mean of squared gradients never is)");
        }
      }
    }
    typename Impl::Slot& slot = slots[name];
    if (slot.buffers.empty()) {
      slot.size = tensor.size();
      slot.buffers.resize(s.buffer_names.size());
    } else if (slot.size != tensor.size()) {
      fail("optimizer state: buffers of ", quote_for_message(name), " differ in size (", slot.size, " and ",
           tensor.size(), " in ", quote_for_message(key), ")");
    }
    slot.buffers[index].assign(tensor.vector().begin(), tensor.vector().end());
  }
  for (const auto& [name, slot] : slots) {
    for (size_t b = 0; b < s.buffer_names.size(); ++b) {
      if (slot.buffers[b].size() != static_cast<size_t>(slot.size)) {
        fail("optimizer state: parameter ", quote_for_message(name), " lacks its buffer '", s.buffer_names[b],
             "' (", quote_for_message(name + "/" + s.buffer_names[b]), ")");
      }
    }
  }
  if (slots.empty() && steps > 0 && !s.buffer_names.empty()) {
    fail("optimizer state: ", steps, " steps taken but no buffers (", to_string(s.options.kind),
         " keeps ", s.buffer_names.front(), " per parameter)");
  }
  s.steps = static_cast<int64_t>(steps);
  s.learning_rate = lr;
  s.slots = std::move(slots);
  s.bound = !s.slots.empty();
}

template class BasicOptimizer<float>;
template class BasicOptimizer<double>;

}  // namespace rnnwave
