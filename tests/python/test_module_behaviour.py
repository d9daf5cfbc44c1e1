"""How rnnwave.torch modules run: the inference path, when weights are repacked, threads,
dropout, repeated backward, the GIL, and memory shared rather than copied."""
import threading
import time

import numpy as np
import pytest
import torch
from torch import nn

import rnnwave
import rnnwave.torch as rt
from rnnwave import _core, _engine
from conftest import assert_close


@pytest.fixture
def counts(monkeypatch):
    """Counts the workspaces made and the weight packings of every engine."""
    seen = {"workspaces": 0, "packings": 0}
    new_workspace, set_weights = _engine.Engine.new_workspace, _engine.Engine.set_weights

    def counting_workspace(self):
        seen["workspaces"] += 1
        return new_workspace(self)

    def counting_set_weights(self, arrays):
        seen["packings"] += 1
        return set_weights(self, arrays)

    monkeypatch.setattr(_engine.Engine, "new_workspace", counting_workspace)
    monkeypatch.setattr(_engine.Engine, "set_weights", counting_set_weights)
    return seen


def test_inference_path_needs_no_workspace(counts):
    model = rt.LSTM(3, 4, num_layers=2)
    x = torch.randn(5, 2, 3)
    with torch.no_grad():
        y, _ = model(x)
    assert y.grad_fn is None and counts["workspaces"] == 0
    for p in model.parameters():
        p.requires_grad_(False)
    y, _ = model(x)  # nothing requires grad: inference too
    assert y.grad_fn is None and counts["workspaces"] == 0
    y, _ = model(x.requires_grad_())
    assert y.grad_fn is not None and counts["workspaces"] == 1
    model.eval()
    for p in model.parameters():
        p.requires_grad_(True)
    y, _ = model(torch.randn(5, 2, 3))  # eval mode still records the graph, as torch does
    assert y.grad_fn is not None


def test_weights_are_repacked_only_when_a_parameter_changed(counts):
    model = rt.GRU(3, 4, num_layers=2)
    x = torch.randn(5, 2, 3)
    with torch.no_grad():
        first = model(x)[0]
        for _ in range(10):
            model(x)
    assert counts["packings"] == 1, "an inference loop must not repack"

    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model(x)[0].sum().backward()
    assert counts["packings"] == 1
    optimizer.step()  # in place: versions move
    with torch.no_grad():
        stepped = model(x)[0]
    assert counts["packings"] == 2 and not torch.equal(stepped, first)

    model.load_state_dict({k: v * 0.5 for k, v in model.state_dict().items()})
    with torch.no_grad():
        model(x)
    assert counts["packings"] == 3

    model.weight_hh_l1 = nn.Parameter(torch.zeros_like(model.weight_hh_l1))  # a new object
    with torch.no_grad():
        model(x)
    assert counts["packings"] == 4

    model.weight_ih_l0.data = torch.zeros_like(model.weight_ih_l0)  # new memory, same version
    with torch.no_grad():
        zeroed = model(x)[0]
    assert counts["packings"] == 5

    # A write through .data keeps the version counter: invisible until flatten_parameters().
    model.bias_ih_l0.data.add_(1.0)
    with torch.no_grad():
        assert torch.equal(model(x)[0], zeroed)
    assert counts["packings"] == 5
    model.flatten_parameters()
    with torch.no_grad():
        refreshed = model(x)[0]
    assert counts["packings"] == 6 and not torch.equal(refreshed, zeroed)
    reference = nn.GRU(3, 4, num_layers=2).double()
    reference.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert_close(refreshed, reference(x.double())[0], "output after the refresh")


def test_double_precision_after_module_double():
    torch.manual_seed(0)
    model = rt.LSTM(2, 3)
    x = torch.randn(4, 1, 2)
    with torch.no_grad():
        single = model(x)[0]
        model.double()
        double = model(x.double())[0]
    assert single.dtype == torch.float32 and double.dtype == torch.float64
    assert_close(single, double, "float32 against float64")


