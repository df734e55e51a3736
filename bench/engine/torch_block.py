"""PyTorch side of bench/engine: forward + backward of one ViT-B residual attention block.

Same shapes and math as our graph (pre-LN block, nn.MultiheadAttention, QuickGELU MLP),
loss = mean square of the output, gradients of all 12 parameters. Prints median ms per step.
"""
import json, sys, time
import torch
from torch import nn

width, heads, tokens, batch, iters = (int(a) for a in sys.argv[1:6])
threads = int(sys.argv[6]) if len(sys.argv) > 6 else torch.get_num_threads()
torch.set_num_threads(threads)
torch.manual_seed(0)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, h, batch_first=True)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), QuickGELU(), nn.Linear(4 * d, d))
        self.ln_2 = nn.LayerNorm(d)

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


block = Block(width, heads)
x = torch.randn(batch, tokens, width)
times = []
for i in range(iters + 2):
    t0 = time.perf_counter()
    block.zero_grad(set_to_none=True)
    loss = block(x).pow(2).mean()
    loss.backward()
    if i >= 2:
        times.append(time.perf_counter() - t0)
times.sort()
print(json.dumps({"median_ms": 1000 * times[len(times) // 2], "threads": threads, "torch": torch.__version__,
                  "params": sum(p.numel() for p in block.parameters())}))
