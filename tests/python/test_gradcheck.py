"""torch.autograd.gradcheck in float64: rnnwave's backward (BasicRnn<double>) against
finite differences of its own forward, for the input, the initial states and every
parameter (weight_hr of the LSTM with a projection included); also with dropout, whose
masks repeat under torch.manual_seed."""
import pytest
import torch
from torch.nn.utils import stateless
from torch.nn.utils.rnn import pack_padded_sequence

import rnnwave.torch as rt

MODULES = {
    "lstm": lambda **k: rt.LSTM(**k),
    "lstm_proj": lambda **k: rt.LSTM(proj_size=2, **k),
    "gru": lambda **k: rt.GRU(**k),
    "rnn_tanh": lambda **k: rt.RNN(nonlinearity="tanh", **k),
    "rnn_relu": lambda **k: rt.RNN(nonlinearity="relu", **k),
}


def function_of_everything(module, packed_lengths=None, seed=None):
    """f(x, h0, [c0,] *parameters) -> (output, h_n[, c_n]), through the module."""
    names = [n for n, _ in module.named_parameters()]
    lstm = module.mode == "LSTM"

    def f(x, *rest):
        states, params = (rest[:2], rest[2:]) if lstm else (rest[:1], rest[1:])
        hx = tuple(states) if lstm else states[0]
        if seed is not None:
            torch.manual_seed(seed)
        model_input = x
        if packed_lengths is not None:
            model_input = pack_padded_sequence(x, packed_lengths, enforce_sorted=False)
        y, final = stateless.functional_call(module, dict(zip(names, params)), (model_input, hx))
        if packed_lengths is not None:
            y = y.data
        return (y,) + (tuple(final) if lstm else (final,))

    return f


def inputs(module, steps, batch, generator):
    d = 2 if module.bidirectional else 1
    x = torch.randn(steps, batch, module.input_size, dtype=torch.float64, generator=generator)
    # h has proj_size units with a projection, c has hidden_size.
    widths = [getattr(module, "proj_size", 0) or module.hidden_size, module.hidden_size]
    states = [torch.randn(module.num_layers * d, batch, width, dtype=torch.float64,
                          generator=generator)
              for width in widths[:2 if module.mode == "LSTM" else 1]]
    params = [p.detach().clone() for p in module.parameters()]
    return [t.requires_grad_() for t in [x] + states + params]


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell", list(MODULES))
def test_gradcheck(cell, bidirectional):
    torch.manual_seed(1)
    module = MODULES[cell](input_size=3, hidden_size=4, num_layers=2,
                           bidirectional=bidirectional).double()
    generator = torch.Generator().manual_seed(2)
    lengths = torch.tensor([4, 2, 3])
    assert torch.autograd.gradcheck(function_of_everything(module, lengths),
                                    inputs(module, 4, 3, generator), eps=1e-6, atol=1e-7)


def test_gradcheck_with_dropout():
    """Training mode with dropout: for a fixed torch seed the function is deterministic and
    its gradient is rnnwave's backward through the same masks."""
    torch.manual_seed(1)
    module = rt.GRU(input_size=3, hidden_size=4, num_layers=3, dropout=0.4).double().train()
    generator = torch.Generator().manual_seed(3)
    f = function_of_everything(module, seed=1234)
    args = inputs(module, 5, 2, generator)
    assert torch.autograd.gradcheck(f, args, eps=1e-6, atol=1e-7)
    # The masks did something: the same call in eval mode differs.
    with torch.no_grad():
        trained = f(*args)[0]
        module.eval()
        evaluated = f(*args)[0]
    assert not torch.allclose(trained, evaluated)


@pytest.mark.parametrize("cell", list(MODULES))
def test_gradcheck_with_cell_clip(cell):
    """ONNX's cell clip (rnnwave.torch's extra keyword cell_clip): the gradient of a clipped
    pre-activation is zero. With clip 0.3 on pre-activations of about +-2, many are clipped;
    no input sits within eps of a bound (finite differences would show the kink)."""
    torch.manual_seed(1)
    module = MODULES[cell](input_size=3, hidden_size=4, num_layers=2, bidirectional=True,
                           cell_clip=0.3).double()
    generator = torch.Generator().manual_seed(2)
    lengths = torch.tensor([4, 2, 3])
    args = inputs(module, 4, 3, generator)
    assert torch.autograd.gradcheck(function_of_everything(module, lengths), args,
                                    eps=1e-6, atol=1e-7)
    # The clip bound: the same weights without it compute something else.
    with torch.no_grad():
        clipped = function_of_everything(module)(*args)[0]
        module.cell_clip = 0.0
        module._rnnwave_setup(None, "wavefront", "fp32")
        plain = function_of_everything(module)(*args)[0]
    assert not torch.allclose(clipped, plain, atol=1e-3)
