"""A plain PyTorch program: the spoken-digit classifier of `rnnwave train --task digits`
(a bidirectional 2 x 128 LSTM over 40 log-mel features, mean-pooled, dropout 0.2, a linear
head; Adam at 1e-3, gradient norm clipped at 5, batches of 32), trained with torch.optim.
`--rnn` switches only the recurrent module: rnnwave.torch.LSTM or torch.nn.LSTM, from the
same initial parameters. The features are rnnwave's own (rnnwave.data.load_fsdd), for both.

Prints one JSON line per epoch: the training loss, the test accuracy and the seconds the
epoch's training took (evaluation not included).

    .venv/bin/python examples/digits_torch.py --rnn rnnwave --epochs 5 --threads 2
    .venv/bin/python examples/digits_torch.py --rnn torch --epochs 5 --threads 2

The data set is looked for in $RNNWAVE_DATA_DIR/fsdd (or the data folder beside the source
tree); --data-dir names another folder holding recordings/.
"""
import argparse
import json
import math
import os
import sys
import time


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rnn", choices=("rnnwave", "torch"), required=True)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="threads; 0 (default) = all cores")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", help="the FSDD folder (holding recordings/)")
    parser.add_argument("--max-train", type=int, default=0, help="use only this many (0 = all)")
    parser.add_argument("--max-test", type=int, default=0, help="use only this many (0 = all)")
    return parser.parse_args(argv)


ARGS = parse_args(sys.argv[1:])
if ARGS.threads > 0:  # read by OpenMP and OpenBLAS when torch is imported
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

import rnnwave  # noqa: E402
import rnnwave.data  # noqa: E402
import rnnwave.torch  # noqa: E402


class DigitClassifier(nn.Module):
    def __init__(self, rnn_class, features=40, hidden=128, dropout=0.2):
        super().__init__()
        self.rnn = rnn_class(features, hidden, num_layers=2, bidirectional=True, dropout=dropout)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden, 10)

    def forward(self, x, lengths):
        """x [T, N, F] zero-padded, lengths [N] -> logits [N, 10]."""
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        y, _ = pad_packed_sequence(self.rnn(packed)[0], total_length=x.shape[0])
        pooled = y.sum(0) / lengths.unsqueeze(1).to(y.dtype)  # the mean over each sequence
        return self.head(self.drop(pooled))


def batches(items, batch_size, order):
    """(x [T, n, F] padded, lengths [n], labels [n]) in the given order."""
    for first in range(0, len(order), batch_size):
        chosen = [items[i] for i in order[first:first + batch_size]]
        lengths = torch.tensor([len(item["features"]) for item in chosen])
        x = torch.zeros(int(lengths.max()), len(chosen), chosen[0]["features"].shape[1])
        for j, item in enumerate(chosen):
            x[:lengths[j], j] = torch.from_numpy(item["features"])
        yield x, lengths, torch.tensor([item["label"] for item in chosen])


def evaluate(model, items, batch_size):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, lengths, labels in batches(items, batch_size, list(range(len(items)))):
            correct += int((model(x, lengths).argmax(1) == labels).sum())
    return correct / len(items)


def main():
    if ARGS.threads > 0:
        torch.set_num_threads(ARGS.threads)
        rnnwave.set_num_threads(ARGS.threads)
    torch.set_num_interop_threads(1)
    splits = rnnwave.data.load_fsdd(ARGS.data_dir)
    train, test = splits["train"], splits["test"]
    if ARGS.max_train:
        train = train[:ARGS.max_train]
    if ARGS.max_test:
        test = test[:ARGS.max_test]
    torch.manual_seed(ARGS.seed)  # the same initial parameters and batch order for both
    rnn_class = rnnwave.torch.LSTM if ARGS.rnn == "rnnwave" else nn.LSTM
    model = DigitClassifier(rnn_class)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(ARGS.seed)
    for epoch in range(1, ARGS.epochs + 1):
        model.train()
        order = torch.randperm(len(train), generator=generator).tolist()
        losses = []
        start = time.perf_counter()
        for x, lengths, labels in batches(train, ARGS.batch_size, order):
            loss = nn.functional.cross_entropy(model(x, lengths), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            losses.append(loss.item())
        seconds = time.perf_counter() - start
        accuracy = evaluate(model, test, ARGS.batch_size)
        print(json.dumps({"rnn": ARGS.rnn, "epoch": epoch, "train_loss": sum(losses) / len(losses),
                          "test_accuracy": accuracy, "train_seconds": seconds,
                          "train_sequences": len(train), "test_sequences": len(test),
                          "threads": torch.get_num_threads(),
                          "rnnwave_threads": rnnwave.get_num_threads()}), flush=True)
        if not math.isfinite(losses[-1]):
            sys.exit("digits_torch.py: the loss is not finite")


if __name__ == "__main__":
    main()