def test_a_second_backward_through_one_graph_gives_the_same_gradients():
    torch.manual_seed(1)
    model = rt.LSTM(3, 4, num_layers=2, dropout=0.3)
    x = torch.randn(6, 2, 3, requires_grad=True)
    y, (h, c) = model(x)
    loss = (y * y).sum() + c.sum()
    first = torch.autograd.grad(loss, [x] + list(model.parameters()), retain_graph=True)
    second = torch.autograd.grad(loss, [x] + list(model.parameters()))
    for a, b in zip(first, second):
        assert torch.equal(a, b)


def test_dropout_masks_follow_torch_manual_seed():
    model = rt.GRU(4, 8, num_layers=3, dropout=0.5)
    x = torch.randn(10, 3, 4)
    outputs = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        outputs.append(model(x)[0])
    assert torch.equal(outputs[0], outputs[1])
    assert not torch.equal(outputs[0], outputs[2])
    with torch.no_grad():  # training mode without autograd drops too, as torch does
        torch.manual_seed(0)
        assert torch.equal(model(x)[0], outputs[0])
    model.eval()
    with torch.no_grad():
        assert not torch.equal(model(x)[0], outputs[0])


def test_dropout_has_torchs_distribution():
    """A two-layer ReLU stack whose second layer passes its input through (identity input
    weights, no recurrence, no bias): its output is the dropped first layer's, so the zeros
    show the mask and the survivors the 1/(1-p) scaling."""
    p = 0.3
    model = rt.RNN(6, 40, num_layers=2, nonlinearity="relu", dropout=p)
    with torch.no_grad():
        model.weight_ih_l1.copy_(torch.eye(40))
        model.weight_hh_l1.zero_()
        model.bias_ih_l1.zero_()
        model.bias_hh_l1.zero_()
        model.eval()
        x = torch.randn(50, 30, 6)
        clean = model(x)[0]
        model.train()
        torch.manual_seed(5)
        dropped = model(x)[0]
    alive = clean > 0
    zeroed = (dropped == 0) & alive
    fraction = zeroed.sum().item() / alive.sum().item()
    assert abs(fraction - p) < 0.02, f"dropped fraction {fraction:.3f}, expected {p}"
    kept = alive & ~zeroed
    assert torch.allclose(dropped[kept], clean[kept] / (1 - p), rtol=1e-5, atol=1e-6)


def test_thread_settings():
    x = torch.randn(20, 4, 8)
    rnnwave.set_num_threads(1)
    try:
        default = rt.LSTM(8, 16, num_layers=2, bidirectional=True)
        pinned = rt.LSTM(8, 16, num_layers=2, bidirectional=True, threads=2)
        pinned.load_state_dict(default.state_dict())
        with torch.no_grad():
            a, b = default(x)[0], pinned(x)[0]
        assert torch.equal(a, b), "results do not depend on threads"
        assert default._rnnwave_state.current.model.threads == 1
        assert pinned._rnnwave_state.current.model.threads == 2
        rnnwave.set_num_threads(2)
        with torch.no_grad():
            default(x)
        assert default._rnnwave_state.current.model.threads == 2
        assert rnnwave.get_num_threads() == 2
        default.schedule = "layerwise"
        with torch.no_grad():
            assert torch.equal(default(x)[0], a)
        assert default._rnnwave_state.current.model.schedule == "layerwise"
    finally:
        rnnwave.set_num_threads(2)


