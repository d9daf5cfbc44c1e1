"""Every refusal: one line naming the problem, of the documented type, nothing written.

ValueError: a bad value, or something rnnwave does not support (tensors off the CPU,
float16/bfloat16, non-contiguous parameters). RuntimeError: the mistakes torch
itself reports as RuntimeError (shapes, dtypes that differ), and misuse of state (backward
without its forward), and the system failing a valid write. MemoryError: a model or
array too large for this machine. TypeError: an argument of the wrong kind.
"""
import os

import numpy as np
import pytest
import torch
from torch import nn

import rnnwave
import rnnwave.torch as rt
from rnnwave import _core


def raises(kind, pattern, call, *args, **kwargs):
    with pytest.raises(kind, match=pattern) as info:
        call(*args, **kwargs)
    assert "\n" not in str(info.value), "messages are one line"
    return info.value


# ---- rnnwave.torch: what is not supported, and state shapes ------------------------


def test_projection_states_must_have_p_units():
    """With proj_size, h_0 has P units and c_0 has H: each checked against its own width."""
    lstm = rt.LSTM(4, 8, proj_size=2)
    x = torch.zeros(3, 1, 4)
    raises(RuntimeError, r"Expected hidden\[0\] size \(1, 1, 2\), got \[1, 1, 8\]",
           lstm, x, (torch.zeros(1, 1, 8), torch.zeros(1, 1, 8)))
    raises(RuntimeError, r"Expected hidden\[1\] size \(1, 1, 8\), got \[1, 1, 2\]",
           lstm, x, (torch.zeros(1, 1, 2), torch.zeros(1, 1, 2)))


def test_tensors_off_the_cpu_are_refused():
    lstm = rt.LSTM(3, 4)
    raises(ValueError, r"input: rnnwave runs on the CPU, got a tensor on meta",
           lstm, torch.empty(2, 1, 3, device="meta"))
    on_meta = rt.GRU(3, 4, device="meta")
    raises(ValueError, r"weight_ih_l0: rnnwave runs on the CPU, the parameter is on meta",
           on_meta, torch.zeros(2, 1, 3))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_refused(dtype):
    model = rt.LSTM(3, 4).to(dtype)
    raises(ValueError, rf"weight_ih_l0: dtype {dtype} is not supported", model,
           torch.zeros(2, 1, 3, dtype=dtype))
    raises(ValueError, rf"input: dtype {dtype} is not supported", rt.LSTM(3, 4),
           torch.zeros(2, 1, 3, dtype=dtype))


def test_non_contiguous_parameters_are_refused_naming_them():
    model = rt.RNN(4, 4)
    model.weight_hh_l0 = nn.Parameter(torch.randn(4, 4).t())
    raises(ValueError, r"weight_hh_l0: the parameter is not contiguous", model,
           torch.zeros(2, 1, 4))


def test_mixed_parameter_dtypes_are_refused():
    model = rt.GRU(2, 3)
    model.bias_hh_l0 = nn.Parameter(model.bias_hh_l0.detach().double())
    raises(ValueError, r"bias_hh_l0: dtype torch.float64 differs from weight_ih_l0's",
           model, torch.zeros(2, 1, 2))


# ---- rnnwave.torch: bad values and torch's own checks --------------------------------


def test_non_finite_input_is_a_value_error_with_its_position():
    x = torch.zeros(3, 2, 4)
    x[1, 0, 2] = float("nan")
    raises(ValueError, r"input contains NaN at \[1, 0, 2\]", rt.GRU(4, 5), x)
    h = torch.zeros(1, 2, 5)
    h[0, 1, 3] = float("inf")
    raises(ValueError, r"h0 contains inf at \[0, 1, 3\]", rt.GRU(4, 5), torch.zeros(3, 2, 4), h)


