"""The router on hand-checked cases (the parity tests check it against transformers too)."""
from __future__ import annotations

import torch

from model.deepseek import RoutingConfig, route


def _routing(**changes) -> RoutingConfig:
    base = dict(top_k=2, topk_method="noaux_tc", scoring_func="sigmoid", n_group=2, topk_group=1,
                norm_topk_prob=True, routed_scaling_factor=2.5)
    return RoutingConfig(**{**base, **changes})


def _logit(p: float) -> float:
    return float(torch.logit(torch.tensor(p)))


def test_noaux_tc_selects_with_bias_but_weighs_without_it():
    # experts 0-3 form group 0, 4-7 group 1; scores chosen by their sigmoid
    scores = [0.9, 0.12, 0.1, 0.05, 0.5, 0.45, 0.4, 0.1]
    logits = torch.tensor([[_logit(p) for p in scores]])
    bias = torch.zeros(8)
    idx, weight = route(logits, _routing(), bias)
    # group 0's top-2 sum (1.02) beats group 1's (0.95)
    assert sorted(idx[0].tolist()) == [0, 1]
    bias[5] = 0.3  # group 1 now sums 0.75 + 0.5 = 1.25 > 1.02, and expert 5 leads it
    idx, weight = route(logits, _routing(), bias)
    assert sorted(idx[0].tolist()) == [4, 5]
    chosen = dict(zip(idx[0].tolist(), weight[0].tolist()))
    # weights are the unbiased sigmoid scores, renormalised, times the scaling factor
    assert abs(chosen[5] - 2.5 * 0.45 / 0.95) < 1e-5 and abs(chosen[4] - 2.5 * 0.5 / 0.95) < 1e-5


def test_noaux_tc_masks_other_groups_with_minus_infinity():
    # biased scores: group 0 = -0.2, -0.3 (kept), group 1 = -0.4, -0.45. A 0-mask would rank the
    # dropped group's experts (0) above the kept ones; -inf never does.
    logits = torch.tensor([[_logit(0.3), _logit(0.2), _logit(0.1), _logit(0.05)]])
    bias = torch.full((4,), -0.5)
    idx, _ = route(logits, _routing(top_k=2, n_group=2, topk_group=1), bias)
    assert sorted(idx[0].tolist()) == [0, 1]


def test_group_limited_greedy_uses_group_max_and_no_renormalisation():
    probs = torch.tensor([[0.30, 0.02, 0.20, 0.18, 0.15, 0.15]])
    logits = probs.log()  # softmax(log p) = p
    routing = _routing(topk_method="group_limited_greedy", scoring_func="softmax", n_group=3, topk_group=1,
                       norm_topk_prob=True, routed_scaling_factor=2.0)
    idx, weight = route(logits, routing)
    # group maxima 0.30 / 0.20 / 0.15: only group 0 survives, so the second pick is expert 1 (0.02)
    assert sorted(idx[0].tolist()) == [0, 1]
    assert torch.allclose(weight[0].sort().values, torch.tensor([0.04, 0.60]), atol=1e-6)


def test_greedy_is_plain_topk_of_softmax_scaled():
    logits = torch.tensor([[2.0, 0.0, 1.0, -1.0]])
    idx, weight = route(logits, _routing(topk_method="greedy", scoring_func="softmax", routed_scaling_factor=1.0))
    probs = logits.softmax(-1)[0]
    assert sorted(idx[0].tolist()) == [0, 2]
    assert torch.allclose(weight[0].sort().values, probs[[2, 0]], atol=1e-7)
