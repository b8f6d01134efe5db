"""The sampler: greedy, truncation, seeds, raw logprobs."""

from __future__ import annotations

import torch

from serving.params import SamplingParams
from serving.sampler import _truncate, sample


def _gens(n, seed=0):
    return [torch.Generator().manual_seed(seed + i) for i in range(n)]


def test_greedy_and_raw_logprobs():
    logits = torch.tensor([[0.0, 3.0, 1.0], [2.0, 0.0, -1.0]])
    out = sample(logits, [SamplingParams(temperature=0, logprobs=2)] * 2, _gens(2))
    assert [o.token_id for o in out] == [1, 0]
    raw = torch.log_softmax(logits, -1)
    assert abs(out[0].logprob - raw[0, 1].item()) < 1e-6
    assert list(out[0].top_logprobs) == [1, 2]


def test_truncation_keeps_top_k_and_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]] * 3))
    masked = _truncate(logits, torch.tensor([2, 0, 0]), torch.tensor([1.0, 0.7, 0.85]))
    kept = torch.isfinite(masked)
    assert kept[0].tolist() == [True, True, False, False]  # top-2
    assert kept[1].tolist() == [True, True, False, False]  # 0.5 < 0.7 needs the second token
    assert kept[2].tolist() == [True, True, True, False]  # 0.8 < 0.85 needs the third


def test_sampling_only_draws_allowed_tokens_and_follows_temperature():
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0, -3.0]])
    params = SamplingParams(temperature=1.0, top_k=3, seed=0)
    g = torch.Generator().manual_seed(5)
    draws = [sample(logits, [params], [g])[0].token_id for _ in range(300)]
    assert set(draws) <= {0, 1, 2} and len(set(draws)) == 3
    cold = SamplingParams(temperature=0.05)
    assert {sample(logits, [cold], [g])[0].token_id for _ in range(50)} == {0}


def test_same_generator_state_same_draws():
    logits = torch.randn(4, 50)
    params = [SamplingParams(temperature=1.0, top_p=0.9)] * 4
    a = [o.token_id for o in sample(logits, params, _gens(4, seed=7))]
    b = [o.token_id for o in sample(logits, params, _gens(4, seed=7))]
    c = [o.token_id for _ in range(5) for o in sample(logits, params, _gens(4, seed=8))]
    assert a == b and len(set(c)) > 1


def test_draw_frequencies_follow_the_probabilities():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    logits = torch.log(probs)[None, :].repeat(2000, 1)
    params = [SamplingParams(temperature=1.0)] * 2000
    tokens = torch.tensor([o.token_id for o in sample(logits, params, _gens(2000, seed=11))])
    freq = torch.bincount(tokens, minlength=4).double() / 2000
    assert torch.allclose(freq, probs.double(), atol=0.03)
