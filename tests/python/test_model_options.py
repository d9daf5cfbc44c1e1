"""The numpy API with what torch.nn has no module for: the GRU with the reset gate before
the recurrent product (GRU(linear_before_reset=False), cell gru_rb), the LSTM with
peepholes, a reverse-only direction (reverse=True); and the LSTM with a projection.

The oracle is a naive float64 implementation of ONNX's equations (the LSTM and GRU
operators; the projection is torch.nn.LSTM's), written here in ONNX's gate order and
sharing nothing with rnnwave but the parameter names: forward against it in float64 and
float32, backward against its central finite differences in float64. reverse=True is also
checked against the forward model of the same weights on time-reversed sequences."""
import numpy as np
import pytest

import rnnwave
from conftest import TOLERANCE, assert_close

# ---- the reference -----------------------------------------------------------------

# PyTorch's (rnnwave's) gate order of each kind, named as ONNX names the gates.
TORCH_GATES = {"lstm": "ifco", "gru": "rzh", "gru_rb": "rzh"}


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def blocks(value, cell):
    """{gate: rows} of a weight or bias in PyTorch's gate order."""
    return dict(zip(TORCH_GATES[cell], np.split(value, len(TORCH_GATES[cell]))))


def onnx_step(cell, p, x, h, c):
    """One step of ONNX's LSTM (with peepholes P if p has them, and torch's projection if p
    has weight_hr) or GRU (linear_before_reset 1 for gru, 0 for gru_rb), x [I], h [P], c [H]."""
    W, R = blocks(p["weight_ih"], cell), blocks(p["weight_hh"], cell)
    Wb, Rb = blocks(p["bias_ih"], cell), blocks(p["bias_hh"], cell)
    if cell == "lstm":
        Pi, Pf, Po = p["weight_ph"] if "weight_ph" in p else np.zeros((3, len(c)))
        pre = {g: W[g] @ x + R[g] @ h + Wb[g] + Rb[g] for g in "ifco"}
        i = sigmoid(pre["i"] + Pi * c)
        f = sigmoid(pre["f"] + Pf * c)
        c = f * c + i * np.tanh(pre["c"])
        o = sigmoid(pre["o"] + Po * c)
        h = o * np.tanh(c)
        if "weight_hr" in p:
            h = p["weight_hr"] @ h
        return h, c
    z = sigmoid(W["z"] @ x + R["z"] @ h + Wb["z"] + Rb["z"])
    r = sigmoid(W["r"] @ x + R["r"] @ h + Wb["r"] + Rb["r"])
    if cell == "gru":  # linear_before_reset = 1
        candidate = np.tanh(W["h"] @ x + r * (R["h"] @ h + Rb["h"]) + Wb["h"])
    else:  # linear_before_reset = 0
        candidate = np.tanh(W["h"] @ x + R["h"] @ (r * h) + Rb["h"] + Wb["h"])
    return (1 - z) * candidate + z * h, c


def reference_forward(cell, layers, directions, reverse, params, x, lengths, h0, c0):
    """The stack in float64: x [T, N, I], lengths [N], h0 [L*D, N, P], c0 [L*D, N, H]
    -> output [T, N, D*P] (zero past each end), h_n, c_n. Direction 1 (and the only one if
    `reverse`) walks each sequence from its own last step back to 0."""
    T, N = x.shape[:2]
    P, H = h0.shape[2], c0.shape[2]
    hn, cn = np.zeros_like(h0), np.zeros_like(c0)
    layer_input = x
    for layer in range(layers):
        out = np.zeros((T, N, directions * P))
        for d in range(directions):
            backward = d == 1 or reverse
            suffix = f"_l{layer}" + ("_reverse" if backward else "")
            p = {k: params[k + suffix] for k in
                 ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ph", "weight_hr")
                 if k + suffix in params}
            k = layer * directions + d
            for n in range(N):
                h, c = h0[k, n], c0[k, n]
                steps = range(lengths[n])
                for t in (reversed(steps) if backward else steps):
                    h, c = onnx_step(cell, p, layer_input[t, n], h, c)
                    out[t, n, d * P:(d + 1) * P] = h
                hn[k, n], cn[k, n] = h, c
        layer_input = out
    return layer_input, hn, cn


# ---- the cases -----------------------------------------------------------------------

CASES = {
    "gru_rb": lambda **k: rnnwave.GRU(linear_before_reset=False, **k),
    "lstm_peepholes": lambda **k: rnnwave.LSTM(peepholes=True, **k),
    "lstm_proj": lambda **k: rnnwave.LSTM(proj_size=2, **k),
}
DIRECTIONS = {"forward": {}, "reverse": {"reverse": True}, "bidirectional": {"bidirectional": True}}
I, H, T, N = 2, 3, 4, 3


