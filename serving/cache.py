"""The paged latent KV pool and the reference-counted block allocator.

MLA caches one row per token and layer: the normalised latent c_kv (kv_lora_rank) followed by
the roped key k_pe (qk_rope_head_dim). One tensor per layer, [num_blocks, block_size, r + d_r],
the layout kernels.mla_decode reads.
"""

from __future__ import annotations

import torch


class OutOfBlocksError(RuntimeError):
    """No free block is left; the scheduler answers by evicting or preempting."""


def latent_bytes_per_token(num_layers: int, kv_lora_rank: int, qk_rope_head_dim: int, dtype: torch.dtype) -> int:
    element = torch.empty((), dtype=dtype).element_size()
    return num_layers * (kv_lora_rank + qk_rope_head_dim) * element


def num_blocks_for_budget(budget_bytes: int, block_size: int, bytes_per_token: int) -> int:
    blocks = budget_bytes // (block_size * bytes_per_token)
    if blocks < 1:
        raise ValueError(
            f"cache_memory_bytes: {budget_bytes} bytes hold less than one block of {block_size} tokens "
            f"({block_size * bytes_per_token} bytes); raise cache_memory_bytes or lower block_size"
        )
    return int(blocks)


class LatentCachePool:
    def __init__(
        self,
        num_layers: int,
        num_blocks: int,
        block_size: int,
        kv_lora_rank: int,
        qk_rope_head_dim: int,
        dtype: torch.dtype,
        device: torch.device | str = "cpu",
    ) -> None:
        self.num_blocks = num_blocks
        self.block_size = block_size
        self.kv_lora_rank = kv_lora_rank
        self.qk_rope_head_dim = qk_rope_head_dim
        # One block more than the allocator hands out: padded rows of a fixed-shape decode step
        # (compiled / CUDA-graph batch buckets) write their latents there, never into a live block.
        self.layers = [
            torch.zeros(num_blocks + 1, block_size, kv_lora_rank + qk_rope_head_dim, dtype=dtype, device=device)
            for _ in range(num_layers)
        ]
        self.scratch_slot = num_blocks * block_size  # first row of the extra block

    def write(self, layer_idx: int, slots: torch.Tensor, c_kv: torch.Tensor, k_pe: torch.Tensor) -> None:
        """Store the rows of new tokens; slots[i] = block_id * block_size + offset of token i."""
        flat = self.layers[layer_idx].view(-1, self.kv_lora_rank + self.qk_rope_head_dim)
        flat[slots, : self.kv_lora_rank] = c_kv.to(flat.dtype)
        flat[slots, self.kv_lora_rank :] = k_pe.to(flat.dtype)

    def gather(self, layer_idx: int, block_ids: torch.Tensor, num_tokens: int) -> torch.Tensor:
        """The first num_tokens rows stored in block_ids (in order): [num_tokens, r + d_r]."""
        rows = self.layers[layer_idx][block_ids].reshape(-1, self.kv_lora_rank + self.qk_rope_head_dim)
        return rows[:num_tokens]

    def copy_block(self, src: int, dst: int) -> None:
        for layer in self.layers:
            layer[dst].copy_(layer[src])


class BlockAllocator:
    """Hands out block ids; a block returns to the free list when its last holder lets go.
    Holders are sequences (their block tables) and the prefix cache (one ref per tree node)."""

    def __init__(self, num_blocks: int) -> None:
        self.num_blocks = num_blocks
        self._refcounts = [0] * num_blocks
        self._free = list(range(num_blocks - 1, -1, -1))

    @property
    def num_free(self) -> int:
        return len(self._free)

    def allocate(self) -> int:
        if not self._free:
            raise OutOfBlocksError("the latent pool has no free block")
        block = self._free.pop()
        self._refcounts[block] = 1
        return block

    def refcount(self, block: int) -> int:
        return self._refcounts[block]

    def incref(self, block: int) -> None:
        if self._refcounts[block] <= 0:
            raise RuntimeError(f"block {block} is free; only a held block can gain a holder")
        self._refcounts[block] += 1

    def decref(self, block: int) -> None:
        if self._refcounts[block] <= 0:
            raise RuntimeError(f"block {block} released more often than it was held")
        self._refcounts[block] -= 1
        if self._refcounts[block] == 0:
            self._free.append(block)
