"""The float64 torch reference the GPU cases compare with."""
import math


def ref_attention(env, q, k, v, keep=None, score=None, scale=None, zero_rows=None):
    """float64 torch reference on [B, H, S, D] tensors (GQA by repeat)."""
    torch = env.torch
    q, k, v = q.double(), k.double(), v.double()
    g = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(g, 1), v.repeat_interleave(g, 1)
    s = (q @ k.transpose(-1, -2)) * (scale if scale is not None else 1 / math.sqrt(q.shape[-1]))
    i = torch.arange(q.shape[2], device=q.device)[:, None]
    j = torch.arange(k.shape[2], device=q.device)[None, :]
    h = torch.arange(q.shape[1], device=q.device)[:, None, None]
    if score is not None:
        s = score(s, h, i, j)
    if keep is not None:
        s = s.masked_fill(~keep(h, i, j), float("-inf"))
    lse = torch.logsumexp(s, -1)
    out = torch.softmax(s, -1).nan_to_num(0.0) @ v
    return out, lse


def rope_llama(env, x, positions, theta=1e4, scale=1.0):
    """FlashInfer's ROPE_LLAMA on x [B, H, S, D] (float64) at positions [S]:
    dims d and d + D/2 turn by pos * (1 / scale) * (1 / theta)^(2d / D)."""
    torch = env.torch
    x = x.double()
    d = x.shape[-1]
    freq = (1.0 / scale) * (1.0 / theta) ** (
        2.0 * torch.arange(d // 2, device=x.device, dtype=torch.float64) / d)
    ang = positions.double()[:, None] * freq[None, :]
    lo, hi = x[..., :d // 2], x[..., d // 2:]
    return torch.cat([lo * ang.cos() - hi * ang.sin(), hi * ang.cos() + lo * ang.sin()], -1)
