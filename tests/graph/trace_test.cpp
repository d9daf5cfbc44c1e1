// A trace says which way each task's direction walks, whatever its index.
#include <gtest/gtest.h>

#include "rnnwave/trace.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

TEST(Trace, EventsSayWhichWayTheirDirectionWalks) {
  for (Schedule schedule : kAllSchedules) {
    for (int directions : {0, 1, 2}) {  // forward, both, reverse only
      Case c;
      c.cell = CellKind::gru;
      c.bidirectional = directions == 1;
      c.reverse = directions == 2;
      const Problem<float> p = make_problem<float>(c, 1);
      Trace trace;
      ExecOptions options{schedule, 2};
      options.trace = &trace;
      run_backward(Rnn(Weights::uniform(p.spec, 2), options), p);
      int directed = 0;
      for (const TraceEvent& e : trace.events()) {
        if (e.direction < 0) continue;
        ++directed;
        EXPECT_EQ(e.reverse, e.direction == 1 || directions == 2)
            << to_string(schedule) << " " << e.kind << " direction " << e.direction;
      }
      EXPECT_GT(directed, 0) << to_string(schedule);
    }
  }
}

}  // namespace
}  // namespace rnnwave::testing
