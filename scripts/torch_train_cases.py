#!/usr/bin/env python3
"""Writes the PyTorch reference cases of the training layers, losses and optimizers.

Usage: torch_train_cases.py --out DIR

Every case is computed by PyTorch in float64 from fixed random inputs and written to
DIR/<case>.npz (float64 arrays); integer arrays (ids, targets, lengths) go to
DIR/<case>.ids.npz (int64). tests/train/torch_train_agreement_test.cpp runs the same inputs
through rnnwave and compares. Cases:

  embedding      torch.nn.Embedding forward and weight gradient (repeated ids)
  linear         torch.nn.Linear forward and every gradient
  cross_entropy  F.cross_entropy per row, weighted mean and its gradient; rows far apart in
                 scale (max subtraction); a mask with zeros; the unweighted mean
  mse            F.mse_loss and its gradient
  accuracy       argmax == target over rows with non-zero weight (with ties)
  pool_d1/pool_d2  a packed torch.nn.LSTM (one and two directions) on variable lengths:
                 its padded output, the top layer's h_n (what 'last' pooling must give),
                 the masked mean, and the gradients of both poolings
  sgd_*/adam_*   trajectories of torch.optim.SGD / Adam over fixed gradients, two
                 parameters, with and without momentum, nesterov, weight decay
  clip_*         torch.nn.utils.clip_grad_norm_ above and below max_norm
  lr_*           StepLR, CosineAnnealingLR and ReduceLROnPlateau rates per epoch
"""
import argparse
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def f32(t):
    """Rounds to float32 and back: the inputs must be exact in both precisions."""
    return t.float().double()


def save(out, name, floats, ints=None):
    np.savez(os.path.join(out, name + ".npz"),
             **{k: np.asarray(v.detach().numpy() if torch.is_tensor(v) else v, dtype=np.float64)
                for k, v in floats.items()})
    if ints:
        np.savez(os.path.join(out, name + ".ids.npz"),
                 **{k: np.asarray(v.numpy() if torch.is_tensor(v) else v, dtype=np.int64)
                    for k, v in ints.items()})


def embedding_case(out):
    g = torch.Generator().manual_seed(1)
    vocab, size = 7, 5
    weight = f32(torch.randn(vocab, size, generator=g)).requires_grad_()
    ids = torch.tensor([3, 0, 6, 3, 3, 1, 6, 2, 0])  # repeats: gradients are summed
    grad_out = f32(torch.randn(len(ids), size, generator=g))
    y = F.embedding(ids, weight)
    y.backward(grad_out)
    save(out, "embedding", {"weight": weight, "grad_out": grad_out, "out": y,
                            "grad_weight": weight.grad}, {"ids": ids})


def linear_case(out):
    g = torch.Generator().manual_seed(2)
    rows, inputs, outputs = 6, 5, 3
    layer = torch.nn.Linear(inputs, outputs)
    with torch.no_grad():
        layer.weight.copy_(f32(torch.randn(outputs, inputs, generator=g)))
        layer.bias.copy_(f32(torch.randn(outputs, generator=g)))
    x = f32(torch.randn(rows, inputs, generator=g)).requires_grad_()
    grad_y = f32(torch.randn(rows, outputs, generator=g))
    y = layer(x)
    y.backward(grad_y)
    save(out, "linear", {"weight": layer.weight, "bias": layer.bias, "x": x, "grad_y": grad_y,
                         "y": y, "grad_x": x.grad, "grad_weight": layer.weight.grad,
                         "grad_bias": layer.bias.grad})


def cross_entropy_case(out):
    g = torch.Generator().manual_seed(3)
    rows, classes = 8, 6
    logits = f32(3 * torch.randn(rows, classes, generator=g))
    logits[2] += 1000.0   # exp would overflow without the max subtraction
    logits[5] -= 1000.0
    targets = torch.randint(0, classes, (rows,), generator=g)
    weights = torch.tensor([1.0, 0.0, 1.0, 0.5, 2.0, 1.0, 0.0, 0.25])
    x = logits.clone().requires_grad_()
    nll = F.cross_entropy(x, targets, reduction="none")
    loss = (nll * weights).sum() / weights.sum()
    loss.backward()
    grad = x.grad.clone()
    x.grad = None
    plain = F.cross_entropy(x, targets)
    plain.backward()
    save(out, "cross_entropy",
         {"logits": logits, "row_weights": weights, "loss": loss, "total": (nll * weights).sum(),
          "weight": weights.sum(), "grad_logits": grad, "plain_loss": plain,
          "plain_grad_logits": x.grad, "plain_log_likelihood": -nll.sum()},
         {"targets": targets})


