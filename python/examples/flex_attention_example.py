"""Copy me: FlexAttention with your own score_mod and mask, compiled by Attn.

    pip install ./python            # from an Attn checkout (built)
    python3 python/examples/flex_attention_example.py

The score_mod below (tanh soft-capping plus an ALiBi bias read from a
captured tensor) and the causal mask are traced once into a compiled GPU
kernel; nothing runs in Python per element. The result is checked against
PyTorch in float64.
"""
import math

import attn

HEADS, HEAD_DIM = 8, 128


def my_attention(q, k, v, slopes):
    """q, k, v: [batch, heads, seq, head_dim]; slopes: [heads]."""
    def softcap_alibi(score, b, h, q_idx, kv_idx):
        capped = 30.0 * attn.tanh(score / 30.0)  # torch.tanh works too
        return capped - slopes[h] * abs(q_idx - kv_idx)

    def causal(b, h, q_idx, kv_idx):
        return kv_idx <= q_idx

    seq = q.shape[2]
    mask = attn.create_block_mask(causal, None, None, seq, seq)
    return attn.flex_attention(q, k, v, score_mod=softcap_alibi, block_mask=mask)


def main():
    import torch
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, HEADS, 1024, HEAD_DIM, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    slopes = torch.exp2(-8.0 * torch.arange(1, HEADS + 1, device="cuda") / HEADS)
    out = my_attention(q, k, v, slopes)

    # The same math in float64 PyTorch.
    s = (q.double() @ k.double().transpose(-1, -2)) / math.sqrt(HEAD_DIM)
    i = torch.arange(1024, device="cuda")[:, None]
    j = torch.arange(1024, device="cuda")[None, :]
    s = 30.0 * torch.tanh(s / 30.0) - slopes.double()[:, None, None] * (i - j).abs()
    s = s.masked_fill(j > i, float("-inf"))
    ref = torch.softmax(s, -1) @ v.double()
    rel = ((out.double() - ref).norm() / ref.norm()).item()
    print(f"attn.flex_attention vs float64 PyTorch: relative error {rel:.2e}")
    assert rel < 1e-2


if __name__ == "__main__":
    main()
