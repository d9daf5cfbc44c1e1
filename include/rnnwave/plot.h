// rnnwave/plot.h — line charts as PNG images, drawn with libgd: the learning curves of a
// training run (rnnwave/run/run_dir.h writes them as curves.png).
//
// The library rnnwave_plot (rnnwave::rnnwave_plot) holds this and is the only one that links
// libgd; the Trainer (rnnwave_train) does not need it (docs/design.md, "The libraries").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rnnwave {

/// One line of a chart: y[i] is the value at x = i + 1 (the epoch). NaN values are gaps.
struct PlotSeries {
  std::string label;
  std::vector<double> y;
  uint32_t rgb = 0;  ///< 0xRRGGBB
};

/// One chart: a title, a y-axis label and its lines, over a shared x axis 1..max size.
struct PlotPanel {
  std::string title;
  std::string y_label;
  std::vector<PlotSeries> series;
};

/// The PNG encoding of the panels side by side, `width` x `height` pixels in all, with
/// axes, tick labels ("nice" steps), an x label and a legend per panel. A panel with no
/// finite value is drawn empty with "no data". Throws Error if width or height is below
/// 200 per panel or libgd fails.
std::vector<std::byte> render_png(const std::vector<PlotPanel>& panels,
                                  const std::string& x_label, int width, int height);

/// render_png written atomically to `path` (a temporary file renamed over it, so a failure
/// leaves the previous file or none); Error naming the path if it cannot be written.
void write_png(const std::string& path, const std::vector<PlotPanel>& panels,
               const std::string& x_label, int width, int height);

}  // namespace rnnwave
