#!/usr/bin/python3
"""The PyTorch twin of `rnnwave train`: the same model, initial parameters, data, batch order
and hyper-parameters, trained with torch (1.13, float32, CPU); prints the same per-epoch
metrics as JSON lines with "tool": "pytorch".

Inputs, both written by rnnwave for a fresh run:
  RUN_DIR      a run directory of `rnnwave train` (its config.json and initial.npz: the
               parameters before training, under the torch module's state_dict names);
  DATA.npz     the run's data from `rnnwave train ... --export-data DATA.npz`: every split
               and, for synthetic and digits, each epoch's order of training sequences and
               batch sizes (Trainer::export_data in include/rnnwave/train/trainer.h
               describes the arrays).

    rnnwave train --task synthetic --epochs 3 --out runs/syn --export-data runs/syn-data.npz
    /usr/bin/python3 bench/train/pytorch_train.py --run runs/syn --data runs/syn-data.npz \
        --threads 2

The models, as rnnwave's Trainer (src/train/sequence_model.h, language_model.h):
  synthetic, digits: y = rnn(x) on packed variable-length sequences; pooled = the state at
                     each sequence's end (last; the reverse direction's output at t = 0) or
                     the mean over its steps (mean); out = head(dropout(pooled)); loss MSE
                     (synthetic, one output) or cross-entropy (digits, 10 classes).
  wikitext2:         logits = head(dropout(rnn(dropout(embedding(x)), h))) with the state
                     carried across BPTT segments (detached), as pytorch/examples'
                     word_language_model (untied); cross-entropy per token; the validation
                     stream in 10 columns.
Optimizer, gradient-norm clipping and the learning-rate schedule (stepped after each epoch's
validation) are torch.optim's, from config.json. With dropout 0 the two runs compute the same
function on the same batches, so their losses agree to float32 rounding (checked: synthetic
and digits to about 1e-7 relative after 1-2 epochs; wikitext2 at lr 0.5 likewise). Rounding
differences grow with the step size: at wikitext2's default SGD rate of 20 the two runs
drift apart after some tens of batches (they agree over the first few).
With dropout the masks differ (rnnwave draws them from counters, torch from its
generator), so only the statistics agree.

With --ranks K (synthetic and digits), the twin trains as K processes under
torch.distributed's DistributedDataParallel over gloo, the peer of
`mpirun -np K rnnwave train --shards S`: rank r takes rows [r*n/K, (r+1)*n/K) of each
batch of n rows (rnnwave's shard_rows with S = K) and the gradient of its rows' summed loss
over n, so that DDP's all-reduce yields the batch's mean-loss gradient; every rank
evaluates, rank 0 prints. --threads is then per rank.

Each JSON line: tool, task, epoch, train_loss, valid_loss, valid_accuracy, valid_perplexity
(null where not defined), learning_rate, train_seconds, items_per_second (sequences/s, or
tokens/s for wikitext2), threads; and "rnnwave": that epoch's line of RUN_DIR/metrics.jsonl
when the run has trained it, for comparison.
"""
import argparse
import json
import math
import os
import sys
import time


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="run directory of rnnwave train")
    parser.add_argument("--data", required=True, help="the .npz of rnnwave train --export-data")
    parser.add_argument("--epochs", type=int, default=0,
                        help="epochs to train (default: the run's config.json)")
    parser.add_argument("--threads", type=int, default=0, help="threads; 0 (default) = all cores")
    parser.add_argument("--test", action="store_true",
                        help="after the last epoch, score the test split (as rnnwave eval)")
    parser.add_argument("--ranks", type=int, default=1,
                        help="processes under DistributedDataParallel (gloo); synthetic and "
                             "digits only; --threads is then per rank")
    parser.add_argument("--openblas-coretype", default="",
                        help="OpenBLAS's kernels (e.g. SkylakeX): for a CPU newer than the "
                             "OpenBLAS, which then falls back to its oldest (Prescott) kernels")
    return parser.parse_args(argv)


ARGS = parse_args(sys.argv[1:])
if ARGS.threads > 0:  # read by OpenMP and OpenBLAS when torch is imported
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(ARGS.threads)
# As bench/peers/pytorch_rnn.py: idle OpenMP threads must not spin against OpenBLAS's, and
# an inherited OPENBLAS_CORETYPE would force OpenBLAS onto older kernels than the CPU has.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.pop("OPENBLAS_CORETYPE", None)
if ARGS.openblas_coretype:
    os.environ["OPENBLAS_CORETYPE"] = ARGS.openblas_coretype

import ctypes  # noqa: E402