def make_problem(case, direction, layers, dtype, seed):
    model = CASES[case](input_size=I, hidden_size=H, num_layers=layers, dtype=dtype,
                        seed=seed, **DIRECTIONS[direction])
    rng = np.random.default_rng(seed)
    D = 2 if direction == "bidirectional" else 1
    P = 2 if case == "lstm_proj" else H
    lstm = case.startswith("lstm")
    problem = {
        "x": rng.uniform(-1, 1, (T, N, I)),
        "lengths": np.array([T, 1, T - 1]),
        "h0": rng.uniform(-1, 1, (layers * D, N, P)),
        "c0": rng.uniform(-1, 1, (layers * D, N, H)) if lstm else np.zeros((layers * D, N, H)),
        "dy": rng.uniform(-1, 1, (T, N, D * P)),
        "dhn": rng.uniform(-1, 1, (layers * D, N, P)),
        "dcn": rng.uniform(-1, 1, (layers * D, N, H)) if lstm else None,
    }
    return model, problem


def reference_of(model, case, direction, layers):
    cell = "lstm" if case.startswith("lstm") else case
    D = 2 if direction == "bidirectional" else 1
    return lambda params, x, h0, c0, lengths: reference_forward(
        cell, layers, D, direction == "reverse", params, x, lengths, h0, c0)


def run_ours(model, problem, train):
    lstm = isinstance(model, rnnwave.LSTM)
    hx = (problem["h0"], problem["c0"]) if lstm else problem["h0"]
    y, final = model.forward(problem["x"], hx, problem["lengths"], train=train)
    hn, cn = final if lstm else (final, None)
    return y, hn, cn


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("direction", list(DIRECTIONS))
@pytest.mark.parametrize("case", list(CASES))
def test_forward_matches_the_onnx_equations(case, direction, layers):
    for dtype, tolerance in (("float64", 1e-12), ("float32", TOLERANCE)):
        model, problem = make_problem(case, direction, layers, dtype, seed=layers)
        reference = reference_of(model, case, direction, layers)
        y, hn, cn = run_ours(model, problem, train=False)
        y_ref, hn_ref, cn_ref = reference(
            {k: v.astype(np.float64) for k, v in model.state_dict().items()},
            problem["x"].astype(dtype), problem["h0"].astype(dtype), problem["c0"].astype(dtype),
            problem["lengths"])
        assert y.dtype == np.dtype(dtype)
        assert_close(y, y_ref, f"{dtype} output", tolerance)
        assert_close(hn, hn_ref, f"{dtype} h_n", tolerance)
        if cn is not None:
            assert_close(cn, cn_ref, f"{dtype} c_n", tolerance)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("direction", list(DIRECTIONS))
@pytest.mark.parametrize("case", list(CASES))
def test_backward_matches_finite_differences(case, direction, layers):
    """Every gradient backward returns (input, h0, c0, every parameter) against central
    differences of the reference's loss sum(y*dy) + sum(h_n*dh_n) [+ sum(c_n*dc_n)]."""
    model, problem = make_problem(case, direction, layers, "float64", seed=10 + layers)
    reference = reference_of(model, case, direction, layers)
    lstm = problem["dcn"] is not None
    run_ours(model, problem, train=True)
    grads = model.backward(problem["dy"], problem["dhn"], problem["dcn"])

    values = {"input": problem["x"], "h0": problem["h0"], "c0": problem["c0"],
              **model.state_dict()}

    def loss(v):
        params = {k: v[k] for k in model.state_dict()}
        y, hn, cn = reference(params, v["input"], v["h0"], v["c0"], problem["lengths"])
        total = np.sum(y * problem["dy"]) + np.sum(hn * problem["dhn"])
        return total + (np.sum(cn * problem["dcn"]) if lstm else 0.0)

    names = ["input", "h0"] + (["c0"] if lstm else []) + list(model.state_dict())
    assert sorted(grads) == sorted(names)
    eps = 1e-6
    for name in names:
        numeric = np.zeros_like(values[name])
        for index in np.ndindex(values[name].shape):
            saved = values[name][index]
            values[name][index] = saved + eps
            up = loss(values)
            values[name][index] = saved - eps
            down = loss(values)
            values[name][index] = saved
            numeric[index] = (up - down) / (2 * eps)
        assert grads[name].shape == numeric.shape, name
        assert_close(grads[name], numeric, f"gradient of {name}", tolerance=1e-7)


def test_proj_and_peephole_parameters_are_named_as_torch_and_onnx_import():
    lstm = rnnwave.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=2, seed=1)
    shapes = {k: v.shape for k, v in lstm.state_dict().items()}
    assert shapes["weight_hr_l1_reverse"] == (2, 3) and shapes["weight_hh_l0"] == (12, 2)
    assert shapes["weight_ih_l1"] == (12, 4)  # D*P inputs above the first layer
    peep = rnnwave.LSTM(2, 3, reverse=True, peepholes=True, seed=1)
    assert list(peep.state_dict()) == ["weight_ih_l0_reverse", "weight_hh_l0_reverse",
                                       "bias_ih_l0_reverse", "bias_hh_l0_reverse",
                                       "weight_ph_l0_reverse"]
    assert peep.state_dict()["weight_ph_l0_reverse"].shape == (3, 3)
    assert "reverse=True" in repr(peep) and "peepholes=True" in repr(peep)
    with pytest.raises(ValueError, match="proj_size"):
        rnnwave.LSTM(2, 3, proj_size=3)
    with pytest.raises(ValueError, match="bidirectional"):
        rnnwave.GRU(2, 3, bidirectional=True, reverse=True)