def mse_case(out):
    g = torch.Generator().manual_seed(4)
    predictions = f32(torch.randn(7, generator=g)).requires_grad_()
    targets = f32(torch.randn(7, generator=g))
    loss = F.mse_loss(predictions, targets)
    loss.backward()
    save(out, "mse", {"predictions": predictions, "targets": targets, "loss": loss,
                      "grad_predictions": predictions.grad})


def accuracy_case(out):
    g = torch.Generator().manual_seed(5)
    logits = f32(torch.randn(10, 4, generator=g))
    logits[3] = torch.tensor([0.5, 2.0, 2.0, -1.0])  # a tie: argmax takes the first
    targets = torch.randint(0, 4, (10,), generator=g)
    targets[3] = 1
    targets[4] = int(logits[4].argmax())
    weights = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    hit = (logits.argmax(dim=1) == targets) & (weights != 0)
    save(out, "accuracy", {"logits": logits, "row_weights": weights,
                           "correct": float(hit.sum()), "counted": float((weights != 0).sum())},
         {"targets": targets})


def pool_case(out, directions):
    g = torch.Generator().manual_seed(6 + directions)
    steps, batch, inputs, hidden = 5, 4, 3, 4
    lengths = torch.tensor([5, 2, 4, 1])
    lstm = torch.nn.LSTM(inputs, hidden, num_layers=2, bidirectional=directions == 2)
    with torch.no_grad():
        for p in lstm.parameters():
            p.copy_(f32(0.5 * torch.randn(p.shape, generator=g)))
    x = f32(torch.randn(steps, batch, inputs, generator=g))
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
    y_packed, (h_n, _) = lstm(packed)
    y, _ = torch.nn.utils.rnn.pad_packed_sequence(y_packed, total_length=steps)
    y = y.detach()
    top = h_n[-directions:]                          # [D, N, H]
    last_torch = torch.cat(list(top), dim=1).detach()  # [N, D*H]
    # Both poolings written out in torch, for their gradients.
    y_var = y.clone().requires_grad_()
    rows = torch.arange(batch)
    parts = [y_var[lengths - 1, rows, :hidden]]
    if directions == 2:
        parts.append(y_var[0, rows, hidden:])
    last = torch.cat(parts, dim=1)
    mask = (torch.arange(steps)[:, None] < lengths[None, :]).double()[:, :, None]
    mean = (y_var * mask).sum(0) / lengths[:, None].double()
    coeff_last = f32(torch.randn(last.shape, generator=g))
    coeff_mean = f32(torch.randn(mean.shape, generator=g))
    (grad_last,) = torch.autograd.grad((last * coeff_last).sum(), y_var)
    (grad_mean,) = torch.autograd.grad((mean * coeff_mean).sum(), y_var)
    save(out, f"pool_d{directions}",
         {"output": y, "hn_top": last_torch, "last": last, "mean": mean,
          "grad_last": coeff_last, "grad_mean": coeff_mean,
          "grad_output_last": grad_last, "grad_output_mean": grad_mean,
          "hidden": float(hidden)},
         {"lengths": lengths})


OPTIMIZER_STEPS = 5


def optimizer_inputs(seed):
    g = torch.Generator().manual_seed(seed)
    shapes = {"a": (3, 4), "b": (5,)}
    start = {k: f32(torch.randn(s, generator=g)) for k, s in shapes.items()}
    grads = {k: f32(torch.randn((OPTIMIZER_STEPS,) + s, generator=g)) for k, s in shapes.items()}
    return start, grads


