"""rnnwave.torch.LSTM in place of torch.nn.LSTM: the same weights give the same outputs
and gradients. The last step of scripts/run_demo.sh; run it with the Python that has the
package installed (.venv/bin/python, see docs/python.md)."""
import torch

import rnnwave.torch

torch.manual_seed(0)
reference = torch.nn.LSTM(64, 128, num_layers=2, bidirectional=True)
lstm = rnnwave.torch.LSTM(64, 128, num_layers=2, bidirectional=True)
lstm.load_state_dict(reference.state_dict())  # the same parameters, names and shapes

x = torch.randn(50, 16, 64, requires_grad=True)  # [T, N, I]
y, (h_n, c_n) = lstm(x)
y_ref, (h_ref, c_ref) = reference(x)
(grad,) = torch.autograd.grad((y * y).sum(), x)
(grad_ref,) = torch.autograd.grad((y_ref * y_ref).sum(), x)

print(f"== rnnwave.torch.LSTM vs torch.nn.LSTM: {lstm}")
print(f"output {tuple(y.shape)}: largest difference {(y - y_ref).abs().max().item():.1e} "
      f"(values up to {y_ref.abs().max().item():.2f})")
print(f"h_n, c_n {tuple(h_n.shape)}: largest difference "
      f"{max((h_n - h_ref).abs().max().item(), (c_n - c_ref).abs().max().item()):.1e}")
print(f"input gradient: largest difference {(grad - grad_ref).abs().max().item():.1e} "
      f"(values up to {grad_ref.abs().max().item():.2f})")
