"""Paged MLA attention against dense references."""

from __future__ import annotations

import torch

from kernels.mla_decode import SharedPrefix, mla_decode_cascade_reference, mla_decode_reference
from serving.attention import mla_prefill


def _dense_absorbed(q_latent, q_pe, c_kv, k_pe, scale):
    scores = (torch.einsum("hr,tr->ht", q_latent, c_kv) + torch.einsum("hd,td->ht", q_pe, k_pe)) * scale
    return torch.softmax(scores, -1) @ c_kv


def test_paged_decode_matches_dense_attention_per_sequence():
    torch.manual_seed(0)
    heads, r, dr, block_size, num_blocks = 3, 8, 4, 4, 16
    cache = torch.randn(num_blocks, block_size, r + dr, dtype=torch.float64)
    seq_lens = [1, 7, 13]
    perm = torch.randperm(num_blocks).tolist()  # blocks scattered through the pool
    tables, used = [], 0
    for n in seq_lens:
        k = -(-n // block_size)
        tables.append(perm[used : used + k])
        used += k
    block_table = torch.zeros(len(seq_lens), max(map(len, tables)), dtype=torch.int32)
    for i, t in enumerate(tables):
        block_table[i, : len(t)] = torch.tensor(t, dtype=torch.int32)
    q_latent = torch.randn(len(seq_lens), heads, r, dtype=torch.float64)
    q_pe = torch.randn(len(seq_lens), heads, dr, dtype=torch.float64)
    out = mla_decode_reference(q_latent, q_pe, cache, block_table, torch.tensor(seq_lens, dtype=torch.int32), 0.3)
    for i, n in enumerate(seq_lens):
        rows = cache[torch.tensor(tables[i])].reshape(-1, r + dr)[:n]
        expected = _dense_absorbed(q_latent[i], q_pe[i], rows[:, :r], rows[:, r:], 0.3)
        assert torch.allclose(out[i], expected, atol=1e-12)


def test_prefill_decompressed_equals_absorbed_with_causal_offset():
    torch.manual_seed(1)
    heads, r, dr, dn, dv, ctx, new = 2, 8, 4, 5, 6, 9, 4
    w_uk = torch.randn(heads, dn, r, dtype=torch.float64)
    w_uv = torch.randn(heads, dv, r, dtype=torch.float64)
    rows = torch.randn(ctx, r + dr, dtype=torch.float64)
    q_nope = torch.randn(new, heads, dn, dtype=torch.float64)
    q_pe = torch.randn(new, heads, dr, dtype=torch.float64)
    out = mla_prefill(q_nope, q_pe, rows, w_uk, w_uv, 0.5)
    for j in range(new):
        visible = rows[: ctx - new + j + 1]  # query j sits at position ctx-new+j
        q_latent = torch.einsum("hd,hdr->hr", q_nope[j], w_uk)
        out_latent = _dense_absorbed(q_latent, q_pe[j], visible[:, :r], visible[:, r:], 0.5)
        expected = torch.einsum("hr,hvr->hv", out_latent, w_uv)
        assert torch.allclose(out[j], expected, atol=1e-10)


def test_prefill_of_a_whole_prompt_in_float32_matches_the_absorbed_reference():
    """No cached prefix (the fused kernel's causal case) and unequal key/value head sizes."""
    torch.manual_seed(4)
    heads, r, dr, dn, dv, ctx = 4, 16, 8, 12, 6, 33
    w_uk, w_uv = torch.randn(heads, dn, r) * 0.3, torch.randn(heads, dv, r) * 0.3
    rows = torch.randn(ctx, r + dr)
    q_nope, q_pe = torch.randn(ctx, heads, dn), torch.randn(ctx, heads, dr)
    out = mla_prefill(q_nope, q_pe, rows, w_uk, w_uv, 0.2)
    assert out.shape == (ctx, heads, dv) and out.dtype == torch.float32
    for j in range(ctx):
        visible = rows[: j + 1]
        q_latent = torch.einsum("hd,hdr->hr", q_nope[j], w_uk)
        out_latent = _dense_absorbed(q_latent, q_pe[j], visible[:, :r], visible[:, r:], 0.2)
        assert torch.allclose(out[j], torch.einsum("hr,hvr->hv", out_latent, w_uv), atol=1e-5)


def test_batched_twin_agrees_with_a_per_sequence_decode_and_zeroes_idle_slots():
    torch.manual_seed(2)
    cache = torch.randn(10, 4, 12, dtype=torch.float64)
    block_table = torch.tensor([[3, 7, 1], [0, 0, 0], [9, 2, 0], [4, 0, 0]], dtype=torch.int32)
    seq_lens = torch.tensor([11, 2, 5, 0], dtype=torch.int32)
    q_latent, q_pe = torch.randn(4, 2, 8, dtype=torch.float64), torch.randn(4, 2, 4, dtype=torch.float64)
    ours = mla_decode_reference(q_latent, q_pe, cache, block_table, seq_lens, 0.25)
    for b in range(3):
        n = int(seq_lens[b])
        rows = cache[block_table[b].long()].reshape(-1, 12)[:n]
        expected = _dense_absorbed(q_latent[b], q_pe[b], rows[:, :8], rows[:, 8:], 0.25)
        assert torch.allclose(ours[b], expected, atol=1e-12)
    assert torch.equal(ours[3], torch.zeros_like(ours[3]))


def test_shared_prefix_decode_equals_plain_paged_decode():
    torch.manual_seed(3)
    r, dr, bs = 8, 4, 4
    cache = torch.randn(20, bs, r + dr, dtype=torch.float64)
    # rows 0-2: three samples sharing blocks [5, 6]; row 3 alone; row 4 shares [5] with nobody grouped
    tables = [[5, 6, 1], [5, 6, 2, 9], [5, 6, 3], [7, 8], [5, 11]]
    lens = [10, 15, 9, 6, 5]
    full = torch.zeros(5, 4, dtype=torch.int32)
    for i, t in enumerate(tables):
        full[i, : len(t)] = torch.tensor(t, dtype=torch.int32)
    q_latent, q_pe = torch.randn(5, 2, r, dtype=torch.float64), torch.randn(5, 2, dr, dtype=torch.float64)
    expected = mla_decode_reference(q_latent, q_pe, cache, full, torch.tensor(lens, dtype=torch.int32), 0.3)
    shared = [2, 2, 2, 0, 0]
    suffix = torch.zeros(5, 4, dtype=torch.long)
    for i, t in enumerate(tables):
        suffix[i, : len(t) - shared[i]] = torch.tensor(t[shared[i] :])
    groups = [SharedPrefix(members=torch.tensor([0, 1, 2]), block_ids=torch.tensor([5, 6]))]
    suffix_lens = torch.tensor([n - s * bs for n, s in zip(lens, shared)])
    out = mla_decode_cascade_reference(q_latent, q_pe, cache, groups, suffix, suffix_lens, 0.3)
    assert torch.allclose(out, expected, atol=1e-12)

