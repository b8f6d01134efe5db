from __future__ import annotations

import math

import pytest
import torch

from kernels.rope import YarnScaling, apply_rope, apply_rope_reference, rope_inv_freq, yarn_cos_sin, yarn_mscale

V2_LITE_YARN = YarnScaling(
    factor=40.0, original_max_position_embeddings=4096, beta_fast=32, beta_slow=1,
    mscale=0.707, mscale_all_dim=0.707,
)

LAYOUTS = [(False, False), (True, False), (True, True)]  # (interleaved, write_half_split)


@pytest.mark.parametrize("interleaved, write_half_split", LAYOUTS)
@pytest.mark.parametrize(
    "x_shape, n_tokens, token_axis",
    [
        ((5, 16, 8), 5, None),  # [T, H, d] as the engine flattens tokens (q_pe)
        ((5, 1, 8), 5, None),  # [T, 1, d] (k_pe)
        ((2, 3, 5, 8), 5, None),  # [B, H, T, d]
        ((1, 8), 1, None),  # a single token
        ((4, 4, 8), 4, 0),  # T == H: token axis given
    ],
)
def test_rope_matches_twin(
    interleaved, write_half_split, x_shape, n_tokens, token_axis, rng, check_close, poisoned, device
):
    positions = torch.randint(0, 10_000, (n_tokens,), generator=rng).to(device)
    cos, sin = yarn_cos_sin(positions, x_shape[-1], 10000.0, V2_LITE_YARN)
    x = torch.randn(x_shape, generator=rng).to(device)
    out = poisoned(x)
    kwargs = dict(write_half_split=write_half_split, token_axis=token_axis)
    apply_rope(x, cos, sin, interleaved, out=out, **kwargs)
    check_close(out, apply_rope_reference(x, cos, sin, interleaved, **kwargs))


def test_rope_with_per_sequence_tables(rng, check_close, device):
    # cos/sin [B, T, half] broadcast against x [B, T, H, d] via an explicit head axis.
    x = torch.randn(2, 3, 4, 8, generator=rng).to(device)
    positions = torch.randint(0, 100, (2, 3), generator=rng).to(device)
    cos, sin = yarn_cos_sin(positions, 8, 10000.0)
    cos, sin = cos[:, :, None, :], sin[:, :, None, :]
    check_close(apply_rope(x, cos, sin, True), apply_rope_reference(x, cos, sin, True))


def test_interleaved_twin_matches_transformers_deepseek_v2(rng):
    from transformers.models.deepseek_v2.modeling_deepseek_v2 import apply_rotary_emb

    q = torch.randn(2, 3, 5, 8, generator=rng)  # [B, H, T, d]
    k = torch.randn(2, 1, 5, 8, generator=rng)
    positions = torch.arange(5)
    cos, sin = yarn_cos_sin(positions, 8, 10000.0)
    freqs_cis = torch.polar(torch.ones_like(cos), torch.atan2(sin, cos))[None]  # [1, T, half]
    want_q, want_k = apply_rotary_emb(q, k, freqs_cis)
    assert torch.allclose(apply_rope_reference(q, cos, sin, True), want_q, atol=1e-5)
    assert torch.allclose(apply_rope_reference(k, cos, sin, True), want_k, atol=1e-5)


def test_v3_layout_matches_transformers_and_keeps_dot_products(rng):
    from transformers.models.deepseek_v3.modeling_deepseek_v3 import apply_rotary_pos_emb_interleave

    q = torch.randn(1, 2, 6, 8, generator=rng)
    k = torch.randn(1, 1, 6, 8, generator=rng)
    cos, sin = yarn_cos_sin(torch.arange(6), 8, 10000.0)
    full_cos, full_sin = torch.cat([cos, cos], -1)[None], torch.cat([sin, sin], -1)[None]
    want_q, want_k = apply_rotary_pos_emb_interleave(q, k, full_cos, full_sin)
    got_q = apply_rope_reference(q, cos, sin, True, write_half_split=True)
    got_k = apply_rope_reference(k, cos, sin, True, write_half_split=True)
    assert torch.allclose(got_q, want_q, atol=1e-5) and torch.allclose(got_k, want_k, atol=1e-5)
    # Same logits as the interleaved-out layout, different cached tensors.
    inter_q = apply_rope_reference(q, cos, sin, True)
    inter_k = apply_rope_reference(k, cos, sin, True)
    assert torch.allclose(got_q @ got_k.transpose(-1, -2), inter_q @ inter_k.transpose(-1, -2), atol=1e-4)
    assert not torch.allclose(got_q, inter_q)


def test_rotation_is_relative_position_only(rng):
    # q·k after rotation depends on the position difference only.
    q = torch.randn(1, 8, generator=rng, dtype=torch.float64)
    k = torch.randn(1, 8, generator=rng, dtype=torch.float64)
    def logit(pq: int, pk: int) -> float:
        cq, sq = yarn_cos_sin(torch.tensor([pq]), 8, 10000.0)
        ck, sk = yarn_cos_sin(torch.tensor([pk]), 8, 10000.0)
        rq = apply_rope_reference(q, cq.double(), sq.double(), True)
        rk = apply_rope_reference(k, ck.double(), sk.double(), True)
        return float((rq * rk).sum())
    assert math.isclose(logit(7, 3), logit(104, 100), rel_tol=1e-4)
    assert not math.isclose(logit(7, 3), logit(3, 7), rel_tol=1e-4)


def test_yarn_tables_match_transformers():
    from transformers import DeepseekV2Config
    from transformers.modeling_rope_utils import _compute_yarn_parameters

    config = DeepseekV2Config(
        qk_rope_head_dim=64, max_position_embeddings=163840,
        rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 40.0,
                         "original_max_position_embeddings": 4096, "beta_fast": 32, "beta_slow": 1,
                         "mscale": 0.707, "mscale_all_dim": 0.707},
    )
    want_inv_freq, want_factor = _compute_yarn_parameters(config, "cpu")
    assert torch.allclose(rope_inv_freq(64, 10000.0, V2_LITE_YARN), want_inv_freq, rtol=1e-6)
    cos, sin = yarn_cos_sin(torch.tensor([0, 1, 4095]), 64, 10000.0, V2_LITE_YARN)
    assert math.isclose(want_factor, 1.0)
    assert torch.allclose(cos[0], torch.ones(32)) and torch.allclose(sin[0], torch.zeros(32))
    assert torch.allclose(cos**2 + sin**2, torch.ones_like(cos), atol=1e-5)  # magnitude 1.0 for V2-Lite


def test_yarn_magnitude_and_mscale():
    scaling = YarnScaling(factor=40.0, original_max_position_embeddings=4096, mscale=1.0, mscale_all_dim=0.0)
    cos, sin = yarn_cos_sin(torch.tensor([3]), 16, 10000.0, scaling)
    expected = 0.1 * math.log(40.0) + 1.0
    assert torch.allclose(cos**2 + sin**2, torch.full_like(cos, expected**2), rtol=1e-5)
    assert yarn_mscale(1.0, 0.707) == 1.0


def test_ambiguous_token_axis_is_an_error():
    cos, sin = yarn_cos_sin(torch.arange(4), 8, 10000.0)
    with pytest.raises(ValueError, match="token_axis"):
        apply_rope_reference(torch.zeros(4, 4, 8), cos, sin, True)
    with pytest.raises(ValueError, match="token axis"):
        apply_rope_reference(torch.zeros(3, 5, 8), cos, sin, True)
