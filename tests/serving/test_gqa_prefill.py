"""gqa_prefill (scaled_dot_product_attention with an offset causal mask and grouped key heads)
against attention written out plainly: each query head over its key/value head, query i of the
Q new tokens seeing keys 0..T-Q+i."""
from __future__ import annotations

import pytest
import torch

from serving.attention import gqa_prefill


def plain_prefill(q, keys, values, scale):
    num_new, heads, _ = q.shape
    num_ctx, kv_heads = keys.shape[:2]
    out = torch.empty(q.shape, dtype=torch.float64)
    for h in range(heads):
        g = h // (heads // kv_heads)
        for i in range(num_new):
            seen = num_ctx - num_new + i + 1
            scores = keys[:seen, g].double() @ q[i, h].double() * scale
            out[i, h] = torch.softmax(scores, dim=0) @ values[:seen, g].double()
    return out


@pytest.mark.parametrize(
    "num_new, num_ctx, heads, kv_heads",
    [
        (7, 7, 8, 2),  # a whole prompt (is_causal)
        (5, 19, 8, 2),  # a chunk after a cached prefix (offset mask)
        (1, 12, 6, 3),  # one token (recompute tail)
        (9, 9, 4, 4),  # MHA
        (4, 30, 16, 1),  # MQA
    ],
)
def test_gqa_prefill_matches_plain_attention(num_new, num_ctx, heads, kv_heads):
    g = torch.Generator().manual_seed(num_new * 100 + num_ctx)
    q = torch.randn(num_new, heads, 16, generator=g)
    keys = torch.randn(num_ctx, kv_heads, 16, generator=g)
    values = torch.randn(num_ctx, kv_heads, 16, generator=g)
    got = gqa_prefill(q, keys, values, 0.3)
    assert got.shape == q.shape and got.dtype == q.dtype
    torch.testing.assert_close(got.double(), plain_prefill(q, keys, values, 0.3), atol=1e-5, rtol=1e-5)


def test_gqa_prefill_half_inputs_attend_in_float32():
    g = torch.Generator().manual_seed(5)
    q, keys, values = (torch.randn(n, h, 16, generator=g) for n, h in ((6, 4), (10, 2), (10, 2)))
    got = gqa_prefill(q.bfloat16(), keys.bfloat16(), values.bfloat16(), 0.25)
    want = plain_prefill(q.bfloat16().float(), keys.bfloat16().float(), values.bfloat16().float(), 0.25)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.double(), want, atol=2e-2, rtol=2e-2)
