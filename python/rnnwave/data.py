"""The speech features and the spoken-digit data set of `rnnwave train --task digits`, for
Python programs that want to train on exactly the same inputs.

    splits = rnnwave.data.load_fsdd()       # the Free Spoken Digit Dataset, normalised
    x = splits["train"][0]["features"]      # float32 [T, 40] log-mel features
"""
import os

from rnnwave._core import FeatureOptions, features_of_samples, features_of_wav
from rnnwave._core import load_fsdd as _load_fsdd

__all__ = ["FeatureOptions", "features_of_samples", "features_of_wav", "load_fsdd",
           "fsdd_dir"]


def fsdd_dir():
    """Where the data set is looked for: $RNNWAVE_DATA_DIR/fsdd, else the data folder
    beside the source tree the package was built from."""
    from rnnwave import default_data_dir
    return os.path.join(default_data_dir(), "fsdd")


def load_fsdd(dir=None, features=None, normalize=True, threads=0):
    """The Free Spoken Digit Dataset in `dir` (the folder holding recordings/; default
    fsdd_dir()), split as `rnnwave train` splits it (takes 0-4 of every speaker and digit
    are the test set). Returns {"train": [...], "test": [...], "mean", "stddev"}: each item
    a dict with "features" (float32 [T, F], normalised with the training set's mean and
    stddev if `normalize`), "label" (0-9), "speaker", "take", "path". `features`: a
    FeatureOptions (default: 40 log-mel bands, 25 ms frames every 10 ms). ValueError naming
    the file or directory for anything missing, unreadable or misnamed."""
    return _load_fsdd(fsdd_dir() if dir is None else str(dir),
                      FeatureOptions() if features is None else features, normalize, threads)