def test_dropout_of_one_is_refused_in_training():
    model = rt.LSTM(2, 3, num_layers=2, dropout=1.0)
    raises(ValueError, r"dropout must be in \[0, 1\), got 1", model, torch.zeros(2, 1, 2))
    model.eval()
    model(torch.zeros(2, 1, 2))  # evaluation ignores dropout, as torch does


def test_torch_style_shape_errors():
    lstm = rt.LSTM(3, 4, num_layers=2)
    raises(RuntimeError, r"input.size\(-1\) must be equal to input_size. Expected 3, got 5",
           lstm, torch.zeros(2, 1, 5))
    raises(RuntimeError, r"input must have 2 or 3 dimensions, got 4", lstm, torch.zeros(1, 2, 1, 3))
    h = torch.zeros(2, 1, 4)
    raises(RuntimeError, r"Expected hidden\[0\] size \(2, 1, 4\), got \[1, 1, 4\]", lstm,
           torch.zeros(2, 1, 3), (torch.zeros(1, 1, 4), h))
    raises(RuntimeError, r"Expected hidden\[1\] size \(2, 1, 4\), got \[2, 1, 3\]", lstm,
           torch.zeros(2, 1, 3), (h, torch.zeros(2, 1, 3)))
    raises(RuntimeError, r"hx and cx should also be 3-D", lstm, torch.zeros(2, 1, 3),
           (torch.zeros(2, 4), torch.zeros(2, 4)))
    raises(RuntimeError, r"an LSTM takes a tuple \(h_0, c_0\)", lstm, torch.zeros(2, 1, 3), h)
    raises(RuntimeError, r"Expected hidden size \(1, 2, 4\), got \[1, 1, 4\]", rt.GRU(3, 4),
           torch.zeros(2, 2, 3), torch.zeros(1, 1, 4))
    raises(RuntimeError, r"input: dtype torch.float64 differs from the parameters' "
           r"torch.float32", rt.GRU(3, 4), torch.zeros(2, 2, 3, dtype=torch.float64))
    raises(TypeError, r"input must be a Tensor or PackedSequence, got list", rt.GRU(3, 4),
           [[0.0, 0.0, 0.0]])


def test_double_backward_is_refused():
    model = rt.GRU(2, 3).double()
    x = torch.randn(3, 1, 2, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x)[0].pow(2).sum(), x, create_graph=True)
    raises(RuntimeError, r"trying to differentiate twice a function that was marked with "
           r"@once_differentiable", grad.sum().backward)


def test_changing_a_parameter_between_forward_and_backward_is_refused():
    model = rt.LSTM(2, 3)
    y, _ = model(torch.randn(3, 1, 2))
    with torch.no_grad():
        model.weight_hh_l0.mul_(2)
    raises(RuntimeError, r"modified by an inplace operation", y.sum().backward)


def test_threads_and_schedule_are_checked():
    raises(ValueError, r"threads must be in \[0, 1024\] \(0 = all cores\), got -1", rt.GRU, 2, 3,
           threads=-1)
    raises(TypeError, r"threads must be an integer, got float", rt.GRU, 2, 3, threads=1.5)
    raises(ValueError, r"schedule must be one of sequential, layerwise, wavefront, got 'fast'",
           rt.GRU, 2, 3, schedule="fast")
    raises(ValueError, r"threads must be in", rnnwave.set_num_threads, 5000)
    raises(TypeError, r"threads must be an integer", rnnwave.set_num_threads, True)
    model = rt.GRU(2, 3)
    model.threads = 2000  # set after construction: checked by the engine at the next pass
    raises(ValueError, r"threads must be in \[0, 1024\]", model, torch.zeros(1, 1, 2))


# ---- the numpy API -------------------------------------------------------------------