# glibc malloc returns each large freed block to the system, so the logits of every BPTT
# segment ([T*N, V], 93 MB at T=35, N=20, V=33,278) would be page-faulted in again each
# time; keep freed memory in the process, as the pooling allocators of CPU deployments do
# (bench/peers/pytorch_rnn.py does the same through the environment).
try:
    _libc = ctypes.CDLL("libc.so.6")
    _libc.mallopt(-1, 1 << 34)  # M_TRIM_THRESHOLD
    _libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
except OSError:
    pass

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

TASKS = ("synthetic", "digits", "wikitext2")  # the ids of the export's "task" array
EVAL_COLUMNS = 10  # wikitext2 validation, as pytorch/examples' eval_batch_size


def make_rnn(config, input_size):
    cell = config["cell"]
    kwargs = dict(input_size=input_size, hidden_size=config["hidden_size"],
                  num_layers=config["layers"], bidirectional=config["bidirectional"],
                  dropout=config["dropout"] if config["layers"] > 1 else 0.0)
    if cell == "lstm":
        return nn.LSTM(**kwargs)
    if cell == "gru":
        return nn.GRU(**kwargs)
    return nn.RNN(nonlinearity="tanh" if cell == "rnn_tanh" else "relu", **kwargs)


class SequenceModel(nn.Module):
    """rnn -> pooling -> dropout -> head, for synthetic (1 output) and digits (10)."""

    def __init__(self, config, input_size, outputs):
        super().__init__()
        self.hidden = config["hidden_size"]
        self.directions = 2 if config["bidirectional"] else 1
        self.pooling = config["pooling"]
        self.rnn = make_rnn(config, input_size)
        self.drop = nn.Dropout(config["dropout"])
        self.head = nn.Linear(self.directions * self.hidden, outputs)

    def forward(self, x, lengths):
        """x [T, N, I] padded, lengths int64 [N] -> [N, outputs]."""
        steps, batch = x.shape[0], x.shape[1]
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        y, _ = pad_packed_sequence(self.rnn(packed)[0], total_length=steps)  # zeros past ends
        if self.pooling == "last":
            rows = torch.arange(batch)
            parts = [y[lengths - 1, rows, :self.hidden]]
            if self.directions == 2:
                parts.append(y[0, :, self.hidden:])
            pooled = torch.cat(parts, 1)
        else:
            pooled = y.sum(0) / lengths.to(y.dtype).unsqueeze(1)
        return self.head(self.drop(pooled))


class LanguageModel(nn.Module):
    """embedding -> dropout -> rnn -> dropout -> head, pytorch/examples' RNNModel (untied)."""

    def __init__(self, config, vocab_size):
        super().__init__()
        embedding_size = config["embedding_size"] or config["hidden_size"]
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.drop = nn.Dropout(config["dropout"])
        self.rnn = make_rnn(config, embedding_size)
        self.head = nn.Linear(config["hidden_size"], vocab_size)

    def forward(self, ids, state):
        y, state = self.rnn(self.drop(self.embedding(ids)), state)
        return self.head(self.drop(y)), state


def detach(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


# ---- data ------------------------------------------------------------------------------


class SequenceSplit:
    """Sequences one after another (features [sum of lengths, F]) with lengths and targets."""

    def __init__(self, data, split):
        self.features = torch.from_numpy(data[f"{split}_features"])
        self.lengths = data[f"{split}_lengths"].astype(np.int64)
        self.targets = torch.from_numpy(data[f"{split}_targets"])
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])

    def __len__(self):
        return len(self.lengths)

    def batch(self, indices):
        """x [T, n, F] zero-padded to the longest, lengths [n], targets [n]."""
        lengths = self.lengths[indices]
        steps = int(lengths.max())
        x = torch.zeros(steps, len(indices), self.features.shape[1])
        for j, i in enumerate(indices):
            x[:lengths[j], j] = self.features[self.starts[i]:self.starts[i] + lengths[j]]
        return x, torch.from_numpy(lengths), self.targets[torch.from_numpy(np.asarray(indices))]


def batchify(ids, batch):
    rows = len(ids) // batch
    return torch.from_numpy(ids[:rows * batch]).view(batch, rows).t().contiguous()


def segments(data, bptt):
    for i in range(0, data.shape[0] - 1, bptt):
        steps = min(bptt, data.shape[0] - 1 - i)
        yield data[i:i + steps], data[i + 1:i + 1 + steps]


# ---- training --------------------------------------------------------------------------


