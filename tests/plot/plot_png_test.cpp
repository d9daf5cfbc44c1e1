// PNG line charts (rnnwave/plot.h): a valid PNG of the asked size, a panel without data
// drawn empty, and bad sizes or paths refused with one Error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "io/expect_error.h"
#include "io/io_test_support.h"
#include "rnnwave/plot.h"

namespace rnnwave::testing {
namespace {

uint32_t be32(const std::vector<std::byte>& png, size_t at) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = value << 8 | static_cast<uint32_t>(png[at + i]);
  return value;
}

std::vector<PlotPanel> two_panels() {
  return {{"loss", "cross-entropy", {{"train", {1.0, 0.5, 0.25}, 0x1f77b4}, {"valid", {1.1, NAN, 0.3}, 0xff7f0e}}},
          {"accuracy", "%", {{"valid", {NAN, NAN}, 0x2ca02c}}}};  // no data: drawn empty
}

TEST(PlotPng, RendersAPngOfTheAskedSize) {
  const std::vector<std::byte> png = render_png(two_panels(), "epoch", 640, 300);
  ASSERT_GT(png.size(), 33u);
  const unsigned char magic[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(static_cast<unsigned char>(png[i]), magic[i]) << i;
  EXPECT_EQ(be32(png, 16), 640u);
  EXPECT_EQ(be32(png, 20), 300u);
}

TEST(PlotPng, RefusesTooSmallAnImageAndAnUnwritablePath) {
  EXPECT_ERROR_CONTAINING(render_png(two_panels(), "epoch", 300, 300), "300 x 300", "2 panel(s)");
  TempDir dir;
  const std::string path = dir.file("missing/curves.png");
  EXPECT_ERROR_CONTAINING(write_png(path, two_panels(), "epoch", 640, 300), path);
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace rnnwave::testing
