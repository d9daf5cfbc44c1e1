"""Shared helpers of the Python tests (pytest): tolerances, model builders, problems.

The oracle is torch.nn in float64, run on the same float32 values as rnnwave, so a
comparison measures rnnwave's float32 rounding alone (as tests/model/torch_agreement_test.cpp
does for the C++ API, with the same tolerance).
"""
import os

import numpy as np
import pytest

import rnnwave

# The C++ agreement tests' bound: max |ours - torch| / max |torch| over a tensor.
TOLERANCE = 1e-5

# Few threads: the suite shares the machine with other test processes.
rnnwave.set_num_threads(2)


def relative_error(ours, reference):
    """max |ours - reference| / max |reference| (reference all zero: the absolute error)."""
    ours = np.asarray(_plain(ours), dtype=np.float64)
    reference = np.asarray(_plain(reference), dtype=np.float64)
    assert ours.shape == reference.shape, (ours.shape, reference.shape)
    scale = np.abs(reference).max() if reference.size else 0.0
    error = np.abs(ours - reference).max() if reference.size else 0.0
    return error / scale if scale > 0 else error


def assert_close(ours, reference, what, tolerance=TOLERANCE):
    error = relative_error(ours, reference)
    assert error <= tolerance, f"{what}: relative error {error:.3g} > {tolerance:g}"


def _plain(value):
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)


def pytest_configure(config):
    # A stray OMP_WAIT_POLICY=active would make the test processes spin against each other.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
