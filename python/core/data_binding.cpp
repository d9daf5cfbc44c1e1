// The speech features and the spoken-digit data set (rnnwave/data_audio.h, data_fsdd.h), so
// that Python programs train on exactly the features `rnnwave train --task digits` uses.
#include <pybind11/stl.h>

#include <string>

#include "core/arrays.h"
#include "core/bindings.h"
#include "rnnwave/data_audio.h"
#include "rnnwave/data_fsdd.h"
#include "rnnwave/train/trainer.h"

namespace rnnwave::python {
namespace {

py::array features_array(Tensor&& features) {
  const std::vector<int64_t> shape = features.shape();
  return adopt<float>(std::move(features.vector()), shape);
}

py::list utterance_list(std::vector<Utterance>& utterances) {
  py::list out;
  for (Utterance& u : utterances) {
    py::dict item;
    item["features"] = features_array(std::move(u.features));
    item["label"] = u.label;
    item["speaker"] = u.speaker;
    item["take"] = u.take;
    item["path"] = u.path;
    out.append(item);
  }
  return out;
}

py::dict fsdd(const std::string& dir, const FeatureOptions& features, bool normalize, int threads) {
  FsddOptions options;
  options.features = features;
  options.normalize = normalize;
  options.threads = threads;
  FsddSplits splits;
  {
    py::gil_scoped_release release;
    splits = load_fsdd(dir, options);
  }
  py::dict out;
  out["train"] = utterance_list(splits.train);
  out["test"] = utterance_list(splits.test);
  const auto F = static_cast<int64_t>(splits.stats.mean.size());
  out["mean"] = adopt<float>(std::move(splits.stats.mean), {F});
  out["stddev"] = adopt<float>(std::move(splits.stats.stddev), {F});
  return out;
}

}  // namespace

void bind_data(py::module_& m) {
  py::class_<FeatureOptions>(m, "FeatureOptions",
                             "How a waveform becomes feature vectors (rnnwave/data_audio.h).")
      .def(py::init<>())
      .def_readwrite("sample_rate", &FeatureOptions::sample_rate)
      .def_readwrite("frame_length", &FeatureOptions::frame_length)
      .def_readwrite("hop_length", &FeatureOptions::hop_length)
      .def_readwrite("fft_size", &FeatureOptions::fft_size)
      .def_readwrite("mel_bands", &FeatureOptions::mel_bands)
      .def_readwrite("low_hz", &FeatureOptions::low_hz)
      .def_readwrite("high_hz", &FeatureOptions::high_hz)
      .def_readwrite("preemphasis", &FeatureOptions::preemphasis)
      .def_readwrite("mfcc", &FeatureOptions::mfcc)
      .def_readwrite("mfcc_count", &FeatureOptions::mfcc_count)
      .def_property_readonly("feature_size", &FeatureOptions::feature_size)
      .def("validate", &FeatureOptions::validate);

  m.def(
      "features_of_samples",
      [](py::handle samples, const FeatureOptions& options) {
        const std::span<const float> s = read_span<float>(samples, "samples", {{-1, "S"}});
        Tensor features;
        {
          py::gil_scoped_release release;
          features = features_of_samples(s, options);
        }
        return features_array(std::move(features));
      },
      py::arg("samples"), py::arg("options"),
      "Features [T, F] (float32) of mono samples (float32 [S], in [-1, 1)).");
  m.def(
      "features_of_wav",
      [](const std::string& path, const FeatureOptions& options) {
        Tensor features;
        {
          py::gil_scoped_release release;
          features = features_of_wav(path, options);
        }
        return features_array(std::move(features));
      },
      py::arg("path"), py::arg("options"), "Features [T, F] (float32) of a mono WAV file.");
  m.def("load_fsdd", &fsdd, py::arg("dir"), py::arg("features"), py::arg("normalize") = true,
        py::arg("threads") = 0,
        "The Free Spoken Digit Dataset in `dir` (holding recordings/), split as rnnwave train "
        "does: {'train': [...], 'test': [...], 'mean', 'stddev'}, each item a dict of "
        "features [T, F], label, speaker, take, path.");
  m.def("default_data_dir", &default_data_dir,
        "$RNNWAVE_DATA_DIR if set, else the data folder beside the source tree the module was "
        "built from.");
}

}  // namespace rnnwave::python
