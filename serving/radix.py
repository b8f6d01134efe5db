"""Radix prefix cache over token ids, one tree node per full block of tokens.

A node's key is the block's token ids and its value the pool block holding their latents; the
path from the root spells the prefix. The tree holds one reference on each of its blocks (see
BlockAllocator); a block whose only reference is the tree's is not used by any live sequence,
so its node may be evicted, least recently used leaves first. Only full blocks are shared: a
partial block is still being written by its sequence.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from serving.cache import BlockAllocator


@dataclass(eq=False)
class _Node:
    key: tuple[int, ...]
    block_id: int
    parent: _Node | None
    last_access: int = 0
    children: dict[tuple[int, ...], _Node] = field(default_factory=dict)


@dataclass
class PrefixCacheStats:
    queried_tokens: int = 0
    hit_tokens: int = 0
    evicted_blocks: int = 0
    flushes: int = 0

    @property
    def hit_rate(self) -> float:
        return self.hit_tokens / self.queried_tokens if self.queried_tokens else 0.0


class RadixPrefixCache:
    def __init__(self, allocator: BlockAllocator, block_size: int) -> None:
        self.allocator = allocator
        self.block_size = block_size
        self.root = _Node(key=(), block_id=-1, parent=None)
        self.stats = PrefixCacheStats()
        self.generation = 0  # bumped by flush(): blocks computed before it are never inserted again
        self._clock = 0
        self._num_nodes = 0

    @property
    def num_blocks(self) -> int:
        return self._num_nodes

    def _tick(self) -> int:
        self._clock += 1
        return self._clock

    def _block_keys(self, token_ids: list[int], num_blocks: int):
        bs = self.block_size
        for i in range(num_blocks):
            yield tuple(token_ids[i * bs : (i + 1) * bs])

    def match(self, token_ids: list[int], max_blocks: int) -> list[int]:
        """Blocks holding the longest cached prefix of token_ids (at most max_blocks full blocks).
        The caller must incref the returned blocks before anything can evict them."""
        now = self._tick()
        node = self.root
        blocks: list[int] = []
        for key in self._block_keys(token_ids, min(max_blocks, len(token_ids) // self.block_size)):
            child = node.children.get(key)
            if child is None:
                break
            child.last_access = now
            blocks.append(child.block_id)
            node = child
        return blocks

    def record_lookup(self, num_queried_tokens: int, num_hit_tokens: int) -> None:
        self.stats.queried_tokens += num_queried_tokens
        self.stats.hit_tokens += num_hit_tokens

    def insert(self, token_ids: list[int], block_ids: list[int]) -> None:
        """Record that block_ids[i] holds the latents of tokens [i*bs, (i+1)*bs) of token_ids.
        Where a node exists for a key already, the tree keeps its own block."""
        now = self._tick()
        node = self.root
        for i, key in enumerate(self._block_keys(token_ids, len(block_ids))):
            child = node.children.get(key)
            if child is None:
                child = _Node(key=key, block_id=block_ids[i], parent=node)
                node.children[key] = child
                self.allocator.incref(block_ids[i])
                self._num_nodes += 1
            child.last_access = now
            node = child

    def _evictable(self, node: _Node) -> bool:
        return not node.children and self.allocator.refcount(node.block_id) == 1

    def evict(self, num_blocks: int) -> int:
        """Free up to num_blocks blocks by dropping least recently used unreferenced leaves."""
        heap = [(n.last_access, id(n), n) for n in self._iter_nodes() if self._evictable(n)]
        heapq.heapify(heap)
        freed = 0
        while heap and freed < num_blocks:
            _, _, node = heapq.heappop(heap)
            parent = node.parent
            self._remove(node)
            freed += 1
            if parent is not self.root and parent is not None and self._evictable(parent):
                heapq.heappush(heap, (parent.last_access, id(parent), parent))
        self.stats.evicted_blocks += freed
        return freed

    def _remove(self, node: _Node) -> None:
        assert node.parent is not None
        del node.parent.children[node.key]
        node.parent = None
        self.allocator.decref(node.block_id)
        self._num_nodes -= 1

    def _iter_nodes(self):
        stack = list(self.root.children.values())
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.children.values())

    def flush(self) -> None:
        """Drop every node (after a weight update the cached latents are stale). Blocks still used
        by live sequences stay theirs; those sequences never insert into the new tree."""
        for node in list(self._iter_nodes()):
            self.allocator.decref(node.block_id)
        self.root.children.clear()
        self._num_nodes = 0
        self.generation += 1
        self.stats.flushes += 1
