"""The module on its own: construction, argument checks, the two attention functions."""
from __future__ import annotations

import pytest
import torch

from model.config import ModelConfig
from model.deepseek import DeepseekForCausalLM, apply_rope, mla_attention_absorb, mla_attention_naive

CONFIG = dict(
    model_type="deepseek_v2", vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
    num_attention_heads=2, q_lora_rank=None, kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=4,
    v_head_dim=8, max_position_embeddings=64, n_routed_experts=4, n_shared_experts=1, num_experts_per_tok=2,
    moe_intermediate_size=16, first_k_dense_replace=1,
)


def test_a_fresh_model_is_initialised_and_finite():
    torch.manual_seed(0)
    model = DeepseekForCausalLM(ModelConfig.from_dict(CONFIG))
    logits = model(torch.tensor([[1, 2, 3], [4, 5, 6]]))
    assert logits.shape == (2, 3, 64) and logits.dtype == torch.float32
    assert torch.isfinite(logits).all()
    assert isinstance(model.model.layers[1].mlp.experts.gate_up_proj, torch.nn.Parameter)


def test_bad_arguments_are_explained():
    config = ModelConfig.from_dict(CONFIG)
    with pytest.raises(ValueError, match="attention_mode must be one of"):
        DeepseekForCausalLM(config, attention_mode="flash")
    model = DeepseekForCausalLM(config)
    with pytest.raises(ValueError, match=r"input_ids must be \[batch, tokens\]"):
        model(torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="positions shape"):
        model(torch.tensor([[1, 2, 3]]), positions=torch.tensor([[0, 1]]))

    class ShortCache:
        def attend(self, layer_idx, attn, q_nope, q_pe, c_kv, k_pe):
            return q_nope[:, :1]

    with pytest.raises(ValueError, match=r"cache.attend for layer 0 returned shape \(3, 1, 8\)"):
        model(torch.tensor([[1, 2, 3]]), cache=ShortCache())


def test_naive_and_absorb_attention_agree_in_float64():
    g = torch.Generator().manual_seed(0)
    q_nope, q_pe = torch.randn(2, 5, 3, 8, generator=g, dtype=torch.float64), torch.randn(2, 5, 3, 4, generator=g, dtype=torch.float64)
    c_kv, k_pe = torch.randn(2, 7, 16, generator=g, dtype=torch.float64), torch.randn(2, 7, 4, generator=g, dtype=torch.float64)
    w_uk, w_uv = torch.randn(3, 8, 16, generator=g, dtype=torch.float64), torch.randn(3, 6, 16, generator=g, dtype=torch.float64)
    mask = torch.rand(5, 7, generator=g) > 0.3
    mask[:, 0] = True
    naive = mla_attention_naive(q_nope, q_pe, c_kv, k_pe, w_uk, w_uv, 0.3, mask)
    absorb = mla_attention_absorb(q_nope, q_pe, c_kv, k_pe, w_uk, w_uv, 0.3, mask)
    assert naive.shape == (2, 5, 3, 6)
    assert (naive - absorb).abs().max().item() < 1e-12


def test_rope_layouts_preserve_dot_products_of_the_reference_rotation():
    """Interleaved pairs rotated and written half-split give the complex-multiply dot products."""
    g = torch.Generator().manual_seed(1)
    q, k = torch.randn(8, generator=g, dtype=torch.float64), torch.randn(8, generator=g, dtype=torch.float64)
    angles_q, angles_k = torch.rand(4, generator=g, dtype=torch.float64) * 6, torch.rand(4, generator=g, dtype=torch.float64) * 6
    as_complex = lambda x, a: torch.view_as_complex(x.view(4, 2).contiguous()) * torch.polar(torch.ones_like(a), a)
    expected = (as_complex(q, angles_q) * as_complex(k, angles_k).conj()).real.sum()
    got = apply_rope(q, angles_q.cos(), angles_q.sin()) @ apply_rope(k, angles_k.cos(), angles_k.sin())
    assert abs(float(got - expected)) < 1e-12
