"""Which pool blocks each sequence holds: prefix-cache lookups at admission, growth as tokens are
computed (evicting cached prefixes under pressure), sharing with forked samples, release."""

from __future__ import annotations

from serving.cache import BlockAllocator, OutOfBlocksError
from serving.radix import RadixPrefixCache
from serving.sequence import Sequence


class BlockManager:
    def __init__(self, num_blocks: int, block_size: int, enable_prefix_caching: bool) -> None:
        self.block_size = block_size
        self.allocator = BlockAllocator(num_blocks)
        self.prefix_cache = RadixPrefixCache(self.allocator, block_size) if enable_prefix_caching else None

    @property
    def num_blocks(self) -> int:
        return self.allocator.num_blocks

    def blocks_for(self, num_tokens: int) -> int:
        return -(-num_tokens // self.block_size)

    def _allocate(self) -> int:
        if self.allocator.num_free == 0 and self.prefix_cache is not None:
            # evict a batch at once: the LRU scan costs O(tree), so do not pay it per block
            self.prefix_cache.evict(max(1, self.num_blocks // 16))
        return self.allocator.allocate()

    def admit(self, seq: Sequence) -> int:
        """Attach the longest cached prefix of a waiting sequence; returns the number of tokens
        served from the cache. At least one token is always left to compute (its logits are
        needed to sample the next token)."""
        assert not seq.block_table and seq.num_computed_tokens == 0
        if self.prefix_cache is None:
            return 0
        max_blocks = (len(seq.token_ids) - 1) // self.block_size
        blocks = self.prefix_cache.match(seq.token_ids, max_blocks)
        for b in blocks:
            self.allocator.incref(b)
        seq.block_table = list(blocks)
        seq.num_computed_tokens = len(blocks) * self.block_size
        seq.num_blocks_in_prefix_cache = len(blocks)
        seq.prefix_cache_generation = self.prefix_cache.generation
        return seq.num_computed_tokens

    def grow(self, seq: Sequence, num_tokens: int) -> None:
        """Make room for latents of the first num_tokens tokens of seq. Raises OutOfBlocksError
        (holding whatever it got so far) when the pool is exhausted."""
        while len(seq.block_table) < self.blocks_for(num_tokens):
            seq.block_table.append(self._allocate())

    def release(self, seq: Sequence) -> None:
        for b in seq.block_table:
            self.allocator.decref(b)
        seq.block_table = []
        seq.num_computed_tokens = 0
        seq.num_blocks_in_prefix_cache = 0

    def cache_full_blocks(self, seq: Sequence) -> None:
        """Offer the sequence's newly completed blocks to the prefix cache."""
        if self.prefix_cache is None or seq.prefix_cache_generation != self.prefix_cache.generation:
            return
        full = seq.num_computed_tokens // self.block_size
        if full > seq.num_blocks_in_prefix_cache:
            self.prefix_cache.insert(seq.token_ids[: full * self.block_size], seq.block_table[:full])
            seq.num_blocks_in_prefix_cache = full

    def fork(self, parent: Sequence, child: Sequence, copy_block) -> bool:
        """Give child the parent's computed blocks: full blocks shared, the partial last block
        copied (the two will write different tokens into it). False when no block is left for
        the copy; the child then starts from scratch (prefix hits make that cheap)."""
        full = parent.num_computed_tokens // self.block_size
        partial = parent.num_computed_tokens % self.block_size
        table = list(parent.block_table[:full])
        if partial:
            try:
                block = self._allocate()
            except OutOfBlocksError:
                return False
            copy_block(parent.block_table[full], block)
            table.append(block)
        for b in table[:full]:
            self.allocator.incref(b)
        child.block_table = table
        child.num_computed_tokens = parent.num_computed_tokens
        child.num_blocks_in_prefix_cache = parent.num_blocks_in_prefix_cache
        child.prefix_cache_generation = parent.prefix_cache_generation
        return True
