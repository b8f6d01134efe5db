"""Block allocator, latent pool, radix prefix cache (match, insert, LRU eviction, flush)."""

from __future__ import annotations

import pytest
import torch

from serving.cache import (
    BlockAllocator,
    LatentCachePool,
    OutOfBlocksError,
    latent_bytes_per_token,
    num_blocks_for_budget,
)
from serving.radix import RadixPrefixCache


def test_allocator_refcounts_return_blocks_on_last_release():
    alloc = BlockAllocator(2)
    a, b = alloc.allocate(), alloc.allocate()
    with pytest.raises(OutOfBlocksError):
        alloc.allocate()
    alloc.incref(a)
    alloc.decref(a)
    assert alloc.num_free == 0
    alloc.decref(a)
    assert alloc.num_free == 1 and alloc.allocate() == a
    alloc.decref(b)
    with pytest.raises(RuntimeError, match="released more often"):
        alloc.decref(b)


def test_pool_size_from_memory_budget():
    # DeepSeek-V2-Lite in bf16: 27 layers x (512 + 64) x 2 bytes per token (REFERENCE.md)
    per_token = latent_bytes_per_token(27, 512, 64, torch.bfloat16)
    assert per_token == 31_104
    assert num_blocks_for_budget(10 * 16 * per_token + 5, 16, per_token) == 10
    with pytest.raises(ValueError, match="cache_memory_bytes"):
        num_blocks_for_budget(100, 16, per_token)


def test_pool_write_gather_and_copy():
    pool = LatentCachePool(num_layers=2, num_blocks=4, block_size=2, kv_lora_rank=3, qk_rope_head_dim=2, dtype=torch.float32)
    c_kv, k_pe = torch.randn(3, 3), torch.randn(3, 2)
    # tokens 0,1,2 of a sequence whose block table is [3, 1]
    pool.write(1, torch.tensor([6, 7, 2]), c_kv, k_pe)
    rows = pool.gather(1, torch.tensor([3, 1]), 3)
    assert torch.equal(rows, torch.cat([c_kv, k_pe], dim=-1))
    assert pool.layers[0].abs().sum() == 0
    pool.copy_block(3, 0)
    assert torch.equal(pool.layers[1][0], pool.layers[1][3])


def _tree(num_blocks=8, block_size=2):
    alloc = BlockAllocator(num_blocks)
    return alloc, RadixPrefixCache(alloc, block_size)


def _insert(alloc, tree, tokens):
    """Store tokens like a finished sequence would: allocate, hand to the tree, let go."""
    blocks = [alloc.allocate() for _ in range(len(tokens) // tree.block_size)]
    tree.insert(tokens, blocks)
    for b in blocks:
        alloc.decref(b)
    return blocks


def test_match_returns_longest_cached_full_block_prefix():
    alloc, tree = _tree()
    blocks = _insert(alloc, tree, [1, 2, 3, 4, 5, 6])
    assert tree.match([1, 2, 3, 4, 9, 9], max_blocks=10) == blocks[:2]
    assert tree.match([1, 2, 3, 4, 5, 6, 7], max_blocks=10) == blocks
    assert tree.match([1, 2, 3, 4, 5, 6], max_blocks=2) == blocks[:2]
    assert tree.match([1, 3], max_blocks=10) == []
    assert tree.match([1], max_blocks=10) == []  # only full blocks are shared


def test_insert_keeps_existing_nodes_and_branches():
    alloc, tree = _tree()
    first = _insert(alloc, tree, [1, 2, 3, 4])
    second = _insert(alloc, tree, [1, 2, 7, 8])
    assert tree.num_blocks == 3  # [1,2] shared, two children
    assert tree.match([1, 2, 7, 8], 9) == [first[0], second[1]]
    assert alloc.num_free == 8 - 3  # the duplicate [1,2] block went back to the free list


def test_eviction_is_lru_over_unreferenced_leaves():
    alloc, tree = _tree()
    _insert(alloc, tree, [1, 2, 3, 4])
    new = _insert(alloc, tree, [5, 6, 7, 8])
    tree.match([1, 2, 3, 4], 9)  # touch: [5..8] is now least recently used
    alloc.incref(new[0])  # a live sequence holds the first block of [5..8]
    assert tree.evict(1) == 1
    assert tree.match([5, 6, 7, 8], 9) == [new[0]]  # its leaf went, the held block stayed
    assert tree.evict(10) == 2  # [3,4] then [1,2]; the held block is not evictable
    assert tree.match([1, 2], 9) == []
    assert tree.num_blocks == 1 and alloc.num_free == 7
    assert tree.stats.evicted_blocks == 3


def test_flush_drops_everything_and_stops_stale_inserts():
    alloc, tree = _tree()
    _insert(alloc, tree, [1, 2, 3, 4])
    held = alloc.allocate()
    tree.insert([9, 9], [held])
    tree.flush()
    assert tree.num_blocks == 0 and tree.generation == 1
    assert alloc.refcount(held) == 1  # still the sequence's
    assert tree.match([1, 2, 3, 4], 9) == []


def test_hit_statistics():
    alloc, tree = _tree()
    tree.record_lookup(10, 4)
    tree.record_lookup(10, 0)
    assert tree.stats.hit_rate == pytest.approx(0.2)
