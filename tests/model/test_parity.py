"""Logits of `load_model(save_pretrained(reference))` match transformers' DeepseekV2/V3ForCausalLM.

Each case is a tiny random model; both attention modes are compared with the reference on the
same token batch. The cases cover q_lora_rank null/set, greedy / group_limited_greedy / noaux_tc
routing (with a finite nonzero correction bias), first_k_dense_replace 0 and >= 1, YaRN on/off in
both config spellings, rope_interleave on/off and tied embeddings.
"""
from __future__ import annotations

import pytest
import torch

from model.loader import load_model

TOLERANCE = 1e-4

YARN = {"factor": 4.0, "original_max_position_embeddings": 64, "beta_fast": 32, "beta_slow": 1}

CASES = {
    # V2-Lite-shaped: plain q_proj, greedy softmax routing, every layer MoE, no YaRN; attention biases
    "v2_qproj_greedy_dense0_bias": (
        "v2", dict(q_lora_rank=None, topk_method="greedy", first_k_dense_replace=0, attention_bias=True)
    ),
    # V2-shaped: low-rank q, group-limited routing, a dense first layer, YaRN with equal mscales
    "v2_qlora_grouped_dense1_yarn": (
        "v2",
        dict(
            q_lora_rank=48,
            topk_method="group_limited_greedy",
            n_group=4,
            topk_group=2,
            first_k_dense_replace=1,
            routed_scaling_factor=1.5,
            rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, **YARN, "mscale": 0.707, "mscale_all_dim": 0.707},
        ),
    ),
    # V3-shaped: sigmoid + noaux_tc with a bias, a dense first layer, YaRN with different mscales
    "v3_qlora_noaux_dense1_yarn": (
        "v3",
        dict(
            q_lora_rank=48,
            n_group=4,
            topk_group=2,
            first_k_dense_replace=1,
            routed_scaling_factor=2.5,
            rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, **YARN, "mscale": 1.0, "mscale_all_dim": 0.8},
        ),
    ),
    # V3 without q LoRA, all MoE, no renormalisation, half-split rope layout, tied embeddings
    "v3_qproj_noaux_dense0_tied": (
        "v3",
        dict(
            q_lora_rank=None,
            n_group=2,
            topk_group=1,
            first_k_dense_replace=0,
            norm_topk_prob=False,
            rope_interleave=False,
            tie_word_embeddings=True,
            rope_parameters={"rope_type": "default", "rope_theta": 5000.0},
        ),
    ),
}


def _randomise_linear_biases(reference) -> None:
    """transformers initialises biases to zero; make them count."""
    generator = torch.Generator().manual_seed(9)
    for name, param in reference.named_parameters():
        if name.endswith(".bias"):
            param.data.copy_(torch.randn(param.shape, generator=generator) * 0.1)


def _set_correction_bias(reference) -> None:
    """A finite, nonzero bias large enough to change which experts are picked."""
    generator = torch.Generator().manual_seed(7)
    for layer in reference.model.layers:
        gate = getattr(layer.mlp, "gate", None)
        if gate is not None and hasattr(gate, "e_score_correction_bias"):
            bias = torch.randn(gate.e_score_correction_bias.shape, generator=generator) * 0.3
            gate.e_score_correction_bias.copy_(bias)


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_match_transformers_in_both_attention_modes(case, make_reference, token_batch, tmp_path):
    version, overrides = CASES[case]
    torch.manual_seed(0)
    reference = make_reference(version, **overrides)
    _randomise_linear_biases(reference)
    if version == "v3":
        _set_correction_bias(reference)
    reference.save_pretrained(tmp_path)
    with torch.no_grad():
        expected = reference(token_batch).logits

    ours = load_model(tmp_path, attention_mode="naive")
    for mode in ("naive", "absorb"):
        ours.set_attention_mode(mode)
        with torch.no_grad():
            logits = ours(token_batch)
        assert logits.shape == expected.shape
        error = (logits - expected).abs().max().item()
        assert error <= TOLERANCE, f"{case} / {mode}: max abs logit error {error:.3g}"


def test_published_rope_scaling_spelling_matches_transformers(make_reference, edit_config, token_batch, tmp_path):
    """config.json rewritten to the published `rope_theta` + `rope_scaling: {type: yarn}` form."""
    torch.manual_seed(1)
    rope = {"rope_type": "yarn", "rope_theta": 10000.0, **YARN, "mscale": 0.707, "mscale_all_dim": 0.707}
    reference = make_reference("v2", q_lora_rank=None, first_k_dense_replace=1, rope_parameters=rope)
    reference.save_pretrained(tmp_path)

    def to_published(data):
        params = data.pop("rope_parameters")
        data["rope_theta"] = params.pop("rope_theta")
        params.pop("rope_type")
        data["rope_scaling"] = {"type": "yarn", **params}

    edit_config(tmp_path, to_published)
    with torch.no_grad():
        expected = reference(token_batch).logits
        logits = load_model(tmp_path)(token_batch)
    assert (logits - expected).abs().max().item() <= TOLERANCE


def test_correction_bias_and_yarn_change_the_reference(make_reference, token_batch):
    """The parity cases are sensitive: dropping the bias or YaRN moves the reference logits."""
    version, overrides = CASES["v3_qlora_noaux_dense1_yarn"]
    torch.manual_seed(0)
    reference = make_reference(version, **overrides)
    _set_correction_bias(reference)
    with torch.no_grad():
        with_bias = reference(token_batch).logits
        for layer in reference.model.layers:
            if hasattr(layer.mlp, "gate"):
                layer.mlp.gate.e_score_correction_bias.zero_()
        without_bias = reference(token_batch).logits
    assert (with_bias - without_bias).abs().max().item() > 100 * TOLERANCE

    torch.manual_seed(0)
    plain = make_reference(version, **{**overrides, "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}})
    _set_correction_bias(plain)
    with torch.no_grad():
        plain_logits = plain(token_batch).logits
    assert (with_bias - plain_logits).abs().max().item() > 100 * TOLERANCE
