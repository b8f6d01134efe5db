"""The sampler's draws without a full-vocabulary sort: the nucleus by rejection, top-k among the k
candidates; both follow the truncated, renormalised distribution exactly (as `_truncate` defines it)."""

from __future__ import annotations

import torch

from serving import sampler
from serving.params import SamplingParams
from serving.sampler import _truncate, sample


def _gens(n, seed=0):
    return [torch.Generator().manual_seed(seed + i) for i in range(n)]


def _frequencies(logits_row: torch.Tensor, params: SamplingParams, draws: int, seed: int) -> torch.Tensor:
    logits = logits_row[None, :].repeat(draws, 1)
    tokens = torch.tensor([o.token_id for o in sample(logits, [params] * draws, _gens(draws, seed))])
    return torch.bincount(tokens, minlength=logits_row.numel()).double() / draws


def _truncated_probs(logits_row: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    masked = _truncate(logits_row[None, :], torch.tensor([top_k]), torch.tensor([top_p]))
    return torch.softmax(masked, dim=-1)[0].double()


def test_nucleus_draws_follow_the_renormalised_nucleus():
    logits_row = torch.log(torch.tensor([0.3, 0.25, 0.2, 0.1, 0.08, 0.04, 0.02, 0.01]))
    params = SamplingParams(temperature=1.0, top_p=0.8)
    freq = _frequencies(logits_row, params, 3000, seed=3)
    want = _truncated_probs(logits_row, 0, 0.8)  # keeps the first four tokens
    assert (want[4:] == 0).all() and (freq[4:] == 0).all()
    assert torch.allclose(freq, want, atol=0.03)


def test_top_k_with_top_p_draws_among_the_candidates():
    logits_row = torch.randn(200, generator=torch.Generator().manual_seed(1)) * 2
    params = SamplingParams(temperature=0.7, top_k=5, top_p=0.9)
    freq = _frequencies(logits_row, params, 3000, seed=5)
    want = _truncated_probs(logits_row / 0.7, 5, 0.9)
    assert set(freq.nonzero()[:, 0].tolist()) <= set(want.nonzero()[:, 0].tolist())
    assert torch.allclose(freq, want, atol=0.03)


def test_a_small_nucleus_of_a_flat_distribution_falls_back_to_the_exact_truncation(monkeypatch):
    calls = []
    original = sampler._truncate
    monkeypatch.setattr(sampler, "_truncate", lambda *a: calls.append(1) or original(*a))
    logits_row = -torch.arange(1000.0) * 1e-3  # nearly flat, no ties: a top_p 0.01 nucleus holds ~1% of the mass
    freq = _frequencies(logits_row, SamplingParams(temperature=1.0, top_p=0.01), 300, seed=9)
    assert calls, "some rows were rejected every round and took the sorting path"
    want = _truncated_probs(logits_row, 0, 0.01)
    assert 5 <= int((want > 0).sum()) <= 15
    assert set(freq.nonzero()[:, 0].tolist()) <= set(want.nonzero()[:, 0].tolist())


def test_mixed_batch_keeps_each_rows_generator():
    logits = torch.randn(6, 300, generator=torch.Generator().manual_seed(2))
    params = [SamplingParams(temperature=1.0, top_p=0.9), SamplingParams(temperature=1.0, top_k=4),
              SamplingParams(temperature=0), SamplingParams(temperature=1.0),
              SamplingParams(temperature=0.5, top_k=10, top_p=0.5), SamplingParams(temperature=1.0, top_p=0.95)]
    together = [o.token_id for o in sample(logits, params, _gens(6, seed=4))]
    alone = [sample(logits[i:i + 1], [params[i]], [_gens(6, seed=4)[i]])[0].token_id for i in range(6)]
    assert together == alone
    assert together[2] == int(logits[2].argmax())


def test_inverse_cdf_across_chunk_borders():
    """Tokens on both sides of the 256-token chunk borders and in the padded last chunk."""
    probs = torch.full((700,), 0.2 / 696)
    heavy = [255, 256, 511, 699]
    probs[heavy] = 0.2
    rows = probs[None, :].repeat(4000, 1)
    drawn = sampler._inverse_cdf(rows, _gens(4000, seed=21))
    freq = torch.bincount(drawn, minlength=700).double() / 4000
    assert torch.allclose(freq[heavy], torch.full((4,), 0.2, dtype=torch.float64), atol=0.03)
    assert abs(freq.sum().item() - 1.0) < 1e-9 and drawn.max().item() < 700
    zero_mass = torch.zeros(3, 700)
    zero_mass[:, 10] = 1.0
    assert sampler._inverse_cdf(zero_mass, _gens(3)).tolist() == [10, 10, 10]
