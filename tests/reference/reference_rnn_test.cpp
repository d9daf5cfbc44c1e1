// The reference RNN's forward math, padding semantics, wiring and argument checks.
//
// The finite-difference checks (reference_gradcheck_test.cpp) prove that backward() is the
// derivative of forward(); the tests here pin forward() itself: numbers derived by hand for
// each cell kind, pack_padded_sequence semantics, the reverse direction, and layer stacking.
#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "reference/reference_rnn.h"
#include "reference/reference_test_support.h"

namespace rnnref::test_support {
namespace {

// ---------------------------------------------------------------- hand-computed cases
//
// I = 1, H = 1, N = 1: every tensor is a short list of scalars.

Problem scalar_problem(std::vector<double> xs, double h0, std::vector<double> c0 = {}) {
  Problem problem;
  problem.steps = static_cast<int>(xs.size());
  problem.batch = 1;
  problem.input = std::move(xs);
  problem.h0 = {h0};
  problem.c0 = std::move(c0);
  return problem;
}

Config scalar_config(Cell cell) { return Config{cell, 1, 1, 1, false}; }

constexpr double kHandTolerance = 1e-15;

TEST(ReferenceHandComputed, RnnTanh) {
  // w_ih = 0.5, w_hh = -1, b_ih = 0.1, b_hh = 0.2; x = (1, -2); h0 = 0.3.
  //   t = 0: a = 0.5*1 + 0.1 - 1*0.3 + 0.2 = 0.5
  //          h = tanh(0.5) = 0.46211715726000974
  //   t = 1: a = 0.5*(-2) + 0.1 - 1*0.46211715726000974 + 0.2 = -1.1621171572600097
  //          h = tanh(-1.1621171572600097) = -0.8217286508535941
  const Params params{{{{0.5}, {-1.0}, {0.1}, {0.2}}}};
  const ForwardResult r =
      forward(scalar_config(Cell::rnn_tanh), params, scalar_problem({1.0, -2.0}, 0.3));
  ASSERT_EQ(r.output.size(), 2u);
  EXPECT_NEAR(r.output[0], 0.46211715726000974, kHandTolerance);
  EXPECT_NEAR(r.output[1], -0.8217286508535941, kHandTolerance);
  ASSERT_EQ(r.hn.size(), 1u);
  EXPECT_EQ(r.hn[0], r.output[1]);
  EXPECT_TRUE(r.cn.empty());
}

TEST(ReferenceHandComputed, RnnRelu) {
  // Same weights; x = (1, 2, -2); h0 = 0.3.
  //   t = 0: a = 0.5 + 0.1 - 0.3 + 0.2 = 0.5    h = 0.5
  //   t = 1: a = 1.0 + 0.1 - 0.5 + 0.2 = 0.8    h = 0.8
  //   t = 2: a = -1.0 + 0.1 - 0.8 + 0.2 = -1.5  h = 0
  const Params params{{{{0.5}, {-1.0}, {0.1}, {0.2}}}};
  const ForwardResult r =
      forward(scalar_config(Cell::rnn_relu), params, scalar_problem({1.0, 2.0, -2.0}, 0.3));
  ASSERT_EQ(r.output.size(), 3u);
  EXPECT_NEAR(r.output[0], 0.5, kHandTolerance);
  EXPECT_NEAR(r.output[1], 0.8, kHandTolerance);
  EXPECT_EQ(r.output[2], 0.0);
  EXPECT_EQ(r.hn[0], 0.0);
}

TEST(ReferenceHandComputed, Lstm) {
  // Gate order i, f, g, o. w_ih = (0.5, -0.5, 1, 0.25), w_hh = (0.1, 0.2, -0.3, 0.4),
  // b_ih = (0.1, 0.2, 0.3, 0.4), b_hh = -b_ih (so the biases cancel); x = (0, 1); h0 = 0; c0 = 1.
  //   t = 0: every pre-activation is 0: i = f = o = sigmoid(0) = 0.5, g = tanh(0) = 0
  //          c = f*c0 + i*g = 0.5
  //          h = o*tanh(c) = 0.5*tanh(0.5) = 0.23105857863000487
  //   t = 1: pre-activations w_ih*1 + w_hh*h:
  //          i: 0.5 + 0.1h = 0.5231058578630005    -> sigmoid = 0.6278737324888836
  //          f: -0.5 + 0.2h = -0.45378828427399903 -> sigmoid = 0.388460445952406
  //          g: 1 - 0.3h = 0.9306824264109985      -> tanh    = 0.7309119069057588
  //          o: 0.25 + 0.4h = 0.34242343145200194  -> sigmoid = 0.5847790830373295
  //          c = 0.388460445952406*0.5 + 0.6278737324888836*0.7309119069057588
  //            = 0.6531506100856892
  //          h = 0.5847790830373295*tanh(0.6531506100856892) = 0.5847790830373295*0.573787115934747
  //            = 0.3355387035149552
  const Params params{{{{0.5, -0.5, 1.0, 0.25},
                        {0.1, 0.2, -0.3, 0.4},
                        {0.1, 0.2, 0.3, 0.4},
                        {-0.1, -0.2, -0.3, -0.4}}}};
  const ForwardResult r =
      forward(scalar_config(Cell::lstm), params, scalar_problem({0.0, 1.0}, 0.0, {1.0}));
  ASSERT_EQ(r.output.size(), 2u);
  EXPECT_NEAR(r.output[0], 0.23105857863000487, kHandTolerance);
  EXPECT_NEAR(r.output[1], 0.3355387035149552, kHandTolerance);
  EXPECT_EQ(r.hn[0], r.output[1]);
  ASSERT_EQ(r.cn.size(), 1u);
  EXPECT_NEAR(r.cn[0], 0.6531506100856892, kHandTolerance);
}

TEST(ReferenceHandComputed, Gru) {
  // Gate order r, z, n. w_ih = (0.5, -0.5, 1), w_hh = (0.1, 0.2, -0.3),
  // b_ih = (0.1, 0.2, 0.3), b_hh = (-0.1, -0.2, 0.4); x = (0, 1); h0 = 0.
  //   t = 0: r, z pre-activations 0 -> r = z = 0.5
  //          n = tanh(b_in + r*(w_hn*h0 + b_hn)) = tanh(0.3 + 0.5*0.4) = tanh(0.5)
  //          h = (1 - z)*n + z*h0 = 0.5*tanh(0.5) = 0.23105857863000487
  //          (resetting before the product, tanh(0.3 + 0.4 + ...), would give 0.30218...)
  //   t = 1: r = sigmoid(0.5 + 0.1h) = 0.6278737324888836
  //          z = sigmoid(-0.5 + 0.2h) = 0.388460445952406
  //          w_hn*h + b_hn = -0.3h + 0.4 = 0.33068242641099854
  //          n = tanh(1 + 0.3 + r*0.33068242641099854) = tanh(1.5076268093391543)
  //            = 0.9065169932397612
  //          h = (1 - z)*n + z*0.23105857863000487 = 0.6441281162781501
  const Params params{{{{0.5, -0.5, 1.0}, {0.1, 0.2, -0.3}, {0.1, 0.2, 0.3}, {-0.1, -0.2, 0.4}}}};
  const ForwardResult r =
      forward(scalar_config(Cell::gru), params, scalar_problem({0.0, 1.0}, 0.0));
  ASSERT_EQ(r.output.size(), 2u);
  EXPECT_NEAR(r.output[0], 0.23105857863000487, kHandTolerance);
  EXPECT_NEAR(r.output[1], 0.6441281162781501, kHandTolerance);
  EXPECT_EQ(r.hn[0], r.output[1]);
  EXPECT_TRUE(r.cn.empty());
}

TEST(ReferenceHandComputed, GruResetBeforeProduct) {
  // The GRU's weights above, the reset gate applied to h before W_hn (ONNX
  // linear_before_reset = 0): n = tanh(w_in x + b_in + w_hn (r h) + b_hn).
  //   t = 0: r = z = 0.5; n = tanh(0.3 + w_hn*(0.5*0) + 0.4) = tanh(0.7) = 0.6043677771171636
  //          h = 0.5*n = 0.3021838885585818
  //   t = 1: r = sigmoid(0.5 + 0.1h) = 0.6295340462603146
  //          z = sigmoid(-0.5 + 0.2h) = 0.391845049558682
  //          n = tanh(1 + 0.3 - 0.3*(r*h) + 0.4) = 0.9278809828663789
  //          h = (1 - z)*n + z*0.3021838885585818 = 0.6827046739386167
  const Params params{{{{0.5, -0.5, 1.0}, {0.1, 0.2, -0.3}, {0.1, 0.2, 0.3}, {-0.1, -0.2, 0.4}}}};
  const ForwardResult r =
      forward(scalar_config(Cell::gru_rb), params, scalar_problem({0.0, 1.0}, 0.0));
  ASSERT_EQ(r.output.size(), 2u);
  EXPECT_NEAR(r.output[0], 0.3021838885585818, kHandTolerance);
  EXPECT_NEAR(r.output[1], 0.6827046739386167, kHandTolerance);
  EXPECT_EQ(r.hn[0], r.output[1]);
}

TEST(ReferenceHandComputed, LstmWithPeepholes) {
  // The LSTM's weights above with zero biases and peepholes (p_i, p_f, p_o) = (0.3, -0.2,
  // 0.5) (ONNX: i and f see p*c_prev, o sees p*c); x = (0, 1); h0 = 0; c0 = 1.
  //   t = 0: i = sigmoid(0.3*1) = 0.574442516811659, f = sigmoid(-0.2) = 0.45016600268752216
  //          g = 0, c = f = 0.45016600268752216, o = sigmoid(0.5c) = 0.5560343803639279
  //          h = o*tanh(c) = 0.23466621999123116
  //   t = 1: i = sigmoid(0.5 + 0.1h + 0.3c) = 0.6589270447141249
  //          f = sigmoid(-0.5 + 0.2h - 0.2c) = 0.36746674848486577
  //          g = tanh(1 - 0.3h) = 0.7304074110790086
  //          c = f*c + i*g = 0.6467062341055992, o = sigmoid(0.25 + 0.4h + 0.5c) = 0.660880302970976
  //          h = o*tanh(c) = 0.37633726382871374
  Config config = scalar_config(Cell::lstm);
  config.peepholes = true;
  Params params{{{{0.5, -0.5, 1.0, 0.25}, {0.1, 0.2, -0.3, 0.4}, {0, 0, 0, 0}, {0, 0, 0, 0}}}};
  params.layers[0].w_ph = {0.3, -0.2, 0.5};
  const ForwardResult r = forward(config, params, scalar_problem({0.0, 1.0}, 0.0, {1.0}));
  ASSERT_EQ(r.output.size(), 2u);
  EXPECT_NEAR(r.output[0], 0.23466621999123116, kHandTolerance);
  EXPECT_NEAR(r.output[1], 0.37633726382871374, kHandTolerance);
  EXPECT_NEAR(r.cn[0], 0.6467062341055992, kHandTolerance);
}

TEST(ReferenceHandComputed, LstmWithProjection) {
  // H = 2, P = 1, I = 1, zero biases; rows i0 i1 f0 f1 g0 g1 o0 o1:
  //   w_ih = (0.5, -0.4, -0.5, 0.3, 1, -1, 0.25, 0.6), w_hh = (0.1, -0.2, 0.2, 0.3, -0.3,
  //   0.5, 0.4, -0.1) ([8, P]), w_hr = (0.7, -0.9) ([P, H]); x = (1, -2); h0 = c0 = 0.
  // Per unit j: c_j = f_j c_j + i_j g_j, m_j = o_j tanh(c_j); then h = w_hr . m.
  //   t = 0: c = (0.47406138896346633, -0.3056371327712901)
  //          m = (0.24818686717764854, -0.19141310795596106), h = 0.34600260418471895
  //   t = 1: c = (0.08520267802077386, 0.5420474218141078)
  //          m = (0.034897476304549584, 0.11145723245367793), h = -0.07588327579512544
  Config config{Cell::lstm, 1, 2, 1, false};
  config.proj_size = 1;
  Params params{{{{0.5, -0.4, -0.5, 0.3, 1.0, -1.0, 0.25, 0.6},
                  {0.1, -0.2, 0.2, 0.3, -0.3, 0.5, 0.4, -0.1},
                  std::vector<double>(8, 0.0),
                  std::vector<double>(8, 0.0),
                  {0.7, -0.9}}}};
  Problem problem = scalar_problem({1.0, -2.0}, 0.0, {0.0, 0.0});
  const ForwardResult r = forward(config, params, problem);
  ASSERT_EQ(r.output.size(), 2u);
  EXPECT_NEAR(r.output[0], 0.34600260418471895, kHandTolerance);
  EXPECT_NEAR(r.output[1], -0.07588327579512544, kHandTolerance);
  ASSERT_EQ(r.cn.size(), 2u);
  EXPECT_NEAR(r.cn[0], 0.08520267802077386, kHandTolerance);
  EXPECT_NEAR(r.cn[1], 0.5420474218141078, kHandTolerance);
}

TEST(ReferenceHandComputed, ReverseOnlyWalksBackward) {
  // The RNN-tanh weights above on x = (-2, 1): walking t = 1, 0 gives h(t=1) = tanh(0.5) and
  // h(t=0) = tanh(-1.1621171572600097) (the forward walk of x = (1, -2), reversed).
  Config config = scalar_config(Cell::rnn_tanh);
  config.reverse = true;
  const Params params{{{{0.5}, {-1.0}, {0.1}, {0.2}}}};
  const ForwardResult r = forward(config, params, scalar_problem({-2.0, 1.0}, 0.3));
  ASSERT_EQ(r.output.size(), 2u);
  EXPECT_NEAR(r.output[1], 0.46211715726000974, kHandTolerance);
  EXPECT_NEAR(r.output[0], -0.8217286508535941, kHandTolerance);
  EXPECT_EQ(r.hn[0], r.output[0]);
}

TEST(ReferenceHandComputed, GateCounts) {
  EXPECT_EQ(gates(Cell::rnn_tanh), 1);
  EXPECT_EQ(gates(Cell::rnn_relu), 1);
  EXPECT_EQ(gates(Cell::lstm), 4);
  EXPECT_EQ(gates(Cell::gru), 3);
  EXPECT_EQ(gates(Cell::gru_rb), 3);
}

// ---------------------------------------------------------------- padding and wiring
//
// A small random model per (cell, direction count), a batch of 4 with lengths {3, 5, 1, 4}.

struct ModelCase {
  Cell cell;
  bool bidirectional;
};

std::string model_case_name(const ModelCase& c) {
  return std::string(cell_name(c.cell)) + (c.bidirectional ? "_bi" : "_uni");
}

void PrintTo(const ModelCase& c, std::ostream* os) { *os << model_case_name(c); }

std::vector<ModelCase> all_model_cases(bool bidirectional_only) {
  std::vector<ModelCase> cases;
  for (Cell cell : kAllCells) {
    if (!bidirectional_only) cases.push_back({cell, false});
    cases.push_back({cell, true});
  }
  return cases;
}

constexpr int kSteps = 5;
constexpr int kBatch = 4;
const std::vector<int64_t> kLengths = {3, 5, 1, 4};

class ReferenceSemantics : public ::testing::TestWithParam<ModelCase> {
 protected:
  ReferenceSemantics()
      : rng_(static_cast<uint64_t>(GetParam().cell) * 2 + GetParam().bidirectional) {
    config_ = Config{GetParam().cell, 3, 3, 2, GetParam().bidirectional};
    params_ = random_params(config_, rng_);
    problem_ = random_problem(config_, kSteps, kBatch, kLengths, true, rng_);
  }

