"""rnnwave.torch.convert: every nn.LSTM/GRU/RNN inside a model, in place, weights kept."""
import copy

import pytest
import torch
from torch import nn

import rnnwave.torch as rt
from conftest import assert_close


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.stack = nn.ModuleList([nn.LSTM(4, 6, bidirectional=True), nn.GRU(12, 5)])

    def forward(self, x):
        y, _ = self.stack[0](x)
        y, h = self.stack[1](y)
        return y, h


class MyLSTM(nn.LSTM):
    """A user's subclass: its forward may differ, so convert leaves it alone."""


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = nn.Sequential(nn.Linear(5, 5), nn.Tanh())
        self.rnn = nn.RNN(5, 3, num_layers=2, nonlinearity="relu")
        self.custom = MyLSTM(3, 2)

    def forward(self, x):
        y, _ = self.encoder(x)
        y, _ = self.rnn(self.decoder(y))
        y, _ = self.custom(y)
        return y


def test_convert_nested_model():
    torch.manual_seed(0)
    model = Model().double()
    x = torch.randn(7, 3, 4, dtype=torch.float64)
    expected = model(x)
    parameters = {name: p for name, p in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    assert rt.convert(model) is model
    assert type(model.encoder.stack[0]) is rt.LSTM
    assert type(model.encoder.stack[1]) is rt.GRU
    assert type(model.rnn) is rt.RNN and model.rnn.nonlinearity == "relu"
    assert type(model.custom) is MyLSTM
    assert isinstance(model.encoder.stack[0], nn.LSTM)
    for name, p in model.named_parameters():
        assert p is parameters[name], f"{name} was replaced"
    assert_close(model(x), expected, "converted model's output")

    # The optimizer built before convert still trains the same parameter objects, and the
    # rnnwave modules see the update (their packed weights follow the version counters).
    model(x).sum().backward()
    optimizer.step()
    with torch.no_grad():
        after = model(x)
        rt_state = {k: v.clone() for k, v in model.state_dict().items()}
    reference = Model().double()
    reference.load_state_dict(rt_state)
    with torch.no_grad():
        assert_close(after, reference(x), "output after an optimizer step")


def test_convert_a_module_itself_and_keyword_settings():
    torch.manual_seed(1)
    lstm = nn.LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    with torch.no_grad():
        expected = lstm(x)[0]
    converted = rt.convert(lstm, threads=1, schedule="sequential")
    assert converted is lstm and type(lstm) is rt.LSTM
    assert lstm.threads == 1 and lstm.schedule == "sequential"
    with torch.no_grad():
        assert_close(lstm(x)[0], expected.double(), "output", tolerance=1e-5)


def test_convert_an_lstm_with_a_projection():
    """torch.nn.LSTM(proj_size=P) converts, keeping its parameters (weight_hr included), and
    computes what it computed, forward and backward."""
    torch.manual_seed(4)
    model = nn.Sequential(nn.GRU(3, 4))
    model.add_module("proj", nn.LSTM(4, 8, num_layers=2, bidirectional=True, proj_size=3))
    params = list(model.proj.parameters())
    x = torch.randn(5, 2, 4, dtype=torch.float64)
    reference = copy.deepcopy(model.proj).double()
    y_ref, (h_ref, c_ref) = reference(x)
    (y_ref.sum() + h_ref.sum() + c_ref.sum()).backward()
    rt.convert(model)
    assert type(model[0]) is rt.GRU and type(model.proj) is rt.LSTM
    assert list(model.proj.parameters()) == params
    model.proj.double()
    y, (h, c) = model.proj(x)
    assert y.shape == (5, 2, 6) and h.shape == (4, 2, 3) and c.shape == (4, 2, 8)
    (y.sum() + h.sum() + c.sum()).backward()
    for got, want in ((y, y_ref), (h, h_ref), (c, c_ref)):
        assert_close(got, want, "outputs", tolerance=1e-12)
    for (name, p), p_ref in zip(model.proj.named_parameters(), reference.parameters()):
        assert_close(p.grad, p_ref.grad, f"gradient of {name}", tolerance=1e-12)


def test_convert_checks_its_arguments():
    with pytest.raises(ValueError, match="threads must be in"):
        rt.convert(nn.GRU(2, 2), threads=-1)
    with pytest.raises(ValueError, match="schedule must be one of"):
        rt.convert(nn.GRU(2, 2), schedule="fastest")
