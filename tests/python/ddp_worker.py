"""One rank of test_ddp.py: a bidirectional rnnwave.torch.LSTM classifier wrapped in
DistributedDataParallel (gloo, CPU), one training step on its half of a batch. Writes the
parameters DDP synchronised and every gradient after the all-reduce to an .npz.

    python ddp_worker.py RANK WORLD_SIZE INIT_FILE OUT.npz
"""
import os
import sys

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

import rnnwave
import rnnwave.torch as rt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_training import Classifier  # noqa: E402

BATCH, STEPS, FEATURES = 8, 7, 4


def batch():
    """The whole batch (every rank draws the same one and takes its share)."""
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(STEPS, BATCH, FEATURES, generator=generator)
    lengths = torch.randint(1, STEPS + 1, (BATCH,), generator=generator)
    lengths[0] = lengths[BATCH // 2] = STEPS
    target = torch.randint(0, 3, (BATCH,), generator=generator)
    return x, lengths, target


def main():
    rank, world, init_file, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    torch.set_num_threads(1)
    rnnwave.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world)
    # Different initial weights on each rank: DDP broadcasts rank 0's at construction.
    torch.manual_seed(100 + rank)
    model = Classifier(rt.LSTM(FEATURES, 6, num_layers=2, bidirectional=True))
    x, lengths, target = batch()
    share = slice(rank * BATCH // world, (rank + 1) * BATCH // world)
    with torch.no_grad():  # packs this rank's own weights: the broadcast must replace them
        model(x[:, share], lengths[share])
    ddp = DistributedDataParallel(model)
    loss = nn.functional.cross_entropy(ddp(x[:, share], lengths[share]), target[share])
    loss.backward()
    arrays = {}
    for name, p in model.named_parameters():
        arrays["param." + name] = p.detach().numpy()
        arrays["grad." + name] = p.grad.numpy()
    np.savez(out, **arrays)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
