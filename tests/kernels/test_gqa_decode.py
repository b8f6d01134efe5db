"""The Triton paged GQA decode kernel against its torch twin (under the interpreter on CPU), and the
twin against plain attention over the gathered rows."""
from __future__ import annotations

import math

import pytest
import torch

from kernels.gqa_decode import gqa_decode, gqa_decode_reference


def make_case(rng, seq_lens, heads, kv_heads, head_dim=16, block_size=8, spare_blocks=3, device="cpu"):
    """Random queries and a paged K/V cache whose blocks are scattered in a shuffled pool."""
    batch = len(seq_lens)
    max_blocks = max(1, max(math.ceil(n / block_size) for n in seq_lens)) + 1
    num_blocks = batch * max_blocks + spare_blocks
    block_table = torch.randperm(num_blocks, generator=rng)[: batch * max_blocks].view(batch, max_blocks)
    case = dict(
        q=torch.randn(batch, heads, head_dim, generator=rng),
        k_cache=torch.randn(num_blocks, block_size, kv_heads, head_dim, generator=rng),
        v_cache=torch.randn(num_blocks, block_size, kv_heads, head_dim, generator=rng),
        block_table=block_table.to(torch.int32),
        seq_lens=torch.tensor(seq_lens, dtype=torch.int32),
    )
    case = {name: t.to(device) for name, t in case.items()}
    return {**case, "scale": head_dim**-0.5}


@pytest.mark.parametrize(
    "seq_lens, heads, kv_heads, num_splits",
    [
        ([1], 4, 2, None),  # batch 1, a single cached token
        ([13, 1, 40], 8, 2, None),  # lengths not a multiple of the block size, several splits
        ([21, 8], 16, 1, 2),  # MQA: all 16 query heads on one key/value head
        ([29], 4, 4, 1),  # MHA (groups of 1), one split: no merge across splits
        ([9, 17], 12, 4, 3),  # groups of 3 (padded to the 16-row tile)
    ],
)
def test_gqa_decode_matches_twin(seq_lens, heads, kv_heads, num_splits, rng, check_close, poisoned, device):
    case = make_case(rng, seq_lens, heads, kv_heads, device=device)
    out = poisoned(case["q"])
    gqa_decode(**case, num_splits=num_splits, out=out)
    check_close(out, gqa_decode_reference(**case))


def test_gqa_decode_odd_head_dim_and_block_size(rng, check_close, poisoned, device):
    case = make_case(rng, [11, 3], heads=6, kv_heads=2, head_dim=24, block_size=5, device=device)
    out = poisoned(case["q"])
    gqa_decode(**case, out=out)
    check_close(out, gqa_decode_reference(**case))


def test_gqa_decode_half_precision(rng, device):
    case = make_case(rng, [19, 7], heads=8, kv_heads=2, device=device)
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in case.items() if k != "scale"}
    got = gqa_decode(**half, scale=case["scale"]).float()
    want = gqa_decode_reference(**case)
    assert (got - want).abs().max().item() < 1e-2


def test_empty_sequence_gives_zeros_in_both_twins(rng, poisoned, device):
    case = make_case(rng, [0, 6], heads=4, kv_heads=2, device=device)
    out = poisoned(case["q"])
    gqa_decode(**case, out=out)
    reference = gqa_decode_reference(**case)
    assert torch.equal(out[0], torch.zeros_like(out[0])) and torch.equal(reference[0], out[0])
    assert not torch.isnan(out[1]).any()


