"""The paged K/V pool of dense (GQA) models, and the choice between it and the MLA latent pool.

A dense layer caches, per token, its roped keys and its values for the G key/value heads: two
tensors per layer, `k[layer]` and `v[layer]`, each [num_blocks, block_size, G, head_dim], the layout
`kernels.gqa_decode` reads. Blocks, block tables, the radix prefix cache, forks and preemption are
the latent pool's (serving/cache.py, block_manager.py): only what a block holds differs.
"""

from __future__ import annotations

import torch

from serving.cache import LatentCachePool


def kv_bytes_per_token(num_layers: int, num_kv_heads: int, head_dim: int, dtype: torch.dtype) -> int:
    element = torch.empty((), dtype=dtype).element_size()
    return num_layers * 2 * num_kv_heads * head_dim * element


class KVCachePool:
    def __init__(
        self,
        num_layers: int,
        num_blocks: int,
        block_size: int,
        num_kv_heads: int,
        head_dim: int,
        dtype: torch.dtype,
        device: torch.device | str = "cpu",
    ) -> None:
        self.num_blocks = num_blocks
        self.block_size = block_size
        self.num_kv_heads = num_kv_heads
        self.head_dim = head_dim
        # One block more than the allocator hands out, as in LatentCachePool: padded rows of a
        # fixed-shape decode step (compiled / CUDA-graph batch buckets) write there.
        shape = (num_blocks + 1, block_size, num_kv_heads, head_dim)
        self.k = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(num_layers)]
        self.v = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(num_layers)]
        # per layer (keys, values): what a fixed-shape decode step takes, as `LatentCachePool.layers`
        self.layers = list(zip(self.k, self.v))
        self.scratch_slot = num_blocks * block_size  # first row of the extra block

    def write(self, layer_idx: int, slots: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
        """Store the keys/values [N, G, d] of new tokens; slots[i] = block_id * block_size + offset."""
        flat_shape = (-1, self.num_kv_heads, self.head_dim)
        self.k[layer_idx].view(flat_shape)[slots] = k.to(self.k[layer_idx].dtype)
        self.v[layer_idx].view(flat_shape)[slots] = v.to(self.v[layer_idx].dtype)

    def gather(self, layer_idx: int, block_ids: torch.Tensor, num_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The first num_tokens keys and values stored in block_ids (in order): 2 x [num_tokens, G, d]."""
        flat_shape = (-1, self.num_kv_heads, self.head_dim)
        keys = self.k[layer_idx][block_ids].reshape(flat_shape)[:num_tokens]
        values = self.v[layer_idx][block_ids].reshape(flat_shape)[:num_tokens]
        return keys, values

    def copy_block(self, src: int, dst: int) -> None:
        for layer in (*self.k, *self.v):
            layer[dst].copy_(layer[src])


def is_dense(model_config) -> bool:
    """True for the GQA models (model.DenseConfig), False for DeepSeek's MLA (model.ModelConfig)."""
    return hasattr(model_config, "num_key_value_heads") and not hasattr(model_config, "kv_lora_rank")


def cache_bytes_per_token(model_config, dtype: torch.dtype) -> int:
    """What one token costs in the pool the model needs."""
    mc = model_config
    if is_dense(mc):
        return kv_bytes_per_token(mc.num_hidden_layers, mc.num_key_value_heads, mc.head_dim, dtype)
    element = torch.empty((), dtype=dtype).element_size()
    return mc.num_hidden_layers * (mc.kv_lora_rank + mc.qk_rope_head_dim) * element


def make_cache_pool(
    model_config, num_blocks: int, block_size: int, dtype: torch.dtype, device: torch.device | str
) -> LatentCachePool | KVCachePool:
    """The paged K/V pool for a dense model, the latent pool for MLA."""
    mc = model_config
    if is_dense(mc):
        return KVCachePool(mc.num_hidden_layers, num_blocks, block_size, mc.num_key_value_heads, mc.head_dim,
                           dtype, device)
    return LatentCachePool(mc.num_hidden_layers, num_blocks, block_size, mc.kv_lora_rank, mc.qk_rope_head_dim,
                           dtype, device)