# ---- reverse = the forward model on time-reversed sequences ---------------------------

KINDS = {
    "lstm": lambda **k: rnnwave.LSTM(**k),
    "gru": lambda **k: rnnwave.GRU(**k),
    "gru_rb": lambda **k: rnnwave.GRU(linear_before_reset=False, **k),
    "rnn_tanh": lambda **k: rnnwave.RNN(nonlinearity="tanh", **k),
    "rnn_relu": lambda **k: rnnwave.RNN(nonlinearity="relu", **k),
}


def flip(a, lengths):
    """Each sequence of a [T, N, ...] array reversed within its own length (zeros after)."""
    out = np.zeros_like(a)
    for n, length in enumerate(lengths):
        out[:length, n] = a[:length, n][::-1]
    return out


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", list(KINDS))
def test_reverse_is_the_forward_model_on_reversed_sequences(kind, layers):
    """A reverse-only stack equals the forward stack of the same weights (renamed from
    *_reverse) run on each sequence reversed in time, forward and backward, in float32."""
    rng = np.random.default_rng(layers)
    backward_model = KINDS[kind](input_size=3, hidden_size=5, num_layers=layers, reverse=True,
                                 seed=3)
    forward_model = KINDS[kind](input_size=3, hidden_size=5, num_layers=layers, seed=4)
    forward_model.load_state_dict({k.removesuffix("_reverse"): v
                                   for k, v in backward_model.state_dict().items()})
    T, N = 6, 4
    lengths = np.array([6, 2, 5, 1])
    x = rng.uniform(-1, 1, (T, N, 3)).astype(np.float32)
    dy = rng.uniform(-1, 1, (T, N, 5)).astype(np.float32)
    dhn = rng.uniform(-1, 1, (layers, N, 5)).astype(np.float32)
    dcn = dhn[::-1].copy() if kind == "lstm" else None

    y, final = backward_model.forward(x, lengths=lengths, train=True)
    y_flipped, final_flipped = forward_model.forward(flip(x, lengths), lengths=lengths,
                                                     train=True)
    assert_close(y, flip(y_flipped, lengths), "output")
    finals = final if kind == "lstm" else (final,)
    finals_flipped = final_flipped if kind == "lstm" else (final_flipped,)
    for got, want in zip(finals, finals_flipped):
        assert_close(got, want, "final states")
    grads = backward_model.backward(dy, dhn, dcn)
    grads_flipped = forward_model.backward(flip(dy, lengths), dhn, dcn)
    assert_close(grads["input"], flip(grads_flipped["input"], lengths), "gradient of input")
    for name, value in grads.items():
        if name != "input":
            assert_close(value, grads_flipped[name.removesuffix("_reverse")], f"gradient of {name}")


@pytest.mark.parametrize("value,text", [(-1.0, "-1"), (float("nan"), "nan"),
                                        (float("inf"), "inf")])
def test_a_bad_cell_clip_is_refused_naming_it(value, text):
    import rnnwave.torch as rt
    message = rf"^cell_clip must be 0 \(off\) or a finite number > 0, got {text}$"
    with pytest.raises(ValueError, match=message):
        rnnwave.GRU(2, 3, cell_clip=value)
    with pytest.raises(ValueError, match=message):
        rt.LSTM(2, 3, cell_clip=value)


def test_cell_clip_of_the_numpy_and_torch_modules_agree():
    """ONNX's cell clip through both Python APIs: the same weights, the same outputs and
    gradients (the values themselves are checked against ONNX's equations in test_onnx.py
    and by gradcheck in test_gradcheck.py); and the clip binds on these inputs."""
    import torch
    import rnnwave.torch as rt
    rng = np.random.default_rng(5)
    x = rng.uniform(-2, 2, (5, 3, 4)).astype(np.float32)
    ours = rnnwave.LSTM(4, 6, bidirectional=True, cell_clip=0.25, seed=3)
    plain = rnnwave.LSTM(4, 6, bidirectional=True, seed=3)
    theirs = rt.LSTM(4, 6, bidirectional=True, cell_clip=0.25)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    assert "cell_clip=0.25" in repr(ours)
    y, _ = ours.forward(x)
    with torch.no_grad():
        y_torch, _ = theirs(torch.from_numpy(x))
    np.testing.assert_array_equal(y, y_torch.numpy())
    y_plain, _ = plain.forward(x)
    assert np.abs(y - y_plain).max() > 1e-3
