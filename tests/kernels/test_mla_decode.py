from __future__ import annotations

import math

import pytest
import torch

from kernels.mla_decode import mla_decode, mla_decode_reference


def make_case(rng, seq_lens, heads, rank=32, rope_dim=16, block_size=8, spare_blocks=3, device="cpu"):
    """Random queries and a paged cache whose blocks are scattered in a shuffled pool."""
    batch = len(seq_lens)
    max_blocks = max(1, max(math.ceil(n / block_size) for n in seq_lens)) + 1
    num_blocks = batch * max_blocks + spare_blocks
    cache = torch.randn(num_blocks, block_size, rank + rope_dim, generator=rng)
    block_table = torch.randperm(num_blocks, generator=rng)[: batch * max_blocks].view(batch, max_blocks)
    case = dict(
        q_latent=torch.randn(batch, heads, rank, generator=rng),
        q_pe=torch.randn(batch, heads, rope_dim, generator=rng),
        cache=cache,
        block_table=block_table.to(torch.int32),
        seq_lens=torch.tensor(seq_lens, dtype=torch.int32),
    )
    case = {name: t.to(device) for name, t in case.items()}
    return {**case, "scale": (rank + rope_dim) ** -0.5}


@pytest.mark.parametrize(
    "seq_lens, heads, num_splits",
    [
        ([1], 16, None),  # batch 1, a single cached token
        ([13, 1, 40], 16, None),  # lengths not a multiple of the block size, several splits
        ([21, 8], 128, 2),  # H=128: eight head groups share each cache tile
        ([29], 16, 1),  # one split: no merge across splits
        ([9, 17], 5, 3),  # H below the head tile (masked heads)
    ],
)
def test_mla_decode_matches_twin(seq_lens, heads, num_splits, rng, check_close, poisoned, device):
    case = make_case(rng, seq_lens, heads, device=device)
    out = poisoned(case["q_latent"])
    mla_decode(**case, num_splits=num_splits, out=out)
    check_close(out, mla_decode_reference(**case))


def test_mla_decode_odd_dims_and_block_size(rng, check_close, poisoned, device):
    case = make_case(rng, [11, 3], heads=16, rank=24, rope_dim=8, block_size=5, device=device)
    out = poisoned(case["q_latent"])
    mla_decode(**case, out=out)
    check_close(out, mla_decode_reference(**case))


def test_empty_sequence_gives_zeros_in_both_twins(rng, poisoned, device):
    case = make_case(rng, [0, 6], heads=16, device=device)
    out = poisoned(case["q_latent"])
    mla_decode(**case, out=out)
    reference = mla_decode_reference(**case)
    assert torch.equal(out[0], torch.zeros_like(out[0])) and torch.equal(reference[0], out[0])
    assert not torch.isnan(out[1]).any()


def test_reference_is_full_attention_over_the_gathered_rows(rng):
    # Independent check of the twin: absorbed MLA == ordinary attention with k = [c_kv | k_pe], v = c_kv.
    case = make_case(rng, [10], heads=2, rank=6, rope_dim=4, block_size=4)
    cache, table = case["cache"].double(), case["block_table"][0].long()
    rows = torch.cat([cache[table[i // 4], i % 4][None] for i in range(10)])
    q = torch.cat([case["q_latent"][0], case["q_pe"][0]], dim=-1).double()
    want = torch.softmax(q @ rows.T * case["scale"], dim=-1) @ rows[:, :6]
    got = mla_decode_reference(**case)[0].double()
    assert torch.allclose(got, want, atol=1e-5)


def test_tokens_past_seq_len_are_ignored(rng, device):
    case = make_case(rng, [7], heads=16, device=device)
    before = mla_decode(**case)
    case["cache"][case["block_table"][0, 0], 7:] = 1e4  # rows 7.. of the first block are not in the sequence
    case["cache"][case["block_table"][0, 1:]] = float("nan")
    assert torch.equal(mla_decode(**case), before)