def test_numpy_input_dtypes():
    model = rnnwave.GRU(2, 3)
    raises(ValueError, r"input: dtype int64 is not supported \(float32 or float64\)", model,
           np.zeros((2, 1, 2), np.int64))
    raises(ValueError, r"input: dtype float16 is not supported", model,
           np.zeros((2, 1, 2), np.float16))
    big = np.zeros((2, 1, 2))
    big[1, 0, 1] = 1e300
    raises(ValueError, r"input: 1e\+300 at \[1, 0, 1\] is outside the range of float32", model, big)
    raises(ValueError, r"input: expected \[T, N, I\] \(or \[T, I\] for one sequence\), got 1 "
           r"dimensions", model, np.zeros(2, np.float32))
    raises(ValueError, r"input: expected shape \[T, N, I\] = \[T, N, 2\], got \[2, 1, 5\]",
           model, np.zeros((2, 1, 5), np.float32))


def test_numpy_weights_are_checked_naming_the_key():
    model = rnnwave.LSTM(2, 3)
    good = model.state_dict()
    missing = dict(good)
    del missing["bias_hh_l0"]
    raises(ValueError, r"missing weight 'bias_hh_l0' \(expected shape \[12\]\)",
           model.load_state_dict, missing)
    raises(ValueError, r"unexpected weight", model.load_state_dict,
           dict(good, weight_ih_l1=np.zeros((12, 3), np.float32)))
    raises(ValueError, r"weight_hh_l0: expected shape \[12, 3\], got \[3, 12\]",
           model.load_state_dict, dict(good, weight_hh_l0=np.zeros((3, 12), np.float32)))
    nan = dict(good, bias_ih_l0=np.full(12, np.nan, np.float32))
    raises(ValueError, r"bias_ih_l0.*NaN", model.load_state_dict, nan)
    raises(ValueError, r"unexpected weight 'bias_ih_l0': the model has bias=False",
           rnnwave.LSTM(2, 3, bias=False).load_state_dict, good)
    raises(TypeError, r"state_dict keys must be str", model.load_state_dict, {1: 2})
    for name, value in good.items():  # nothing was changed by the refused loads
        assert np.array_equal(model.state_dict()[name], value)


