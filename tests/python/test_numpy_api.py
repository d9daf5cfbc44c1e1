"""The numpy API (rnnwave.LSTM/GRU/RNN) against torch.nn in float64: forward and every
gradient backward returns, for variable lengths, batch_first, unbatched input, given
states, float64 models and bias=False; and torch stays unimported."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnwave
from conftest import assert_close

CLASSES = {
    "lstm": (rnnwave.LSTM, torch.nn.LSTM, {}),
    "gru": (rnnwave.GRU, torch.nn.GRU, {}),
    "rnn_tanh": (rnnwave.RNN, torch.nn.RNN, {"nonlinearity": "tanh"}),
}


def reference_run(module, x, lengths, hx, grads_out):
    """torch.nn in float64, variable lengths as the CLI: padded outputs, zero past the ends."""
    x = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    states = [torch.tensor(h, dtype=torch.float64, requires_grad=True) for h in hx]
    T = x.shape[0]
    packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
    state = None if not states else (tuple(states) if len(states) == 2 else states[0])
    y, final = module(packed, state)
    y, _ = pad_packed_sequence(y, total_length=T)
    finals = list(final) if isinstance(final, tuple) else [final]
    loss = (y * torch.tensor(grads_out[0])).sum()
    for f, g in zip(finals, grads_out[1:]):
        loss = loss + (f * torch.tensor(g)).sum()
    loss.backward()
    grads = {"input": x.grad}
    if states:
        grads.update(zip(["h0", "c0"], [s.grad for s in states]))
    grads.update((n, p.grad) for n, p in module.named_parameters())
    return [y] + finals, grads


@pytest.mark.parametrize("with_hx", [True, False], ids=["hx", "no_hx"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell", list(CLASSES))
def test_forward_and_backward_match_torch(cell, bidirectional, with_hx):
    rng = np.random.default_rng(len(cell) * 10 + bidirectional * 2 + with_hx)
    ours_class, torch_class, extra = CLASSES[cell]
    model = ours_class(3, 5, num_layers=2, bidirectional=bidirectional, seed=4, **extra)
    reference = torch_class(3, 5, num_layers=2, bidirectional=bidirectional, **extra).double()
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    D, T, N = 2 if bidirectional else 1, 6, 4
    x = rng.uniform(-1, 1, (T, N, 3)).astype(np.float32)
    lengths = np.array([6, 1, 4, 3])
    n_states = 2 if cell == "lstm" else 1
    hx = [rng.uniform(-1, 1, (2 * D, N, 5)).astype(np.float32) for _ in range(n_states)] \
        if with_hx else []
    grads_out = [rng.uniform(-1, 1, (T, N, D * 5))] + [
        rng.uniform(-1, 1, (2 * D, N, 5)) for _ in range(n_states)]
    state = None if not hx else (tuple(hx) if n_states == 2 else hx[0])
    y, final = model.forward(x, state, lengths, train=True)
    finals = list(final) if isinstance(final, tuple) else [final]
    grads = model.backward(*[g.astype(np.float32) for g in grads_out])
    # Without states, the gradients returned for h0/c0 are those at zero (as the command
    # line tool's): the reference runs from explicit zero states.
    zeros = [np.zeros((2 * D, N, 5), np.float32) for _ in range(n_states)]
    expected, expected_grads = reference_run(reference, x, lengths, hx or zeros, grads_out)
    for name, got, want in zip(["output", "h_n", "c_n"], [y] + finals, expected):
        assert got.dtype == np.float32
        assert_close(got, want, name)
    assert np.all(y[4:, 2] == 0) and np.all(y[1:, 1] == 0), "outputs past an end are zero"
    assert set(grads) == set(expected_grads)
    for name, want in expected_grads.items():
        assert_close(grads[name], want, f"gradient of {name}")


def test_inference_equals_training_forward_and_shapes():
    model = rnnwave.GRU(4, 3, num_layers=3, bidirectional=True, batch_first=True, seed=1)
    x = np.random.default_rng(2).uniform(-1, 1, (5, 7, 4)).astype(np.float32)  # [N, T, I]
    y, h = model(x)
    y_train, h_train = model(x, train=True)
    assert y.shape == (5, 7, 6) and h.shape == (6, 5, 3)
    assert np.array_equal(y, y_train) and np.array_equal(h, h_train)
    grads = model.backward(np.ones_like(y))
    assert grads["input"].shape == (5, 7, 4) and grads["h0"].shape == (6, 5, 3)
    reference = torch.nn.GRU(4, 3, num_layers=3, bidirectional=True, batch_first=True).double()
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    reference(xt)[0].sum().backward()
    assert_close(y, reference(xt)[0], "batch_first output")
    assert_close(grads["input"], xt.grad, "batch_first input gradient")


def test_unbatched_input_is_a_batch_of_one():
    model = rnnwave.LSTM(2, 3, seed=3)
    x = np.random.default_rng(4).uniform(-1, 1, (5, 2)).astype(np.float32)
    h0 = np.full((1, 3), 0.5, np.float32)
    y, (h, c) = model(x, (h0, h0))
    y3, (h3, c3) = model(x[:, None], (h0[:, None], h0[:, None]))
    assert y.shape == (5, 3) and h.shape == (1, 3)
    assert np.array_equal(y, y3[:, 0]) and np.array_equal(c, c3[:, 0])


def test_float64_model_matches_torch_closely():
    model = rnnwave.LSTM(3, 4, num_layers=2, dtype="float64", seed=5)
    reference = torch.nn.LSTM(3, 4, num_layers=2).double()
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    x = np.random.default_rng(6).uniform(-1, 1, (6, 2, 3))
    y, _ = model(x)
    assert y.dtype == np.float64
    assert_close(y, reference(torch.from_numpy(x))[0], "float64 output", tolerance=1e-12)


def test_threads_do_not_change_results():
    x = np.random.default_rng(7).uniform(-1, 1, (30, 8, 16)).astype(np.float32)
    results = []
    for threads in (1, 2):
        model = rnnwave.LSTM(16, 32, num_layers=2, bidirectional=True, threads=threads, seed=8)
        y, _ = model(x, train=True)
        grads = model.backward(np.ones_like(y))
        results.append((y, grads))
    assert np.array_equal(results[0][0], results[1][0])
    for name in results[0][1]:
        assert np.array_equal(results[0][1][name], results[1][1][name]), name


def test_one_weight_copy_gives_the_same_bits():
    x = np.random.default_rng(9).uniform(-1, 1, (12, 3, 16)).astype(np.float32)
    results = []
    for single in (False, True):
        model = rnnwave.GRU(16, 24, num_layers=2, bidirectional=True, seed=4,
                            single_weight_copy=single)
        assert model.single_weight_copy == single
        calls_engine = model._engine
        calls = []
        for _ in range(2):  # forward, backward, forward again over the flipped weights
            y, _ = model(x, train=True)
            calls.append((y, model.backward(np.ones_like(y))))
            assert calls_engine.model.single_weight_copy == single  # reached the engine
        calls.append((model(x)[0], {}))
        results.append(calls)
    for (y0, g0), (y1, g1) in zip(*results):
        assert np.array_equal(y0, y1)
        assert g0.keys() == g1.keys()
        for name in g0:
            assert np.array_equal(g0[name], g1[name]), name
    assert "single_weight_copy=True" in repr(model)


def test_the_plan_of_an_inference_pass_and_of_a_training_pass():
    """A bidirectional inference pass of one sequence at two threads takes its directions in
    turn, each step in two parts, where their recurrent weights exceed 16 MiB (18 MiB here);
    a training pass keeps a direction per thread."""
    engine = rnnwave.LSTM(768, 768, bidirectional=True, seed=1)._engine.model
    engine.set_options(2, "wavefront")  # what a call with threads=2 sets before it runs
    assert engine.plan(100, 1)["hidden_splits"] == 2
    assert engine.plan(100, 1, training=True)["hidden_splits"] == 1
    assert engine.plan(100, 1, training=False) == engine.plan(100, 1)


def test_import_rnnwave_does_not_import_torch():
    code = "import sys, rnnwave; m = rnnwave.GRU(2, 3); m.forward(__import__('numpy')." \
           "zeros((2, 1, 2), 'float32')); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
