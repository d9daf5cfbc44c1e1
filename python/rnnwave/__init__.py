"""rnnwave: task-parallel recurrent neural networks (RNN, LSTM, GRU) on multi-core CPUs.

    import rnnwave                       # numpy only; torch is not imported
    lstm = rnnwave.LSTM(40, 128, num_layers=2, bidirectional=True)
    y, (h_n, c_n) = lstm.forward(x)      # x: float32 [T, N, I]

    import rnnwave.torch                 # drop-in torch.nn.LSTM / GRU / RNN
    model = rnnwave.torch.convert(model)

docs/python.md in the source tree describes the API and where it differs from torch.nn.
"""
from rnnwave._core import ModelSpec, cell_kinds, default_data_dir, schedules
from rnnwave._engine import get_num_threads, set_num_threads
from rnnwave.modules import GRU, LSTM, RNN

__version__ = "0.1.0"
__all__ = ["LSTM", "GRU", "RNN", "ModelSpec", "cell_kinds", "schedules", "set_num_threads",
           "get_num_threads", "default_data_dir"]
