"""serving.weight_layout: the engine re-stores linear weights column-major; nothing else changes."""

from __future__ import annotations

import torch

from model.deepseek import routed_experts, routed_experts_static
from serving.weight_layout import use_decode_weight_layout

from .conftest import build_tiny_model


def test_layout_keeps_values_shapes_identity_and_logits():
    model = build_tiny_model(torch.float32, seed=5)
    ids = torch.randint(2, 128, (1, 12), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        before_logits = model(ids)
    before = {name: (p, p.detach().clone()) for name, p in model.named_parameters()}
    changed = use_decode_weight_layout(model)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert changed == len(linears) > 0
    for name, p in model.named_parameters():
        param, values = before[name]
        assert p is param and p.shape == values.shape and torch.equal(p, values), name
    assert all(m.weight.t().is_contiguous() for m in linears)
    with torch.inference_mode():
        torch.testing.assert_close(model(ids), before_logits, atol=1e-5, rtol=1e-5)
    assert use_decode_weight_layout(model) == 0  # already done


def test_layout_leaves_other_dtypes_and_tied_heads_alone():
    assert use_decode_weight_layout(build_tiny_model(torch.float64)) == 0
    tied = build_tiny_model(torch.float32, tie_word_embeddings=True)
    assert tied.lm_head.weight is tied.model.embed_tokens.weight
    use_decode_weight_layout(tied)
    assert tied.lm_head.weight.is_contiguous()  # the embedding lookup reads rows


def test_export_after_layout_writes_the_same_tensors():
    from training.export import hf_state_dict

    model = build_tiny_model(torch.float32, seed=6)
    want = hf_state_dict(model)
    use_decode_weight_layout(model)
    got = hf_state_dict(model)
    assert want.keys() == got.keys()
    assert all(got[k].is_contiguous() and torch.equal(got[k], want[k]) for k in want)


def test_static_routed_experts_match_the_looped_ones():
    """The compiled step's experts (gathered weights for a token or two, all experts computed
    transposed otherwise) equal the eager per-expert loop."""
    g = torch.Generator().manual_seed(2)
    experts, inter, hidden = 8, 16, 32
    gate_up = torch.randn(experts, 2 * inter, hidden, generator=g, dtype=torch.float64)
    down = torch.randn(experts, hidden, inter, generator=g, dtype=torch.float64)
    for tokens in (1, 3, 16):
        x = torch.randn(tokens, hidden, generator=g, dtype=torch.float64)
        idx = torch.stack([torch.randperm(experts, generator=g)[:2] for _ in range(tokens)])
        weight = torch.rand(tokens, 2, generator=g, dtype=torch.float64)
        torch.testing.assert_close(routed_experts_static(x, gate_up, down, idx, weight),
                                   routed_experts(x, gate_up, down, idx, weight), atol=1e-10, rtol=1e-10)
