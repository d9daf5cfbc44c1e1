"""Parameters move between torch.nn, rnnwave.torch and the numpy API unchanged: state_dict
round trips both ways, .npz files, and the same outputs after each move."""
import numpy as np
import pytest
import torch

import rnnwave
import rnnwave.torch as rt
from conftest import assert_close

PAIRS = [
    (torch.nn.LSTM, rt.LSTM, rnnwave.LSTM, {}),
    (torch.nn.GRU, rt.GRU, rnnwave.GRU, {}),
    (torch.nn.RNN, rt.RNN, rnnwave.RNN, {"nonlinearity": "relu"}),
]
IDS = ["lstm", "gru", "rnn_relu"]


@pytest.mark.parametrize("torch_class, ours_class, numpy_class, extra", PAIRS, ids=IDS)
def test_torch_to_rnnwave_and_back(torch_class, ours_class, numpy_class, extra):
    torch.manual_seed(0)
    kwargs = dict(input_size=3, hidden_size=5, num_layers=2, bidirectional=True, **extra)
    original = torch_class(**kwargs)
    ours = ours_class(**kwargs)
    ours.load_state_dict(original.state_dict())
    assert list(ours.state_dict()) == list(original.state_dict())
    back = torch_class(**kwargs)
    back.load_state_dict(ours.state_dict())
    for name, value in original.state_dict().items():
        assert torch.equal(back.state_dict()[name], value), name
    x = torch.randn(4, 2, 3)
    with torch.no_grad():
        assert_close(ours(x)[0], original.double()(x.double())[0], "output after loading")


@pytest.mark.parametrize("torch_class, ours_class, numpy_class, extra", PAIRS, ids=IDS)
def test_numpy_api_round_trip(torch_class, ours_class, numpy_class, extra):
    torch.manual_seed(1)
    kwargs = dict(input_size=3, hidden_size=5, num_layers=2, bidirectional=True, **extra)
    original = torch_class(**kwargs)
    model = numpy_class(**kwargs)
    model.load_state_dict(original.state_dict())  # torch tensors are accepted as they are
    state = model.state_dict()
    assert list(state) == list(original.state_dict())
    for name, value in original.state_dict().items():
        assert state[name].dtype == np.float32
        assert np.array_equal(state[name], value.numpy()), name
    back = torch_class(**kwargs)
    back.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    x = np.random.default_rng(0).uniform(-1, 1, (4, 2, 3)).astype(np.float32)
    with torch.no_grad():
        expected = back.double()(torch.from_numpy(x).double())[0]
    assert_close(model.forward(x)[0], expected, "output after a round trip")


def test_npz_written_by_numpy_loads_and_saves(tmp_path):
    torch.manual_seed(2)
    original = torch.nn.LSTM(4, 6, num_layers=2)
    path = tmp_path / "lstm.npz"
    np.savez(path, **{k: v.numpy() for k, v in original.state_dict().items()})
    model = rnnwave.LSTM(4, 6, num_layers=2)
    model.load(path)
    for name, value in original.state_dict().items():
        assert np.array_equal(model.state_dict()[name], value.numpy())
    saved = tmp_path / "saved.npz"
    model.save(saved)
    with np.load(saved) as loaded:
        assert sorted(loaded.files) == sorted(original.state_dict())
        for name, value in original.state_dict().items():
            assert np.array_equal(loaded[name], value.numpy())


def test_float64_weights_load_into_a_float32_model(tmp_path):
    """As the command line tool: float64 members are converted to float32."""
    torch.manual_seed(3)
    original = torch.nn.GRU(2, 3).double()
    path = tmp_path / "gru64.npz"
    np.savez(path, **{k: v.numpy() for k, v in original.state_dict().items()})
    model = rnnwave.GRU(2, 3)
    model.load(path)
    for name, value in original.state_dict().items():
        assert np.array_equal(model.state_dict()[name], value.numpy().astype(np.float32))


def test_bias_false_state_dict_has_no_biases():
    torch.manual_seed(4)
    original = torch.nn.LSTM(3, 4, bias=False)
    model = rnnwave.LSTM(3, 4, bias=False)
    model.load_state_dict(original.state_dict())
    assert list(model.state_dict()) == ["weight_ih_l0", "weight_hh_l0"]
    x = np.random.default_rng(1).uniform(-1, 1, (5, 2, 3)).astype(np.float32)
    with torch.no_grad():
        expected = original.double()(torch.from_numpy(x).double())[0]
    assert_close(model(x)[0], expected, "bias=False output")


def test_state_dict_returns_copies():
    model = rnnwave.RNN(2, 3, seed=5)
    state = model.state_dict()
    state["weight_hh_l0"][...] = 100
    assert not np.array_equal(model.state_dict()["weight_hh_l0"], state["weight_hh_l0"])


def test_seed_makes_the_initial_weights_repeatable():
    a, b, c = rnnwave.GRU(3, 4, seed=9), rnnwave.GRU(3, 4, seed=9), rnnwave.GRU(3, 4, seed=10)
    for name, value in a.state_dict().items():
        assert np.array_equal(value, b.state_dict()[name])
        assert np.abs(value).max() <= 1 / np.sqrt(4)  # torch's U(-1/sqrt(H), 1/sqrt(H))
    assert not np.array_equal(a.state_dict()["weight_ih_l0"], c.state_dict()["weight_ih_l0"])


def test_pickle_and_deepcopy_of_a_drop_in_module(tmp_path):
    import copy
    torch.manual_seed(6)
    model = rt.LSTM(3, 4, num_layers=2, threads=1)
    x = torch.randn(5, 2, 3)
    with torch.no_grad():
        expected = model(x)[0]  # builds the C++ cache, which must not be pickled
    twin = copy.deepcopy(model)
    path = tmp_path / "model.pt"
    torch.save(model, path)
    loaded = torch.load(path)
    for other in (twin, loaded):
        assert type(other) is rt.LSTM and other.threads == 1
        with torch.no_grad():
            assert torch.equal(other(x)[0], expected)