def test_numpy_files(tmp_path):
    model = rnnwave.GRU(2, 3)
    raises(FileNotFoundError, r"", model.load, tmp_path / "missing.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    raises(ValueError, r"corrupt.npz", model.load, corrupt)


def test_numpy_lengths_states_and_backward():
    model = rnnwave.LSTM(2, 3)
    x = np.zeros((4, 2, 2), np.float32)
    raises(ValueError, r"lengths\[1\] = 9 is outside \[1, T\] with T = 4", model, x,
           lengths=[4, 9])
    raises(ValueError, r"lengths: expected integers, got dtype float64", model, x,
           lengths=[4.0, 2.0])
    raises(ValueError, r"hx: an LSTM takes \(h_0, c_0\)", model, x, hx=np.zeros((1, 2, 3)))
    raises(ValueError, r"h0: expected 3 dimensions for batched input, got 2", model, x,
           hx=(np.zeros((1, 3)), np.zeros((1, 3))))
    raises(RuntimeError, r"backward needs a forward\(\.\.\., train=True\) first",
           model.backward, np.zeros((4, 2, 3), np.float32))
    model(x, train=True)
    model.backward(np.ones((4, 2, 3), np.float32))
    raises(RuntimeError, r"each training forward allows one backward", model.backward,
           np.ones((4, 2, 3), np.float32))
    gru = rnnwave.GRU(2, 3)
    gru(x, train=True)
    raises(ValueError, r"grad_cn given, but a gru has no cell state", gru.backward,
           np.ones((4, 2, 3)), grad_cn=np.ones((1, 2, 3)))
    raises(ValueError, r"grad_output: expected shape \[T, N, D\*H\] = \[4, 2, 3\], got \[3, 1, 3\]",
           gru.backward, np.ones((3, 1, 3)))


def test_numpy_constructor_arguments():
    raises(ValueError, r"hidden size must be in \[1, ", rnnwave.LSTM, 2, 0)
    raises(ValueError, r"dtype must be float32 or float64, got float16", rnnwave.LSTM, 2, 3,
           dtype="float16")
    raises(ValueError, r"nonlinearity must be 'tanh' or 'relu', got 'sigmoid'", rnnwave.RNN, 2,
           3, nonlinearity="sigmoid")
    raises(ValueError, r"dropout must be in \[0, 1\), got 1", rnnwave.GRU, 2, 3, dropout=1)


# ---- the C++ module: zero copy, or a refusal -----------------------------------------


def small_model():
    spec = _core.ModelSpec(cell="gru", input_size=2, hidden_size=3, layers=1)
    return _core.Rnn32(_core.Weights32.uniform(spec, 1), 1, "sequential")


def test_outputs_must_be_writable_c_contiguous_arrays_of_the_right_dtype():
    model = small_model()
    x = np.zeros((4, 2, 2), np.float32)
    wide = np.zeros((4, 2, 6), np.float32)
    raises(ValueError, r"output: expected a C-contiguous array", model.forward, x, wide[:, :, ::2])
    frozen = np.zeros((4, 2, 3), np.float32)
    frozen.flags.writeable = False
    raises(ValueError, r"output: the array is read-only", model.forward, x, frozen)
    raises(ValueError, r"output: expected dtype float32, got float64 \(no conversion is made\)",
           model.forward, x, np.zeros((4, 2, 3)))
    raises(TypeError, r"input: expected a numpy array of float32, got list", model.forward,
           [[[0.0, 0.0]]], np.zeros((1, 1, 3), np.float32))
    raises(ValueError, r"h0: expected shape \[L\*D, N, H\] = \[1, 2, 3\], got \[1, 3, 2\]",
           model.forward, x, np.zeros((4, 2, 3), np.float32), None, np.zeros((1, 3, 2), np.float32))
    raises(ValueError, r"input: expected a C-contiguous array", model.forward,
           np.zeros((2, 4, 2), np.float32).transpose(1, 0, 2), np.zeros((4, 2, 3), np.float32))


def test_workspaces_hold_one_forward_of_one_model():
    model, other = small_model(), small_model()
    workspace = _core.Workspace32()
    dy = np.ones((4, 2, 3), np.float32)
    raises(RuntimeError, r"backward needs a workspace holding a training forward of this model",
           model.backward, workspace, dy)
    model.forward_train(workspace, np.zeros((4, 2, 2), np.float32), np.zeros((4, 2, 3), np.float32))
    raises(RuntimeError, r"of this model", other.backward, workspace, dy)
    model.backward(workspace, dy)
    raises(RuntimeError, r"not yet used by a backward", model.backward, workspace, dy)


def test_model_spec_fields():
    raises(TypeError, r"ModelSpec: unknown field 'hidden'", _core.ModelSpec, hidden=3)
    raises(ValueError, r"unknown cell kind 'lstm2' \(valid: rnn_tanh, rnn_relu, lstm, gru, gru_rb\)",
           _core.ModelSpec, cell="lstm2")


# ---- whose problem it is: a bad value, the machine's memory, the system --------------


def test_a_failed_write_is_a_runtime_error_a_bad_path_a_value_error(tmp_path):
    """rnnwave/error.h: the disk refusing a valid write is not the caller's bad value."""
    model = rnnwave.GRU(2, 3)
    raises(ValueError, r"cannot write '.*w\.npz'.*No such file or directory", model.save,
           tmp_path / "no" / "such" / "w.npz")
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    raises(RuntimeError, r"cannot write '/dev/full'.*No space left on device", model.save,
           "/dev/full")


def test_a_model_too_large_for_memory_is_a_memory_error():
    """Refused before allocating, with the type a failed allocation would have."""
    error = raises(MemoryError, r"model .* needs .* but only .* of memory is available",
                   rnnwave.LSTM, 2, 1 << 20)
    assert not isinstance(error, ValueError)
