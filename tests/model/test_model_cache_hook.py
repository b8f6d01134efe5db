"""The serving hook: a cache that stores c_kv/k_pe and attends gives the cacheless model's logits."""
from __future__ import annotations

import pytest
import torch

from model.config import ModelConfig
from model.deepseek import DeepseekForCausalLM, MultiHeadLatentAttention


class DictCache:
    """Plain full causal attention over the stored latents of ONE sequence, per layer."""

    def __init__(self) -> None:
        self.c_kv: dict[int, torch.Tensor] = {}
        self.k_pe: dict[int, torch.Tensor] = {}
        self.calls: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = []

    def attend(self, layer_idx, attn: MultiHeadLatentAttention, q_nope, q_pe, c_kv, k_pe):
        self.calls.append((layer_idx, tuple(q_nope.shape), tuple(c_kv.shape)))
        assert attn.w_uk.shape == (attn.num_heads, q_nope.shape[-1], c_kv.shape[-1])
        assert attn.w_uv.shape[0] == attn.num_heads and attn.w_uv.shape[2] == c_kv.shape[-1]
        previous = self.c_kv.get(layer_idx, c_kv[:0])
        self.c_kv[layer_idx] = torch.cat([previous, c_kv])
        self.k_pe[layer_idx] = torch.cat([self.k_pe.get(layer_idx, k_pe[:0]), k_pe])
        keys_c, keys_pe = self.c_kv[layer_idx], self.k_pe[layer_idx]
        # decompress (the "naive" way) to stay independent of the model's own attention functions
        k_nope = torch.einsum("sr,hdr->shd", keys_c, attn.w_uk)
        values = torch.einsum("sr,hdr->shd", keys_c, attn.w_uv)
        scores = torch.einsum("thd,shd->hts", q_nope, k_nope) + torch.einsum("thd,sd->hts", q_pe, keys_pe)
        num_new, num_all = q_nope.shape[0], keys_c.shape[0]
        query_pos = torch.arange(num_new)[:, None] + (num_all - num_new)
        visible = torch.arange(num_all)[None, :] <= query_pos
        probs = (scores * attn.softmax_scale).masked_fill(~visible, float("-inf")).softmax(dim=-1)
        return torch.einsum("hts,shd->thd", probs, values)


def _tiny_config(**overrides) -> ModelConfig:
    base = dict(
        model_type="deepseek_v3", vocab_size=96, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
        num_attention_heads=4, q_lora_rank=32, kv_lora_rank=32, qk_nope_head_dim=16, qk_rope_head_dim=8,
        v_head_dim=16, max_position_embeddings=512, n_routed_experts=4, n_shared_experts=1,
        num_experts_per_tok=2, moe_intermediate_size=32, first_k_dense_replace=1, n_group=2, topk_group=1,
        routed_scaling_factor=2.5, norm_topk_prob=True,
        rope_scaling={"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 128,
                      "mscale": 1.0, "mscale_all_dim": 1.0},
    )
    return ModelConfig.from_dict({**base, **overrides})


def _random_model(config: ModelConfig, mode: str = "absorb") -> DeepseekForCausalLM:
    torch.manual_seed(11)
    model = DeepseekForCausalLM(config, attention_mode=mode)
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0, 0.3)
        for name, buffer in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                buffer.normal_(0, 0.2)
    return model.eval()


@pytest.mark.parametrize("mode", ["naive", "absorb"])
def test_cache_prefill_then_decode_matches_the_cacheless_model(mode):
    model = _random_model(_tiny_config(), mode)
    tokens = torch.randint(0, 96, (1, 12), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = model(tokens)
        cache = DictCache()
        prefill = model(tokens[:, :8], positions=torch.arange(8)[None], cache=cache)
        steps = [model(tokens[:, t : t + 1], positions=torch.tensor([[t]]), cache=cache) for t in range(8, 12)]
    got = torch.cat([prefill, *steps], dim=1)
    assert (got - expected).abs().max().item() <= 1e-5
    # every layer attended once per call with [N, H, dn] queries and [N, r] latents
    assert [c[0] for c in cache.calls[:3]] == [0, 1, 2]
    assert cache.calls[0][1:] == ((8, 4, 16), (8, 32))
    assert cache.calls[-1][1:] == ((1, 4, 16), (1, 32))
    assert cache.c_kv[2].shape == (12, 32) and cache.k_pe[2].shape == (12, 8)


def test_model_keeps_no_state_between_calls():
    model = _random_model(_tiny_config())
    tokens = torch.randint(0, 96, (2, 6), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        first = model(tokens)
        model(torch.randint(0, 96, (1, 9)))
        second = model(tokens)
    assert torch.equal(first, second)


def test_logit_rows_select_flattened_tokens():
    model = _random_model(_tiny_config())
    tokens = torch.randint(0, 96, (1, 7), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        full = model(tokens)
        cache = DictCache()
        rows = model(tokens, positions=torch.arange(7)[None], cache=cache, logit_rows=torch.tensor([3, 6]))
    assert rows.shape == (2, 96)
    assert (rows - full[0, [3, 6]]).abs().max().item() <= 1e-5


def test_positions_shift_rope_only_through_relative_offsets():
    """Same tokens at positions p and p+100 attend identically (RoPE is relative), YaRN included."""
    model = _random_model(_tiny_config())
    tokens = torch.randint(0, 96, (1, 6), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        at_zero = model(tokens)
        shifted = model(tokens, positions=torch.arange(100, 106)[None])
    shift_error = (at_zero - shifted).abs().max().item()
    assert shift_error <= 1e-5
    with torch.no_grad():
        scrambled = model(tokens, positions=torch.tensor([[0, 5, 1, 9, 2, 7]]))
    assert (at_zero - scrambled).abs().max().item() > 20 * max(shift_error, 1e-6)
