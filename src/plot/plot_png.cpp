#include "rnnwave/plot.h"

#include <gd.h>
#include <gdfontmb.h>
#include <gdfonts.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <span>

#include "rnnwave/error.h"
#include "rnnwave/npy.h"

namespace rnnwave {
namespace {

struct ImageDeleter {
  void operator()(gdImagePtr image) const { gdImageDestroy(image); }
};
using Image = std::unique_ptr<gdImage, ImageDeleter>;

struct PngDeleter {
  void operator()(void* bytes) const { gdFree(bytes); }
};

constexpr int kLeft = 64, kRight = 16, kTop = 28, kBottom = 44;  // margins of a panel's axes

int color(uint32_t rgb) {
  return gdTrueColor(static_cast<int>((rgb >> 16) & 0xff), static_cast<int>((rgb >> 8) & 0xff),
                     static_cast<int>(rgb & 0xff));
}

/// 1, 2 or 5 times a power of ten, close to `raw` (> 0).
double nice_step(double raw) {
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / power;
  const double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/// A tick label with as many decimals as the step needs.
std::string tick_label(double value, double step) {
  const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 8);
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value == 0 ? 0.0 : value);
  return text;
}

void draw_text(gdImagePtr image, gdFontPtr font, int x, int y, const std::string& text, int ink) {
  std::vector<unsigned char> chars(text.begin(), text.end());
  chars.push_back(0);
  gdImageString(image, font, x, y, chars.data(), ink);
}

void draw_text_up(gdImagePtr image, gdFontPtr font, int x, int y, const std::string& text,
                  int ink) {
  std::vector<unsigned char> chars(text.begin(), text.end());
  chars.push_back(0);
  gdImageStringUp(image, font, x, y, chars.data(), ink);
}

int text_width(gdFontPtr font, const std::string& text) {
  return font->w * static_cast<int>(text.size());
}

/// Draws one panel in the columns [left, left + width) of the image.
void draw_panel(gdImagePtr image, const PlotPanel& panel, const std::string& x_label, int left,
                int width, int height) {
  const gdFontPtr small = gdFontGetSmall();
  const gdFontPtr bold = gdFontGetMediumBold();
  const int black = color(0x000000), grey = color(0x808080), light = color(0xe6e6e6);
  const int x0 = left + kLeft, x1 = left + width - kRight, y0 = kTop, y1 = height - kBottom;

  draw_text(image, bold, left + (width - text_width(bold, panel.title)) / 2, 6, panel.title,
            black);
  draw_text_up(image, small, left + 4,
               (y0 + y1) / 2 + text_width(small, panel.y_label) / 2, panel.y_label, black);
  draw_text(image, small, (x0 + x1 - text_width(small, x_label)) / 2, y1 + 24, x_label, black);

  size_t points = 0;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const PlotSeries& series : panel.series) {
    points = std::max(points, series.y.size());
    for (const double v : series.y) {
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
  }
  gdImageRectangle(image, x0, y0, x1, y1, black);
  if (!(lo <= hi)) {
    const std::string text = "no data";
    draw_text(image, small, (x0 + x1 - text_width(small, text)) / 2, (y0 + y1) / 2, text, grey);
    return;
  }
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) {  // one value: a band around it
    const double pad = std::abs(hi) > 0 ? std::abs(hi) * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  const double y_step = nice_step((hi - lo) / 5);
  const double y_lo = std::floor(lo / y_step) * y_step, y_hi = std::ceil(hi / y_step) * y_step;
  const double x_lo = 1, x_hi = std::max<double>(2, static_cast<double>(points));
  const double x_step = std::max(1.0, nice_step((x_hi - x_lo) / 8));
  auto px = [&](double x) {
    return x0 + static_cast<int>(std::lround((x - x_lo) / (x_hi - x_lo) * (x1 - x0)));
  };
  auto py = [&](double y) {
    return y1 - static_cast<int>(std::lround((y - y_lo) / (y_hi - y_lo) * (y1 - y0)));
  };

  for (int i = 0; y_lo + i * y_step <= y_hi + y_step * 1e-6; ++i) {
    const double y = y_lo + i * y_step;
    const int row = py(y);
    gdImageLine(image, x0 + 1, row, x1 - 1, row, light);
    gdImageLine(image, x0 - 4, row, x0, row, black);
    const std::string text = tick_label(y, y_step);
    draw_text(image, small, x0 - 6 - text_width(small, text), row - small->h / 2, text, black);
  }
  for (int i = 0; x_lo + i * x_step <= x_hi + 1e-9; ++i) {
    const double x = x_lo + i * x_step;
    const int column = px(x);
    gdImageLine(image, column, y1, column, y1 + 4, black);
    const std::string text = tick_label(x, 1);
    draw_text(image, small, column - text_width(small, text) / 2, y1 + 6, text, black);
  }
  gdImageRectangle(image, x0, y0, x1, y1, black);

  int legend_y = y0 + 6;
  for (const PlotSeries& series : panel.series) {
    const int ink = color(series.rgb);
    gdImageSetThickness(image, 2);
    for (size_t i = 0; i < series.y.size(); ++i) {
      const double y = series.y[i];
      if (!std::isfinite(y)) continue;
      const int cx = px(static_cast<double>(i + 1)), cy = py(y);
      if (i > 0 && std::isfinite(series.y[i - 1])) {
        gdImageLine(image, px(static_cast<double>(i)), py(series.y[i - 1]), cx, cy, ink);
      }
      gdImageFilledEllipse(image, cx, cy, 6, 6, ink);
    }
    const int text_x = x1 - 8 - text_width(small, series.label);
    gdImageLine(image, text_x - 26, legend_y + small->h / 2, text_x - 6, legend_y + small->h / 2,
                ink);
    gdImageSetThickness(image, 1);
    draw_text(image, small, text_x, legend_y, series.label, black);
    legend_y += small->h + 2;
  }
}

}  // namespace

std::vector<std::byte> render_png(const std::vector<PlotPanel>& panels,
                                  const std::string& x_label, int width, int height) {
  const int count = std::max<int>(1, static_cast<int>(panels.size()));
  if (width < 200 * count || height < 200) {
    throw Error("plot: " + std::to_string(width) + " x " + std::to_string(height) +
                " pixels is too small for " + std::to_string(count) + " panel(s)");
  }
  Image image(gdImageCreateTrueColor(width, height));
  if (!image) throw Error("plot: libgd could not create a " + std::to_string(width) + " x " +
                          std::to_string(height) + " image");
  gdImageFilledRectangle(image.get(), 0, 0, width - 1, height - 1, color(0xffffff));
  const int panel_width = width / count;
  for (size_t i = 0; i < panels.size(); ++i) {
    draw_panel(image.get(), panels[i], x_label, static_cast<int>(i) * panel_width, panel_width,
               height);
  }
  int size = 0;
  const std::unique_ptr<void, PngDeleter> png(gdImagePngPtr(image.get(), &size));
  if (!png || size <= 0) throw Error("plot: libgd could not encode the PNG");
  const auto* bytes = static_cast<const std::byte*>(png.get());
  return std::vector<std::byte>(bytes, bytes + size);
}

void write_png(const std::string& path, const std::vector<PlotPanel>& panels,
               const std::string& x_label, int width, int height) {
  const std::vector<std::byte> png = render_png(panels, x_label, width, height);
  write_file_atomic(path, png);
}

}  // namespace rnnwave