  int D() const { return directions(config_); }
  int H() const { return config_.hidden_size; }
  bool lstm() const { return config_.cell == Cell::lstm; }
  // Index of output[t, n, d*H + j].
  size_t out_index(int t, int n, int d, int j) const {
    return (static_cast<size_t>(t) * kBatch + n) * D() * H() + d * H() + j;
  }
  // Index of state[ld, n, j].
  size_t state_index(int ld, int n, int j) const {
    return (static_cast<size_t>(ld) * kBatch + n) * H() + j;
  }

  std::mt19937_64 rng_;
  Config config_;
  Params params_;
  Problem problem_;
};

TEST_P(ReferenceSemantics, PaddedOutputsAreZeroAndHnIsTheLastStep) {
  const ForwardResult r = forward(config_, params_, problem_);
  const int top = (config_.layers - 1) * D();
  for (int n = 0; n < kBatch; ++n) {
    const int len = static_cast<int>(kLengths[n]);
    for (int t = len; t < kSteps; ++t) {
      for (int k = 0; k < D() * H(); ++k) EXPECT_EQ(r.output[out_index(t, n, 0, k)], 0.0);
    }
    for (int j = 0; j < H(); ++j) {
      // Forward direction: h_n is the output at the sequence's own last step.
      EXPECT_EQ(r.hn[state_index(top, n, j)], r.output[out_index(len - 1, n, 0, j)]);
      // Reverse direction: it starts at t = len-1 and ends at t = 0.
      if (D() == 2) {
        EXPECT_EQ(r.hn[state_index(top + 1, n, j)], r.output[out_index(0, n, 1, j)]);
      }
    }
  }
}

TEST_P(ReferenceSemantics, PaddedPositionsAreIgnored) {
  const int DH = D() * H();
  const std::vector<double> grad_output =
      random_vector(static_cast<size_t>(kSteps) * kBatch * DH, rng_, 1.0);
  const std::vector<double> grad_hn = random_vector(state_size(config_, kBatch), rng_, 1.0);
  const std::vector<double> grad_cn =
      lstm() ? random_vector(state_size(config_, kBatch), rng_, 1.0) : std::vector<double>();
  const ForwardResult r = forward(config_, params_, problem_);
  const Gradients g = backward(config_, params_, problem_, grad_output, grad_hn, grad_cn);

  // Change the input and grad_output at every padded position.
  Problem changed = problem_;
  std::vector<double> changed_grad_output = grad_output;
  for (int n = 0; n < kBatch; ++n) {
    for (int t = static_cast<int>(kLengths[n]); t < kSteps; ++t) {
      for (int k = 0; k < config_.input_size; ++k) {
        changed.input[(static_cast<size_t>(t) * kBatch + n) * config_.input_size + k] += 100.0;
      }
      for (int k = 0; k < DH; ++k) changed_grad_output[out_index(t, n, 0, k)] -= 50.0;
    }
  }
  const ForwardResult rc = forward(config_, params_, changed);
  EXPECT_EQ(rc.output, r.output);
  EXPECT_EQ(rc.hn, r.hn);
  EXPECT_EQ(rc.cn, r.cn);
  const Gradients gc = backward(config_, params_, changed, changed_grad_output, grad_hn, grad_cn);
  EXPECT_EQ(gc.input, g.input);
  EXPECT_EQ(gc.h0, g.h0);
  EXPECT_EQ(gc.c0, g.c0);
  for (size_t ld = 0; ld < params_.layers.size(); ++ld) {
    EXPECT_EQ(gc.params.layers[ld].w_ih, g.params.layers[ld].w_ih) << ld;
    EXPECT_EQ(gc.params.layers[ld].w_hh, g.params.layers[ld].w_hh) << ld;
    EXPECT_EQ(gc.params.layers[ld].b_ih, g.params.layers[ld].b_ih) << ld;
    EXPECT_EQ(gc.params.layers[ld].b_hh, g.params.layers[ld].b_hh) << ld;
  }
  // The input gradient is exactly zero at padded positions.
  for (int n = 0; n < kBatch; ++n) {
    for (int t = static_cast<int>(kLengths[n]); t < kSteps; ++t) {
      for (int k = 0; k < config_.input_size; ++k) {
        EXPECT_EQ(g.input[(static_cast<size_t>(t) * kBatch + n) * config_.input_size + k], 0.0);
      }
    }
  }
}

TEST_P(ReferenceSemantics, EachSequenceRunsOnItsOwn) {
  // Sequence n alone (batch 1, T = its length) gives exactly its slice of the batched run.
  const ForwardResult r = forward(config_, params_, problem_);
  const int LD = config_.layers * D();
  for (int n = 0; n < kBatch; ++n) {
    const int len = static_cast<int>(kLengths[n]);
    Problem alone;
    alone.steps = len;
    alone.batch = 1;
    for (int t = 0; t < len; ++t) {
      for (int k = 0; k < config_.input_size; ++k) {
        alone.input.push_back(
            problem_.input[(static_cast<size_t>(t) * kBatch + n) * config_.input_size + k]);
      }
    }
    for (int ld = 0; ld < LD; ++ld) {
      for (int j = 0; j < H(); ++j) {
        alone.h0.push_back(problem_.h0[state_index(ld, n, j)]);
        if (lstm()) alone.c0.push_back(problem_.c0[state_index(ld, n, j)]);
      }
    }
    const ForwardResult ra = forward(config_, params_, alone);
    for (int t = 0; t < len; ++t) {
      for (int k = 0; k < D() * H(); ++k) {
        EXPECT_EQ(ra.output[static_cast<size_t>(t) * D() * H() + k],
                  r.output[out_index(t, n, 0, k)]);
      }
    }
    for (int ld = 0; ld < LD; ++ld) {
      for (int j = 0; j < H(); ++j) {
        EXPECT_EQ(ra.hn[static_cast<size_t>(ld) * H() + j], r.hn[state_index(ld, n, j)]);
        if (lstm()) {
          EXPECT_EQ(ra.cn[static_cast<size_t>(ld) * H() + j], r.cn[state_index(ld, n, j)]);
        }
      }
    }
  }
}

TEST_P(ReferenceSemantics, LayersStackOnTheOutputsOfBothDirections) {
  // The 2-layer model equals its first layer, run as a 1-layer model, feeding its output
  // [T, N, D*H] to its second layer, run as a 1-layer model with I = D*H. h_n / c_n rows
  // l*D + d come from layer l, direction d.
  const ForwardResult r = forward(config_, params_, problem_);
  const size_t per_layer = static_cast<size_t>(D()) * kBatch * H();  // one layer's rows of h_n

  Config first = config_;
  first.layers = 1;
  Params first_params;
  Problem first_problem = problem_;
  for (int d = 0; d < D(); ++d) first_params.layers.push_back(params_.layers[d]);
  first_problem.h0.resize(per_layer);
  if (lstm()) first_problem.c0.resize(per_layer);
  const ForwardResult r1 = forward(first, first_params, first_problem);

  Config second = first;
  second.input_size = D() * H();
  Params second_params;
  for (int d = 0; d < D(); ++d) second_params.layers.push_back(params_.layers[D() + d]);
  Problem second_problem = problem_;
  second_problem.input = r1.output;
  second_problem.h0.assign(problem_.h0.begin() + per_layer, problem_.h0.end());
  if (lstm()) second_problem.c0.assign(problem_.c0.begin() + per_layer, problem_.c0.end());
  const ForwardResult r2 = forward(second, second_params, second_problem);

  EXPECT_EQ(r2.output, r.output);
  std::vector<double> hn = r1.hn;
  hn.insert(hn.end(), r2.hn.begin(), r2.hn.end());
  EXPECT_EQ(hn, r.hn);
  std::vector<double> cn = r1.cn;
  cn.insert(cn.end(), r2.cn.begin(), r2.cn.end());
  EXPECT_EQ(cn, r.cn);
}

// The same fixture, instantiated for bidirectional models only.
class ReferenceReverseDirection : public ReferenceSemantics {};

TEST_P(ReferenceReverseDirection, ReadsEachSequenceBackwards) {
  // Direction 1 of a 1-layer model equals a unidirectional model with direction 1's weights
  // run on each sequence reversed within its own length: t <-> len-1-t.
  Config one = config_;
  one.layers = 1;
  Params bi_params{{params_.layers[0], params_.layers[1]}};
  Problem bi_problem = problem_;
  bi_problem.h0.resize(2 * kBatch * H());
  if (lstm()) bi_problem.c0.resize(2 * kBatch * H());
  const ForwardResult rb = forward(one, bi_params, bi_problem);

  Config uni = one;
  uni.bidirectional = false;
  Problem reversed = bi_problem;
  const int I = config_.input_size;
  for (int n = 0; n < kBatch; ++n) {
    const int len = static_cast<int>(kLengths[n]);
    for (int t = 0; t < len; ++t) {
      for (int k = 0; k < I; ++k) {
        reversed.input[(static_cast<size_t>(t) * kBatch + n) * I + k] =
            problem_.input[(static_cast<size_t>(len - 1 - t) * kBatch + n) * I + k];
      }
    }
  }
  // The state rows of direction 1 (row 1 of [2, N, H]).
  reversed.h0.assign(bi_problem.h0.begin() + kBatch * H(), bi_problem.h0.end());
  if (lstm()) reversed.c0.assign(bi_problem.c0.begin() + kBatch * H(), bi_problem.c0.end());
  const ForwardResult ru = forward(uni, Params{{params_.layers[1]}}, reversed);

  for (int n = 0; n < kBatch; ++n) {
    const int len = static_cast<int>(kLengths[n]);
    for (int t = 0; t < len; ++t) {
      for (int j = 0; j < H(); ++j) {
        EXPECT_EQ(rb.output[out_index(t, n, 1, j)],
                  ru.output[(static_cast<size_t>(len - 1 - t) * kBatch + n) * H() + j]);
      }
    }
    for (int j = 0; j < H(); ++j) {
      EXPECT_EQ(rb.hn[state_index(1, n, j)], ru.hn[static_cast<size_t>(n) * H() + j]);
      if (lstm()) {
        EXPECT_EQ(rb.cn[state_index(1, n, j)], ru.cn[static_cast<size_t>(n) * H() + j]);
      }
    }
  }
}

std::string model_case_test_name(const ::testing::TestParamInfo<ModelCase>& param_info) {
  return model_case_name(param_info.param);
}

INSTANTIATE_TEST_SUITE_P(AllCells, ReferenceSemantics, ::testing::ValuesIn(all_model_cases(false)),
                         model_case_test_name);
INSTANTIATE_TEST_SUITE_P(AllCells, ReferenceReverseDirection,
                         ::testing::ValuesIn(all_model_cases(true)), model_case_test_name);

}  // namespace
}  // namespace rnnref::test_support
