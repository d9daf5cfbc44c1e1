"""precision="bf16" from Python: the numpy API, rnnwave.torch's modules and convert.

The oracle of the arithmetic is an LSTM layer written here in float64 that rounds what
docs/bf16.md says is rounded (the weights of both products, the input x_t and the previous
h_t) to bfloat16 (round to nearest even) and keeps everything else exact: rnnwave's bf16
pass differs from it by float32 accumulation only. The C++ tests cover every cell kind and
schedule; these check that Python's settings reach the engine, and its refusals."""
import numpy as np
import pytest
import torch

import rnnwave
import rnnwave.torch as rt
from conftest import assert_close, relative_error


def cpu_has_bf16():
    with open("/proc/cpuinfo") as f:
        return any(line.startswith("flags") and " avx512_bf16" in line for line in f)


needs_bf16 = pytest.mark.skipif(not cpu_has_bf16(), reason="the CPU has no AVX512-BF16")


def bf16(a):
    """float64 values rounded to bfloat16 (through torch's round-to-nearest-even)."""
    return torch.from_numpy(np.asarray(a, np.float32)).to(torch.bfloat16).double().numpy()


def emulated_lstm(p, x):
    """One LSTM layer, x [T, N, I] -> output [T, N, H], products of bf16-rounded operands."""
    w_ih, w_hh = bf16(p["weight_ih_l0"]), bf16(p["weight_hh_l0"])
    bias = p["bias_ih_l0"].astype(np.float64) + p["bias_hh_l0"]
    hidden = w_hh.shape[1]
    h = np.zeros((x.shape[1], hidden))
    c = np.zeros_like(h)
    out = []
    for x_t in x:
        i, f, g, o = np.split(bf16(x_t) @ w_ih.T + bf16(h) @ w_hh.T + bias, 4, axis=1)
        sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        out.append(h)
    return np.stack(out)


def inputs(steps=7, batch=3, size=24, seed=5):
    return np.random.default_rng(seed).standard_normal((steps, batch, size)).astype(np.float32)


@needs_bf16
def test_numpy_bf16_matches_the_emulation_and_differs_from_fp32():
    model = rnnwave.LSTM(24, 32, seed=3, precision="bf16")
    x = inputs()
    y, _ = model.forward(x)
    reference = emulated_lstm(model.state_dict(), x)
    assert_close(y, reference, "bf16 output against the emulation", tolerance=1e-4)
    fp32 = rnnwave.LSTM(24, 32, seed=3)
    # bf16 keeps 8 bits of mantissa: the outputs must move by about 2^-9, not by 1e-7.
    assert 1e-4 < relative_error(y, fp32.forward(x)[0]) < 3e-2


@needs_bf16
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_torch_bf16_equals_numpy_bf16_bit_for_bit(kind):
    torch.manual_seed(0)
    module = getattr(rt, kind)(24, 32, num_layers=2, bidirectional=True, precision="bf16")
    numpy_model = getattr(rnnwave, kind)(24, 32, num_layers=2, bidirectional=True,
                                         precision="bf16")
    numpy_model.load_state_dict(module.state_dict())
    x = inputs()
    with torch.no_grad():
        y = module(torch.from_numpy(x))[0].numpy()
    np.testing.assert_array_equal(y, numpy_model.forward(x)[0])
    assert module.precision == "bf16" and "precision='bf16'" in repr(numpy_model)


@needs_bf16
def test_convert_sets_bf16_and_threads_do_not_change_the_bits():
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.LSTM(24, 32, num_layers=3))
    x = torch.from_numpy(inputs())
    rt.convert(net, threads=1, precision="bf16")
    with torch.no_grad():
        one = net[0](x)[0]
        net[0].threads = 2
        two = net[0](x)[0]
    assert net[0].precision == "bf16"
    assert torch.equal(one, two)


def test_bf16_training_is_refused_naming_the_precision():
    model = rnnwave.GRU(8, 16, precision="bf16")
    with pytest.raises(ValueError, match="precision 'bf16' is for inference only"):
        model.forward(inputs(size=8), train=True)
    module = rt.LSTM(8, 16, num_layers=2, dropout=0.5, precision="bf16")
    x = torch.from_numpy(inputs(size=8))
    with pytest.raises(ValueError, match="torch.no_grad"):
        module(x)
    with torch.no_grad(), pytest.raises(ValueError, match=r"\.eval\(\)"):
        module(x)


def test_bad_precisions_are_refused():
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, got 'fp16'"):
        rnnwave.LSTM(8, 16, precision="fp16")
    with pytest.raises(ValueError, match="for float32 models, this one is float64"):
        rnnwave.RNN(8, 16, dtype="float64", precision="bf16")
    with pytest.raises(ValueError, match="precision must be one of"):
        rt.GRU(8, 16, precision="half")
    net = torch.nn.Sequential(torch.nn.GRU(8, 16)).double()
    with pytest.raises(ValueError, match="0: precision 'bf16' is for float32 parameters"):
        rt.convert(net, precision="bf16")
    assert type(net[0]) is torch.nn.GRU  # nothing changed
    module = rt.RNN(8, 16, precision="bf16").double()
    with torch.no_grad(), pytest.raises(ValueError, match="float32 parameters"):
        module(torch.from_numpy(inputs(size=8)).double())


@pytest.mark.skipif(cpu_has_bf16(), reason="the CPU has AVX512-BF16")
def test_bf16_without_the_instructions_is_an_error_not_an_emulation():
    model = rnnwave.LSTM(8, 16, precision="bf16")
    with pytest.raises(Exception, match="AVX512-BF16|avx512"):
        model.forward(inputs(size=8))