def test_the_gil_is_released_during_a_pass():
    """While one thread runs a long pass, the main thread keeps running Python: the gaps
    between its loop iterations stay far below the pass's duration."""
    model = rt.LSTM(256, 256, num_layers=2, threads=1, schedule="sequential")
    x = torch.randn(100, 16, 256)
    with torch.no_grad():
        start = time.perf_counter()
        model(x)
        duration = time.perf_counter() - start
    worker = threading.Thread(target=lambda: [model(x) for _ in range(3)])
    with torch.no_grad():
        worker.start()
        last, longest, iterations = time.perf_counter(), 0.0, 0
        while worker.is_alive():
            now = time.perf_counter()
            longest, last, iterations = max(longest, now - last), now, iterations + 1
        worker.join()
    assert iterations > 1000
    assert longest < duration / 2, f"main thread stalled {longest:.3f} s (a pass: {duration:.3f} s)"


def test_concurrent_passes_on_one_module():
    torch.manual_seed(2)
    model = rt.GRU(8, 16, num_layers=2, threads=1)
    inputs = [torch.randn(12, 3, 8) for _ in range(4)]
    with torch.no_grad():
        expected = [model(x)[0] for x in inputs]
    results = [None] * len(inputs)

    def run(i):
        with torch.no_grad():
            for _ in range(20):
                results[i] = model(inputs[i])[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        assert torch.equal(got, want)


def test_results_land_in_the_callers_arrays():
    spec = _core.ModelSpec(cell="lstm", input_size=2, hidden_size=3)
    weights = _core.Weights32.uniform(spec, 1)
    views = weights.arrays()
    assert all(np.shares_memory(v, weights.flat) for v in views)
    model = _core.Rnn32(weights, 1, "sequential")
    x = np.ones((4, 1, 2), np.float32)
    y = np.full((4, 1, 3), 7.0, np.float32)
    hn, cn = np.full((1, 1, 3), 7.0, np.float32), np.full((1, 1, 3), 7.0, np.float32)
    model.forward(x, y, None, None, None, hn, cn)
    assert not np.any(y == 7.0) and np.array_equal(hn[0], y[-1])
    workspace, grads = _core.Workspace32(), _core.Weights32(spec)
    model.forward_train(workspace, x, y, None, None, None, hn, cn)
    dx = np.full((4, 1, 2), 7.0, np.float32)
    model.backward(workspace, np.ones_like(y), None, None, dx, None, None, grads)
    assert not np.any(dx == 7.0) and np.any(grads.flat != 0)


def test_parameter_gradients_share_one_buffer_written_by_the_engine():
    model = rt.LSTM(2, 3, num_layers=2)
    model(torch.randn(4, 1, 2))[0].sum().backward()
    storages = {p.grad.storage().data_ptr() for p in model.parameters()}
    assert len(storages) == 1, "the gradients are views of the engine's buffer, not copies"


def test_a_dropped_graph_returns_its_workspace(monkeypatch):
    handed_out = []
    new_workspace = _engine.Engine.new_workspace

    def recording(self):
        handed_out.append(new_workspace(self))
        return handed_out[-1]

    monkeypatch.setattr(_engine.Engine, "new_workspace", recording)
    model = rt.GRU(3, 4)
    x = torch.randn(5, 2, 3)
    for _ in range(6):
        y, h = model(x)  # a graph is recorded, then dropped without backward
        del y, h
    assert len(handed_out) == 6
    assert len({id(w) for w in handed_out}) == 1, "each dropped graph gave its workspace back"
    assert len(model._rnnwave_state.current._pool) == 1


def test_threads_racing_to_repack_all_see_the_new_weights():
    torch.manual_seed(3)
    model = rt.LSTM(8, 16, num_layers=2, threads=1)
    x = torch.randn(6, 2, 8)
    with torch.no_grad():
        model(x)
        model.weight_hh_l1.mul_(0.5)  # every thread below finds the packing stale
        reference = nn.LSTM(8, 16, num_layers=2).double()
        reference.load_state_dict(model.state_dict())
        expected = reference(x.double())[0]
    results = []

    def run():
        with torch.no_grad():
            results.append(model(x)[0])

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    for got in results:
        assert_close(got, expected, "output after a concurrent repack")
