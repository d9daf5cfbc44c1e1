// What the new degrees of freedom mean, checked against what they must equal: a reverse
// model is the reverse half of a bidirectional one; a projection with W_hr = I is the plain
// LSTM; zero peephole weights are the plain LSTM; and weights of the wrong variant are
// refused with a hint naming the right one.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "rnnwave/error.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

template <class V>
bool same_bits(const V& a, const V& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0);
}

TEST(Variants, AReverseModelIsTheReverseHalfOfABidirectionalOne) {
  for (CellKind cell : kAllCellKinds) {
    Case c;
    c.cell = cell;
    c.bidirectional = true;
    c.variable_lengths = true;
    c.with_h0 = true;
    c.hidden_size = 6;
    const Problem<float> bi = make_problem<float>(c, 41);
    const Weights both = Weights::uniform(bi.spec, 42);
    ForwardOut<float> out_both;
    Rnn(both).forward(forward_args(bi, out_both));

    // The same sequences through the reverse direction's weights alone.
    ModelSpec spec = bi.spec;
    spec.bidirectional = false;
    spec.reverse = true;
    Weights one(spec);
    for (const ParamInfo& info : one.params()) {
      const auto from = both.get(info.name);  // the _reverse ones of the bidirectional model
      std::copy(from.begin(), from.end(), one.get(info.name).begin());
    }
    Problem<float> rev = bi;
    rev.spec = spec;
    const int64_t N = bi.batch, H = c.hidden_size;
    rev.h0.assign(bi.h0.begin() + N * H, bi.h0.end());  // [L*D, N, H]: the second direction
    rev.c0.assign(bi.c0.begin() + (bi.c0.empty() ? 0 : N * H), bi.c0.end());
    ForwardOut<float> out_rev;
    Rnn(one).forward(forward_args(rev, out_rev));
    for (int64_t t = 0; t < bi.steps; ++t) {
      for (int64_t n = 0; n < N; ++n) {
        const float* a = out_rev.output.data() + (t * N + n) * H;
        const float* b = out_both.output.data() + (t * N + n) * 2 * H + H;
        EXPECT_EQ(std::memcmp(a, b, sizeof(float) * H), 0) << to_string(cell) << " t=" << t << " n=" << n;
      }
    }
    EXPECT_TRUE(same_bits(out_rev.hn, std::vector<float>(out_both.hn.begin() + N * H, out_both.hn.end())))
        << to_string(cell);
  }
}

/// A projection W_hr = [I_P | 0] keeps the first P units of o * tanh(c): the plain LSTM
/// whose W_hh reads only the first P units of h.
TEST(Variants, ASelectingProjectionIsThePlainLstmCutToPUnits) {
  const int64_t H = 6, P = 4, I = 3, T = 5, N = 3;
  Case c;
  c.cell = CellKind::lstm;
  c.input_size = I;
  c.hidden_size = H;
  c.steps = T;
  c.batch = N;
  c.variable_lengths = true;
  c.projection = true;  // proj_size = H - 1; set to P below
  Problem<float> p = make_problem<float>(c, 8);
  p.spec.proj_size = P;
  p.grad_output.clear();
  ModelSpec plain_spec = p.spec;
  plain_spec.proj_size = 0;
  Weights proj = Weights::uniform(p.spec, 9);
  std::fill(proj.get("weight_hr_l0").begin(), proj.get("weight_hr_l0").end(), 0.0f);
  for (int64_t j = 0; j < P; ++j) proj.get("weight_hr_l0")[j * H + j] = 1.0f;
  Weights plain(plain_spec);
  for (const char* name : {"weight_ih_l0", "bias_ih_l0", "bias_hh_l0"}) {
    std::copy(proj.get(name).begin(), proj.get(name).end(), plain.get(name).begin());
  }
  for (int64_t r = 0; r < 4 * H; ++r) {
    for (int64_t k = 0; k < P; ++k) plain.get("weight_hh_l0")[r * H + k] = proj.get("weight_hh_l0")[r * P + k];
  }
  ForwardOut<float> out_proj, out_plain;
  Rnn(proj).forward(forward_args(p, out_proj));
  Problem<float> pp = p;
  pp.spec = plain_spec;
  Rnn(plain).forward(forward_args(pp, out_plain));
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t j = 0; j < P; ++j) {
        EXPECT_NEAR(out_proj.output[(t * N + n) * P + j], out_plain.output[(t * N + n) * H + j], 1e-6f);
      }
    }
  }
  EXPECT_EQ(out_proj.cn, out_plain.cn);
}

TEST(Variants, ZeroPeepholesAreThePlainLstm) {
  Case c;
  c.cell = CellKind::lstm;
  c.hidden_size = 5;
  c.layers = 2;
  c.with_h0 = true;
  c.variable_lengths = true;
  const Problem<float> p = make_problem<float>(c, 3);
  const Weights plain = Weights::uniform(p.spec, 4);
  ForwardOut<float> expected;
  Rnn(plain).forward(forward_args(p, expected));

  ModelSpec peep_spec = p.spec;
  peep_spec.peepholes = true;
  Weights peep(peep_spec);  // weight_ph stays zero
  for (const ParamInfo& info : plain.params()) {
    std::copy(plain.get(info.name).begin(), plain.get(info.name).end(), peep.get(info.name).begin());
  }
  Problem<float> pp = p;
  pp.spec = peep_spec;
  ForwardOut<float> with_peepholes;
  Rnn(peep).forward(forward_args(pp, with_peepholes));
  // Same math up to the order of the additions: close, not bitwise.
  for (size_t i = 0; i < expected.output.size(); ++i) {
    EXPECT_NEAR(with_peepholes.output[i], expected.output[i], 1e-6f) << i;
  }
}

TEST(Variants, WeightsOfAnotherVariantAreRefusedNamingIt) {
  ModelSpec peep{CellKind::lstm, 3, 4, 1, false};
  peep.peepholes = true;
  ModelSpec plain{CellKind::lstm, 3, 4, 1, false};
  const auto named = Weights::uniform(peep, 1).to_tensors();
  try {
    Weights::from_tensors(plain, named);
    FAIL() << "weights with weight_ph_l0 were accepted for a plain LSTM";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("weight_ph is a parameter of lstm with peepholes"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace rnnwave::testing