def make_optimizer(config, params):
    o = config["optimizer"]
    if o["kind"] == "sgd":
        return torch.optim.SGD(params, lr=o["learning_rate"], momentum=o["momentum"],
                               weight_decay=o["weight_decay"], nesterov=o["nesterov"])
    return torch.optim.Adam(params, lr=o["learning_rate"], betas=(o["beta1"], o["beta2"]),
                            eps=o["eps"], weight_decay=o["weight_decay"])


def make_schedule(config, optimizer):
    s = config["lr_schedule"]
    if s["kind"] == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=s["every"], gamma=s["factor"])
    if s["kind"] == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=s["factor"], patience=s["patience"],
            threshold=s["threshold"], threshold_mode="rel", cooldown=0, min_lr=s["minimum"])
    if s["kind"] == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=s["period"],
                                                          eta_min=s["minimum"])
    return None


class SequenceTask:
    """synthetic or digits: batches of whole sequences, in the exported order."""

    def __init__(self, config, data):
        self.config, self.data = config, data
        self.regression = config["task"] == "synthetic"
        self.train, self.valid = SequenceSplit(data, "train"), SequenceSplit(data, "valid")
        features = self.train.features.shape[1]
        self.model = SequenceModel(config, features, 1 if self.regression else 10)

    def loss(self, out, targets):
        if self.regression:
            return nn.functional.mse_loss(out.squeeze(1), targets)
        return nn.functional.cross_entropy(out, targets)

    def epoch_batches(self, epoch):
        order = self.data[f"epoch{epoch}_order"]
        sizes = self.data[f"epoch{epoch}_batch_sizes"]
        first = 0
        for size in sizes:
            yield order[first:first + size]
            first += size

    def train_epoch(self, epoch, step):
        losses, items = [], 0
        self.model.train()
        for indices in self.epoch_batches(epoch):
            if RANKS == 1:
                x, lengths, targets = self.train.batch(indices)
                loss = self.loss(self.model(x, lengths), targets)
                step(loss)
                losses.append(loss.item())
            else:
                losses.append(self.train_shard(indices, step))
            items += len(indices)
        return sum(losses) / len(losses), items

    def train_shard(self, indices, step):
        """This rank's rows of the batch; returns the batch's mean loss (all ranks')."""
        rank, n = torch.distributed.get_rank(), len(indices)
        rows = indices[rank * n // RANKS:(rank + 1) * n // RANKS]
        x, lengths, targets = self.train.batch(rows)
        total = self.loss_sum(self.model(x, lengths), targets)
        # DDP averages the ranks' gradients: K * (rows' sum / n) averaged over K ranks is
        # the gradient of the batch's mean loss.
        step(total * (RANKS / n))
        total = total.detach().double().reshape(1)
        torch.distributed.all_reduce(total)
        return float(total) / n

    def loss_sum(self, out, targets):
        if self.regression:
            return nn.functional.mse_loss(out.squeeze(1), targets, reduction="sum")
        return nn.functional.cross_entropy(out, targets, reduction="sum")

    @torch.no_grad()
    def evaluate(self, split="valid"):
        self.model.eval()
        data = self.valid if split == "valid" else SequenceSplit(self.data, split)
        total, correct, count = 0.0, 0, len(data)
        batch = self.config["batch_size"]
        for first in range(0, count, batch):
            indices = np.arange(first, min(first + batch, count))
            x, lengths, targets = data.batch(indices)
            out = self.model(x, lengths)
            if self.regression:
                error = out.squeeze(1).double() - targets.double()
                total += float((error * error).sum())
                correct += int((error.abs() < 0.04).sum())
            else:
                total += float(nn.functional.cross_entropy(out, targets, reduction="sum"))
                correct += int((out.argmax(1) == targets).sum())
        return total / count, correct / count, math.nan


class LanguageTask:
    """wikitext2: truncated BPTT over the batchified stream, the state carried across."""

    def __init__(self, config, data):
        self.config = config
        self.train = batchify(data["train_ids"], config["batch_size"])
        self.valid = batchify(data["valid_ids"], EVAL_COLUMNS)
        self.test = batchify(data["test_ids"], EVAL_COLUMNS)
        self.model = LanguageModel(config, int(data["vocab_size"][0]))

    def run(self, data, step=None):
        """Mean loss per batch (training) or per token (evaluation), tokens seen."""
        state, losses, total, tokens = None, [], 0.0, 0
        vocab = self.model.head.out_features
        for inputs, targets in segments(data, self.config["bptt"]):
            logits, state = self.model(inputs, detach(state))
            loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))
            if step is not None:
                step(loss)
            losses.append(loss.item())
            total += loss.item() * targets.numel()
            tokens += targets.numel()
        return (sum(losses) / len(losses) if step is not None else total / tokens), tokens

    def train_epoch(self, epoch, step):
        self.model.train()
        return self.run(self.train, step)

    @torch.no_grad()
    def evaluate(self, split="valid"):
        self.model.eval()
        loss, _ = self.run(self.valid if split == "valid" else self.test)
        return loss, math.nan, math.exp(loss)