def optimizer_case(out, name, seed, make, buffers):
    """Steps an optimizer over fixed gradients; records the parameters after every step
    and the final per-parameter buffers."""
    start, grads = optimizer_inputs(seed)
    params = {k: torch.nn.Parameter(v.clone()) for k, v in start.items()}
    optimizer = make(list(params.values()))
    record = {f"start_{k}": v for k, v in start.items()}
    for k in params:
        record[f"grads_{k}"] = grads[k]
    trajectory = {k: [] for k in params}
    for step in range(OPTIMIZER_STEPS):
        for k, p in params.items():
            p.grad = grads[k][step].clone()
        optimizer.step()
        for k, p in params.items():
            trajectory[k].append(p.detach().clone())
    for k in params:
        record[f"trajectory_{k}"] = torch.stack(trajectory[k])
        for b in buffers:
            record[f"{b}_{k}"] = optimizer.state[params[k]][b]
    save(out, name, record)


def clip_case(out, name, max_norm):
    g = torch.Generator().manual_seed(21)
    grads = [f32(torch.randn(3, 4, generator=g)), f32(torch.randn(6, generator=g))]
    params = [torch.nn.Parameter(torch.zeros_like(x)) for x in grads]
    for p, x in zip(params, grads):
        p.grad = x.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    save(out, name, {"grad_a": grads[0], "grad_b": grads[1], "max_norm": max_norm,
                     "total_norm": total, "clipped_a": params[0].grad,
                     "clipped_b": params[1].grad})


def lr_case(out, name, initial, make, epochs, losses=None):
    p = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([p], lr=initial)
    scheduler = make(optimizer)
    rates = [optimizer.param_groups[0]["lr"]]
    for epoch in range(epochs):
        optimizer.step()
        if losses is None:
            scheduler.step()
        else:
            scheduler.step(float(losses[epoch]))
        rates.append(optimizer.param_groups[0]["lr"])
    record = {"initial": initial, "rates": np.array(rates)}
    if losses is not None:
        record["losses"] = np.array(losses, dtype=np.float64)
    save(out, name, record)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory for the .npz files")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    embedding_case(args.out)
    linear_case(args.out)
    cross_entropy_case(args.out)
    mse_case(args.out)
    accuracy_case(args.out)
    pool_case(args.out, 1)
    pool_case(args.out, 2)

    sgd, adam = torch.optim.SGD, torch.optim.Adam
    optimizer_case(args.out, "sgd_plain", 11, lambda p: sgd(p, lr=0.1), [])
    optimizer_case(args.out, "sgd_momentum", 12, lambda p: sgd(p, lr=0.1, momentum=0.9),
                   ["momentum_buffer"])
    optimizer_case(args.out, "sgd_nesterov", 13,
                   lambda p: sgd(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
                   ["momentum_buffer"])
    optimizer_case(args.out, "adam_default", 14, lambda p: adam(p, lr=0.01),
                   ["exp_avg", "exp_avg_sq"])
    optimizer_case(args.out, "adam_decay", 15,
                   lambda p: adam(p, lr=0.003, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
                   ["exp_avg", "exp_avg_sq"])

    clip_case(args.out, "clip_above", 1.5)   # the norm is about 4.4: scaled
    clip_case(args.out, "clip_below", 100.0)  # untouched

    sched = torch.optim.lr_scheduler
    lr_case(args.out, "lr_step", 0.1, lambda o: sched.StepLR(o, step_size=3, gamma=0.5), 10)
    lr_case(args.out, "lr_cosine", 0.1,
            lambda o: sched.CosineAnnealingLR(o, T_max=8, eta_min=0.001), 12)
    losses = [5.0, 4.0, 4.5, 3.9, 3.9, 3.95, 3.0, 3.2, 3.1, 2.9, 2.95, 2.99]
    # The word-language-model rule: divide by 4 whenever the loss does not improve.
    lr_case(args.out, "lr_plateau_wordlm", 20.0,
            lambda o: sched.ReduceLROnPlateau(o, factor=0.25, patience=0, threshold=0.0),
            len(losses), losses)
    lr_case(args.out, "lr_plateau_patience", 1.0,
            lambda o: sched.ReduceLROnPlateau(o, factor=0.5, patience=1, threshold=0.01,
                                              min_lr=0.3),
            len(losses), losses)
    print(f"wrote the training cases to {args.out}")


if __name__ == "__main__":
    main()
