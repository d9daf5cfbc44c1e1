"""A model trained for a few steps with torch.optim ends where the same model on torch.nn
ends: the gradients feed the optimizers like torch's own, and every update reaches the
packed weights."""
import copy

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnwave.torch as rt
from conftest import assert_close


class Classifier(nn.Module):
    """A bidirectional stack on packed sequences, mean-pooled, then a linear head."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(2 * rnn.hidden_size, 3)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        y, _ = pad_packed_sequence(self.rnn(packed)[0], total_length=x.shape[0])
        return self.head(y.sum(0) / lengths.unsqueeze(1).to(y.dtype))


OPTIMIZERS = {
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p, lr=5e-2),
}


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_few_optimizer_steps_end_where_torch_does(cell, optimizer):
    torch.manual_seed(0)
    torch_class = nn.LSTM if cell == "lstm" else nn.GRU
    reference = Classifier(torch_class(5, 8, num_layers=2, bidirectional=True))
    ours = copy.deepcopy(reference)
    initial = {k: v.clone() for k, v in ours.state_dict().items()}
    rt.convert(ours)
    assert type(ours.rnn) is not torch_class
    reference.double()  # the oracle in float64, from the same float32 start
    ours_opt = OPTIMIZERS[optimizer](ours.parameters())
    ref_opt = OPTIMIZERS[optimizer](reference.parameters())
    generator = torch.Generator().manual_seed(1)
    for _ in range(5):
        x = torch.randn(9, 6, 5, generator=generator)
        lengths = torch.randint(1, 10, (6,), generator=generator)
        lengths[0] = 9
        target = torch.randint(0, 3, (6,), generator=generator)
        for model, opt, inputs in ((ours, ours_opt, x), (reference, ref_opt, x.double())):
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(inputs, lengths), target).backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
    # Five steps of float32 rounding against float64 (Adam's normalisation amplifies it; about
    # 3e-5 seen), far below what a wrong gradient or a stale packed weight makes (a model
    # that never repacked: 0.1 and more).
    reference_state = reference.state_dict()
    for name, value in ours.state_dict().items():
        assert_close(value, reference_state[name], name, tolerance=2e-4)
    moved = min((ours.state_dict()[k] - v).abs().max().item()
                for k, v in initial.items() if k.startswith("rnn."))
    assert moved > 1e-3, "the recurrent parameters did not train"


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_one_weight_copy_trains_to_the_same_bits(cell):
    """single_weight_copy=True: the weights are turned between their two packed forms in
    place; steps with gradient accumulation (two backward passes over unchanged weights),
    inference between and optimizer updates end with the bits of the default model."""
    torch.manual_seed(2)
    torch_class = nn.LSTM if cell == "lstm" else nn.GRU
    start = Classifier(torch_class(5, 8, num_layers=2, bidirectional=True))
    models = [copy.deepcopy(start) for _ in range(2)]
    rt.convert(models[0])
    rt.convert(models[1], single_weight_copy=True)
    assert models[1].rnn.single_weight_copy and not models[0].rnn.single_weight_copy
    optimizers = [torch.optim.Adam(m.parameters(), lr=5e-2) for m in models]
    generator = torch.Generator().manual_seed(3)
    for _ in range(3):
        batches = [(torch.randn(7, 4, 5, generator=generator), torch.randint(1, 8, (4,), generator=generator),
                    torch.randint(0, 3, (4,), generator=generator)) for _ in range(2)]
        outputs = []
        for model, opt in zip(models, optimizers):
            opt.zero_grad(set_to_none=True)
            for x, lengths, target in batches:
                nn.functional.cross_entropy(model(x, lengths), target).backward()
            # The option reached the engine of the training passes (else the bits would be
            # equal trivially).
            engine = model.rnn._rnnwave_state.current.model
            assert engine.single_weight_copy == model.rnn.single_weight_copy
            with torch.no_grad():
                outputs.append(model(batches[0][0], batches[0][1]))
            opt.step()
        assert torch.equal(outputs[0], outputs[1])
    for (name, a), b in zip(models[0].state_dict().items(), models[1].state_dict().values()):
        assert torch.equal(a, b), name