def number(value):
    return None if value is None or not math.isfinite(value) else value


RANKS = ARGS.ranks


def main():
    if RANKS < 1:
        sys.exit(f"pytorch_train.py: --ranks must be at least 1, got {RANKS}")
    if RANKS == 1:
        train(0)
        return
    import shutil
    import tempfile
    import torch.multiprocessing
    # The ranks meet at a file of their own: a TCP port probed free and then handed to the
    # ranks could be taken by another process in between (one CI run hung at the meeting).
    meeting = tempfile.mkdtemp(prefix="pytorch-train-ranks-")
    try:
        torch.multiprocessing.spawn(train, args=("file://" + os.path.join(meeting, "rendezvous"),),
                                    nprocs=RANKS, join=True)
    finally:
        shutil.rmtree(meeting, ignore_errors=True)


def train(rank, init_method=None):
    if ARGS.threads > 0:
        torch.set_num_threads(ARGS.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)  # dropout masks only; the parameters come from initial.npz
    if RANKS > 1:
        torch.distributed.init_process_group("gloo", init_method=init_method, rank=rank,
                                             world_size=RANKS)
    with open(os.path.join(ARGS.run, "config.json")) as f:
        config = json.load(f)
    data = dict(np.load(ARGS.data))
    task = TASKS[int(data["task"][0])]
    if task != config["task"]:
        sys.exit(f"pytorch_train.py: {ARGS.data} holds {task} data, {ARGS.run} is a "
                 f"{config['task']} run")
    if task == "wikitext2" and RANKS > 1:
        sys.exit("pytorch_train.py: --ranks applies to synthetic and digits only")
    runner = LanguageTask(config, data) if task == "wikitext2" else SequenceTask(config, data)
    with np.load(os.path.join(ARGS.run, "initial.npz")) as initial:
        runner.model.load_state_dict({k: torch.from_numpy(initial[k]) for k in initial.files},
                                     strict=True)
    trained = runner.model
    if RANKS > 1:
        # Parameters stay those of runner.model (DDP wraps it, it does not copy them).
        trained = torch.nn.parallel.DistributedDataParallel(runner.model)
        runner.model = trained
    rnnwave_metrics = {}
    metrics_path = os.path.join(ARGS.run, "metrics.jsonl")
    if os.path.exists(metrics_path):
        with open(metrics_path) as f:
            for line in f:
                m = json.loads(line)
                rnnwave_metrics[m["epoch"]] = m

    params = list(trained.parameters())
    optimizer = make_optimizer(config, params)
    schedule = make_schedule(config, optimizer)
    clip = config["clip_norm"]

    def step(loss):
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()

    epochs = ARGS.epochs or config["epochs"]
    for epoch in range(1, epochs + 1):
        rate = optimizer.param_groups[0]["lr"]
        start = time.perf_counter()
        train_loss, items = runner.train_epoch(epoch, step)
        seconds = time.perf_counter() - start
        valid_loss, accuracy, perplexity = runner.evaluate()
        if isinstance(schedule, torch.optim.lr_scheduler.ReduceLROnPlateau):
            schedule.step(valid_loss)
        elif schedule is not None:
            schedule.step()
        line = {"tool": "pytorch", "task": task, "epoch": epoch, "train_loss": train_loss,
                "valid_loss": valid_loss, "valid_accuracy": number(accuracy),
                "valid_perplexity": number(perplexity), "learning_rate": rate,
                "train_seconds": seconds, "items_per_second": items / seconds,
                "threads": torch.get_num_threads(), "ranks": RANKS}
        if epoch in rnnwave_metrics:
            line["rnnwave"] = rnnwave_metrics[epoch]
        if rank == 0:
            print(json.dumps(line), flush=True)
    if ARGS.test and rank == 0:
        start = time.perf_counter()
        loss, accuracy, perplexity = runner.evaluate("test")
        print(json.dumps({"tool": "pytorch", "task": task, "split": "test", "epochs": epochs,
                          "loss": loss, "accuracy": number(accuracy),
                          "perplexity": number(perplexity),
                          "seconds": time.perf_counter() - start}), flush=True)
    if RANKS > 1:
        # The ranks leave the group together: a rank that exited with it still open was
        # seen to abort in gloo's teardown ("terminate called without an active exception").
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
