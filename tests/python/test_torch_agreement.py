"""rnnwave.torch.LSTM/GRU/RNN against torch.nn: outputs and every gradient.

Every cell kind x 1-3 layers x one or two directions x the input forms torch accepts
(padded [T, N, I], batch_first [N, T, I], unbatched [T, I], a PackedSequence of unsorted
lengths) x hx given or missing, with sizes drawn at random per case; the same for the LSTM
with a projection (proj_size, weight_hr) at 1-2 layers. The reference is the
torch.nn module of the same weights in float64 on the same float32 values, so the bound is
that of the C++ agreement tests (conftest.TOLERANCE).
"""
import zlib

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pack_sequence

import rnnwave.torch as rt
from conftest import assert_close

CELLS = {
    "lstm": (torch.nn.LSTM, rt.LSTM, {}),
    "gru": (torch.nn.GRU, rt.GRU, {}),
    "rnn_tanh": (torch.nn.RNN, rt.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (torch.nn.RNN, rt.RNN, {"nonlinearity": "relu"}),
}
FORMS = ["padded", "batch_first", "unbatched", "packed"]


def make_pair(cell, **kwargs):
    """(rnnwave module, torch.nn module in float64 with the same weights)."""
    torch_class, our_class, extra = CELLS[cell]
    ours = our_class(**kwargs, **extra)
    reference = torch_class(**kwargs, **extra)
    reference.load_state_dict(ours.state_dict())
    return ours, reference.double()


def leaf(array, dtype=torch.float32):
    return torch.tensor(array, dtype=dtype, requires_grad=True)


def run(module, x, hx, form, lengths, dtype, grads_out):
    """Forward and backward of loss = sum(y*dy) + sum(h_n*dh_n) [+ sum(c_n*dc_n)]; returns
    the outputs and the gradients of the leaves x, hx and every parameter."""
    x = leaf(x, dtype)
    hx_leaves = [leaf(h, dtype) for h in hx] if hx is not None else []
    if form == "packed":
        model_input = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
    else:
        model_input = x
    state = None
    if hx_leaves:
        state = tuple(hx_leaves) if len(hx_leaves) == 2 else hx_leaves[0]
    y, final = module(model_input, state)
    finals = list(final) if isinstance(final, tuple) else [final]
    if form == "packed":
        assert isinstance(y, PackedSequence)
        y = y.data
    loss = (y * torch.tensor(grads_out[0], dtype=dtype)).sum()
    for f, g in zip(finals, grads_out[1:]):
        loss = loss + (f * torch.tensor(g, dtype=dtype)).sum()
    loss.backward()
    grads = [x.grad] + [h.grad for h in hx_leaves] + [p.grad for p in module.parameters()]
    return [y] + finals, grads


@pytest.mark.parametrize("with_hx", [True, False], ids=["hx", "no_hx"])
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("cell", list(CELLS))
def test_matches_torch(cell, layers, bidirectional, form, with_hx):
    check_case(cell, layers, bidirectional, form, with_hx, projection=False)


@pytest.mark.parametrize("with_hx", [True, False], ids=["hx", "no_hx"])
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("layers", [1, 2])
def test_projection_matches_torch(layers, bidirectional, form, with_hx):
    """torch.nn.LSTM(proj_size=P): outputs and h have P units, c has H; weight_hr_l{k}
    [P, H] follows each layer's four parameters and gets its gradient."""
    ours, _ = check_case("lstm", layers, bidirectional, form, with_hx, projection=True)
    names = [n for n, _ in ours.named_parameters()]
    assert names[4] == "weight_hr_l0" and sum(n.startswith("weight_hr") for n in names) == \
        layers * (2 if bidirectional else 1)


def check_case(cell, layers, bidirectional, form, with_hx, projection):
    """One case of random sizes: outputs and every gradient against torch.nn."""
    seed = zlib.crc32(f"{cell}-{layers}-{bidirectional}-{form}-{with_hx}-{projection}".encode())
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    I, H, T, N = (int(v) for v in (rng.integers(1, 9), rng.integers(1, 12),
                                   rng.integers(1, 8), rng.integers(1, 6)))
    extra = {}
    P = C = H  # the widths of h and c
    if projection:
        H = max(H, 2)
        P, C = int(rng.integers(1, H)), H
        extra["proj_size"] = P
    D = 2 if bidirectional else 1
    ours, reference = make_pair(cell, input_size=I, hidden_size=H, num_layers=layers,
                                bidirectional=bidirectional, batch_first=form == "batch_first",
                                **extra)
    lengths = None
    if form == "unbatched":
        x = rng.uniform(-1, 1, (T, I))
        state_shapes, out_shape = [(layers * D, P), (layers * D, C)], (T, D * P)
    elif form == "batch_first":
        x = rng.uniform(-1, 1, (N, T, I))
        state_shapes, out_shape = [(layers * D, N, P), (layers * D, N, C)], (N, T, D * P)
    else:
        x = rng.uniform(-1, 1, (T, N, I))
        state_shapes, out_shape = [(layers * D, N, P), (layers * D, N, C)], (T, N, D * P)
    if form == "packed":
        lengths = rng.integers(1, T + 1, N)
        lengths[rng.integers(N)] = T  # the padded length is the longest
        out_shape = (int(lengths.sum()), D * P)
    state_shapes = state_shapes[:2 if cell == "lstm" else 1]
    hx = None
    if with_hx:
        hx = [rng.uniform(-1, 1, shape) for shape in state_shapes]
    grads_out = [rng.uniform(-1, 1, out_shape)] + [rng.uniform(-1, 1, shape)
                                                   for shape in state_shapes]
    x, hx = x.astype(np.float32), None if hx is None else [h.astype(np.float32) for h in hx]

    outputs, grads = run(ours, x, hx, form, lengths, torch.float32, grads_out)
    expected_outputs, expected_grads = run(reference, x, hx, form, lengths, torch.float64,
                                           grads_out)
    names = ["output", "h_n", "c_n"]
    for name, got, want in zip(names, outputs, expected_outputs):
        assert got.dtype == torch.float32
        assert_close(got, want, name)
    grad_names = ["input"] + (["h_0", "c_0"][:len(hx)] if hx else []) + [
        n for n, _ in ours.named_parameters()]
    assert len(grads) == len(expected_grads) == len(grad_names)
    for name, got, want in zip(grad_names, grads, expected_grads):
        assert got is not None, f"no gradient for {name}"
        assert_close(got, want, f"gradient of {name}")
    return ours, reference


@pytest.mark.parametrize("cell", list(CELLS) + ["lstm_proj"])
def test_larger_problem_matches_torch(cell):
    """Sizes at which the engine splits the work into several tasks and threads."""
    rng = np.random.default_rng(7)
    P = 24 if cell == "lstm_proj" else 64
    extra = {"proj_size": P} if cell == "lstm_proj" else {}
    cell = cell.removesuffix("_proj")
    ours, reference = make_pair(cell, input_size=32, hidden_size=64, num_layers=2,
                                bidirectional=True, **extra)
    ours.threads = 2
    x = rng.uniform(-1, 1, (20, 8, 32)).astype(np.float32)
    lengths = rng.integers(1, 21, 8)
    lengths[3] = 20
    grads_out = [rng.uniform(-1, 1, (int(lengths.sum()), 2 * P))] + [
        rng.uniform(-1, 1, (4, 8, width)) for width in [P, 64][:2 if cell == "lstm" else 1]]
    outputs, grads = run(ours, x, None, "packed", lengths, torch.float32, grads_out)
    expected_outputs, expected_grads = run(reference, x, None, "packed", lengths, torch.float64,
                                           grads_out)
    for got, want in zip(outputs + grads, expected_outputs + expected_grads):
        assert_close(got, want, cell)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_sorted_packed_sequences_and_pack_sequence(cell):
    """enforce_sorted=True (no index permutation) and pack_sequence of a list."""
    torch.manual_seed(3)
    ours, reference = make_pair(cell, input_size=3, hidden_size=5, num_layers=2,
                                bidirectional=True)
    sequences = [torch.randn(n, 3) for n in (6, 4, 4, 1)]
    for enforce_sorted in (True, False):
        order = sequences if enforce_sorted else sequences[::-1]
        y, final = ours(pack_sequence(order, enforce_sorted=enforce_sorted))
        y_ref, final_ref = reference(pack_sequence([s.double() for s in order],
                                                   enforce_sorted=enforce_sorted))
        assert_close(y.data, y_ref.data, "output")
        assert torch.equal(y.batch_sizes, y_ref.batch_sizes)
        finals = final if isinstance(final, tuple) else (final,)
        finals_ref = final_ref if isinstance(final_ref, tuple) else (final_ref,)
        for got, want in zip(finals, finals_ref):
            assert_close(got, want, "final state")


def test_bias_false_matches_torch():
    torch.manual_seed(5)
    ours, reference = make_pair("gru", input_size=4, hidden_size=6, num_layers=2, bias=False)
    assert [n for n, _ in ours.named_parameters()] == ["weight_ih_l0", "weight_hh_l0",
                                                      "weight_ih_l1", "weight_hh_l1"]
    x = np.random.default_rng(1).uniform(-1, 1, (5, 3, 4)).astype(np.float32)
    grads_out = [np.ones((5, 3, 6)), np.ones((2, 3, 6))]
    outputs, grads = run(ours, x, None, "padded", None, torch.float32, grads_out)
    expected_outputs, expected_grads = run(reference, x, None, "padded", None, torch.float64,
                                           grads_out)
    for got, want in zip(outputs + grads, expected_outputs + expected_grads):
        assert_close(got, want, "bias=False")


def test_eval_mode_and_no_grad_match_torch():
    """The inference path (no autograd graph) computes the same function."""
    torch.manual_seed(11)
    ours, reference = make_pair("lstm", input_size=4, hidden_size=6, num_layers=3,
                                dropout=0.3)
    ours.eval()
    reference.eval()
    x = torch.randn(7, 2, 4)
    with torch.no_grad():
        y, (h, c) = ours(x)
        y_ref, (h_ref, c_ref) = reference(x.double())
    assert not y.requires_grad
    for got, want, name in ((y, y_ref, "output"), (h, h_ref, "h_n"), (c, c_ref, "c_n")):
        assert_close(got, want, name)


def test_bias_false_with_projection_matches_torch():
    """bias=False keeps weight_hr: its parameters follow torch's order without the biases."""
    torch.manual_seed(6)
    ours, reference = make_pair("lstm", input_size=3, hidden_size=5, num_layers=2, bias=False,
                                proj_size=3)
    assert [n for n, _ in ours.named_parameters()] == [
        "weight_ih_l0", "weight_hh_l0", "weight_hr_l0", "weight_ih_l1", "weight_hh_l1",
        "weight_hr_l1"]
    x = np.random.default_rng(2).uniform(-1, 1, (4, 2, 3)).astype(np.float32)
    grads_out = [np.ones((4, 2, 3)), np.ones((2, 2, 3)), np.ones((2, 2, 5))]
    outputs, grads = run(ours, x, None, "padded", None, torch.float32, grads_out)
    expected_outputs, expected_grads = run(reference, x, None, "padded", None, torch.float64,
                                           grads_out)
    for got, want in zip(outputs + grads, expected_outputs + expected_grads):
        assert_close(got, want, "bias=False with proj_size")
