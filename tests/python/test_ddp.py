"""DistributedDataParallel over gloo with 2 processes: both ranks end with the same
gradients, those of the whole batch (computed here by torch.nn in float64)."""
import os
import subprocess
import sys

import numpy as np
import torch
from torch import nn

from conftest import assert_close
from ddp_worker import Classifier, batch

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ddp_worker.py")


def test_ddp_two_ranks_agree_with_the_full_batch(tmp_path):
    init_file = tmp_path / "rendezvous"
    outs = [tmp_path / f"rank{r}.npz" for r in range(2)]
    env = dict(os.environ, OMP_WAIT_POLICY="passive", OMP_NUM_THREADS="1")
    workers = [subprocess.Popen([sys.executable, WORKER, str(r), "2", str(init_file), str(outs[r])],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for r in range(2)]
    for w in workers:
        output, _ = w.communicate(timeout=300)
        assert w.returncode == 0, output
    ranks = [dict(np.load(out)) for out in outs]
    assert sorted(ranks[0]) == sorted(ranks[1])
    for key in ranks[0]:
        assert np.array_equal(ranks[0][key], ranks[1][key]), f"{key} differs between the ranks"

    # The oracle: the same model on torch.nn with the parameters DDP broadcast, on the whole
    # batch. Each rank's loss is the mean over its half, DDP averages the two gradients:
    # the gradient of the mean over the whole batch.
    reference = Classifier(nn.LSTM(4, 6, num_layers=2, bidirectional=True)).double()
    reference.load_state_dict({k[len("param."):]: torch.from_numpy(v)
                               for k, v in ranks[0].items() if k.startswith("param.")})
    x, lengths, target = batch()
    nn.functional.cross_entropy(reference(x.double(), lengths), target).backward()
    for name, p in reference.named_parameters():
        assert_close(ranks[0]["grad." + name], p.grad, f"gradient of {name}")