def test_reference_is_attention_with_repeated_kv_heads(rng):
    """Independent check of the twin: query head h reads key/value head h // (H/G)."""
    case = make_case(rng, [10], heads=6, kv_heads=2, head_dim=4, block_size=4)
    table = case["block_table"][0].long()
    keys = torch.stack([case["k_cache"][table[i // 4], i % 4] for i in range(10)]).double()  # [T, G, d]
    values = torch.stack([case["v_cache"][table[i // 4], i % 4] for i in range(10)]).double()
    got = gqa_decode_reference(**case)[0].double()
    for h in range(6):
        g = h // 3
        probs = torch.softmax(keys[:, g] @ case["q"][0, h].double() * case["scale"], dim=0)
        assert torch.allclose(got[h], probs @ values[:, g], atol=1e-5)


def test_tokens_past_seq_len_are_ignored(rng, device):
    case = make_case(rng, [7], heads=4, kv_heads=2, device=device)
    before = gqa_decode(**case)
    block0, rest = case["block_table"][0, 0], case["block_table"][0, 1:]
    case["k_cache"][block0, 7:] = 1e4  # row 7 of the first block is not in the sequence
    case["v_cache"][rest] = float("nan")
    case["k_cache"][rest] = float("nan")
    assert torch.equal(gqa_decode(**case), before)


def test_shape_errors_name_the_argument(rng):
    case = make_case(rng, [5], heads=6, kv_heads=4)
    with pytest.raises(ValueError, match="must divide"):
        gqa_decode_reference(**case)


def test_cascade_twin_reads_shared_prefixes_once_and_matches(rng):
    """Sequences 0, 2, 3 share their first 2 blocks, 1 and 4 their first block; the cascade twin
    (prefix once per group + each suffix) equals the plain twin over the full tables."""
    from kernels.gqa_decode import SharedPrefix, gqa_decode_cascade_reference

    block_size, heads, kv_heads, head_dim = 4, 6, 2, 8
    k_cache = torch.randn(40, block_size, kv_heads, head_dim, generator=rng)
    v_cache = torch.randn(40, block_size, kv_heads, head_dim, generator=rng)
    tables = [[0, 1, 5, 6], [2, 7], [0, 1, 8], [0, 1, 9, 10, 11], [2, 12, 13]]
    lens = [15, 6, 9, 18, 11]
    groups = [SharedPrefix(torch.tensor([0, 2, 3]), torch.tensor([0, 1])), SharedPrefix(torch.tensor([1, 4]), torch.tensor([2]))]
    shared = [2, 1, 2, 2, 1]
    width = max(map(len, tables))
    full = torch.tensor([t + [0] * (width - len(t)) for t in tables], dtype=torch.int32)
    suffix = [t[s:] for t, s in zip(tables, shared)]
    suffix_table = torch.tensor([t + [0] * (width - len(t)) for t in suffix])
    suffix_lens = torch.tensor([n - s * block_size for n, s in zip(lens, shared)])
    q = torch.randn(5, heads, head_dim, generator=rng)
    want = gqa_decode_reference(q, k_cache, v_cache, full, torch.tensor(lens, dtype=torch.int32), 0.3)
    got = gqa_decode_cascade_reference(q, k_cache, v_cache, groups, suffix_table, suffix_lens, 0.3)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def _cascade_case(rng):
    """Five decode rows: 0, 2, 3 share two blocks, 1 and 4 one block, row 5 shares nothing."""
    from kernels.gqa_decode import SharedPrefix

    block_size, heads, kv_heads, head_dim = 4, 6, 2, 8
    k_cache = torch.randn(40, block_size, kv_heads, head_dim, generator=rng)
    v_cache = torch.randn(40, block_size, kv_heads, head_dim, generator=rng)
    tables = [[0, 1, 5, 6], [2, 7], [0, 1, 8], [0, 1, 9, 10, 11], [2, 12, 13], [14, 15]]
    lens = [15, 6, 9, 18, 11, 7]
    shared = [2, 1, 2, 2, 1, 0]
    groups = [SharedPrefix(torch.tensor([0, 2, 3]), torch.tensor([0, 1])), SharedPrefix(torch.tensor([1, 4]), torch.tensor([2]))]
    width = max(map(len, tables))
    full = torch.tensor([t + [0] * (width - len(t)) for t in tables], dtype=torch.int32)
    suffix = [t[s:] for t, s in zip(tables, shared)]
    suffix_table = torch.tensor([t + [0] * (width - len(t)) for t in suffix])
    suffix_lens = torch.tensor([n - s * block_size for n, s in zip(lens, shared)])
    q = torch.randn(len(tables), heads, head_dim, generator=rng)
    want = gqa_decode_reference(q, k_cache, v_cache, full, torch.tensor(lens, dtype=torch.int32), 0.3)
    return q, k_cache, v_cache, groups, suffix_table, suffix_lens, want


def test_packed_cascade_with_uneven_groups_and_an_ungrouped_row_matches(rng):
    """Groups padded to the most members and the longest prefix, and a row in no group (its
    prefix part must weigh nothing): the packed layout, built once and reused, gives the plain
    twin's result, as the list form does."""
    from kernels.gqa_decode import gqa_decode_cascade_reference, pack_cascade

    q, k_cache, v_cache, groups, suffix_table, suffix_lens, want = _cascade_case(rng)
    layout = pack_cascade(groups, suffix_table, suffix_lens, k_cache.shape[1])
    assert layout.prefix_invalid is not None and layout.outside is not None
    for packed in (groups, layout, layout):  # the same layout serves every layer
        got = gqa_decode_cascade_reference(q, k_cache, v_cache, packed, suffix_table, suffix_lens, 0.3)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_reused_gather_workspace_never_leaks_into_results(rng):
    """The twins gather into per-thread buffers reused across calls: a result must not change
    when a later call (other shapes, other cache) reuses them."""
    first = make_case(rng, [13, 1, 40], heads=8, kv_heads=2)
    out = gqa_decode_reference(**first)
    kept = out.clone()
    second = make_case(rng, [5, 30], heads=4, kv_heads=1, head_dim=8)
    gqa_decode_reference(**second)
    q, k_cache, v_cache, groups, suffix_table, suffix_lens, _ = _cascade_case(rng)
    from kernels.gqa_decode import gqa_decode_cascade_reference

    gqa_decode_cascade_reference(q, k_cache, v_cache, groups, suffix_table, suffix_lens, 0.3)
    assert torch.equal(out, kept)
    torch.testing.assert_close(gqa_decode_reference(**first), kept, atol=0, rtol=0)


def test_twin_keeps_autograd_through_the_cache(rng):
    """With a cache that requires grad (training), the gather takes no workspace (out= ops have
    no backward), so gradients reach the cache."""
    case = make_case(rng, [9, 4], heads=4, kv_heads=2)
    case["k_cache"].requires_grad_(True)
    gqa_decode_reference(**case).sum().backward()
    assert case["k_cache"].grad is not None and case["k_cache"].grad.abs().sum() > 0


def test_workspace_made_in_inference_mode_serves_calls_outside_it(rng):
    """The engine runs under inference_mode; the same thread may later run the twin under
    no_grad (evaluation, tests): the reused buffers must accept both."""
    import kernels.gqa_decode as module

    module._WORKSPACE.__dict__.clear()  # this thread's buffers are made by the next call
    case = make_case(rng, [13, 6], heads=4, kv_heads=2)
    with torch.inference_mode():
        first = gqa_decode_reference(**case)
    with torch.no_grad():
        torch.testing.assert_close(gqa_decode_reference(**case), first, atol=0, rtol=0)
