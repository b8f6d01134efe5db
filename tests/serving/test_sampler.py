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


def test_seed_streams_are_reproducible_per_sample_whatever_the_batch():
    from serving.sampler import SeedStream

    logits = torch.randn(6, 300, generator=torch.Generator().manual_seed(2))
    params = [SamplingParams(temperature=1.0, top_p=0.9)] * 6
    alone = [sample(logits[i : i + 1], params[:1], [SeedStream(100 + i)])[0].token_id for i in range(6)]
    streams = [SeedStream(100 + i) for i in range(6)]
    batched = [o.token_id for o in sample(logits, params, streams)]
    assert batched == alone and all(s.draws == 1 for s in streams)
    later = [o.token_id for _ in range(8) for o in sample(logits, params, streams)]
    assert len(set(later)) > 6  # each draw advances the stream


def test_seed_stream_frequencies_follow_the_probabilities():
    from serving.sampler import SeedStream

    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    logits = torch.log(probs)[None, :].repeat(4000, 1)
    tokens = torch.tensor([o.token_id for o in sample(logits, [SamplingParams(temperature=1.0)] * 4000,
                                                        [SeedStream(k) for k in range(4000)])])
    freq = torch.bincount(tokens, minlength=4).double() / 4000
    assert torch.allclose(freq, probs.double(), atol=0.025)


def test_candidate_nucleus_equals_the_full_sort():
    """The nucleus taken from the best candidates (when they cover it) is the one a full sort gives."""
    import serving.sampler as sampler

    g = torch.Generator().manual_seed(3)
    peaked = torch.randn(5, 500, generator=g) * 6  # nucleus inside the candidates
    flat = torch.randn(5, 500, generator=g) * 0.1  # nucleus far beyond them: the sort path
    logits = torch.cat([peaked, flat])
    top_k = torch.tensor([0, 5, 0, 100, 0, 0, 5, 0, 100, 0])
    top_p = torch.tensor([0.9, 1.0, 0.5, 0.95, 1.0, 0.9, 1.0, 0.5, 0.95, 1.0])
    fast = sampler._truncate(logits, top_k, top_p)
    original, sampler.NUCLEUS_CANDIDATES = sampler.NUCLEUS_CANDIDATES, 500  # every row sorted in full
    try:
        full = sampler._truncate(logits, top_k, top_p)
    finally:
        sampler.NUCLEUS_CANDIDATES = original
    assert torch.equal(torch.isfinite(fast), torch.isfinite(full))
    assert torch.equal(fast[torch.isfinite(fast)], full[torch.isfinite(full)])
    assert int(torch.isfinite(fast[5:]).sum(dim=-1).max()) > 64  # the flat rows did leave the candidates


def test_a_samples_draw_does_not_depend_on_the_rest_of_the_batch():
    """Peaked rows (candidate path) and flat rows (whole-vocabulary path) in one batch draw
    what each draws alone."""
    from serving.sampler import SeedStream

    g = torch.Generator().manual_seed(6)
    logits = torch.cat([torch.randn(3, 400, generator=g) * 6, torch.randn(3, 400, generator=g) * 0.1])
    params = [SamplingParams(temperature=0.8, top_p=0.9)] * 6
    streams = [SeedStream(k) for k in range(6)]
    together = [o.token_id for _ in range(3) for o in sample(logits, params, streams)]
    alone_streams = [SeedStream(k) for k in range(6)]
    alone = [sample(logits[i : i + 1], params[:1], [alone_streams[i]])[0].token_id for _ in range(3) for i in range(6)]
    assert together == alone and all(s.draws == 3 for s in streams)
    assert len(set(together[3:6] + together[9:12] + together[15:18])) > 3  # the flat rows really sample widely


def test_an_untruncated_rows_draw_does_not_depend_on_truncating_neighbours():
    """A row without top-k/top-p always draws over the whole vocabulary, alone or beside rows that
    truncate (even when its best candidates hold all its mass)."""
    from serving.sampler import SeedStream

    g = torch.Generator().manual_seed(8)
    logits = torch.randn(4, 300, generator=g) * 40  # so peaked that the candidates hold all the mass
    params = [SamplingParams(temperature=1.0), SamplingParams(temperature=1.0, top_p=0.9)] * 2
    together = [o.token_id for o in sample(logits, params, [SeedStream(k) for k in range(4)])]
    alone = [sample(logits[i : i + 1], params[i : i + 1], [SeedStream(i)])[0].token_id for i in range(4)]
    assert together == alone


def test_draw_candidates_settles_greedy_and_covered_truncating_rows_only():
    from serving.sampler import draw_candidates, drawer_inputs

    logits, temperature, top_k, top_p, keys, draws, greedy = drawer_inputs(12, 500, seed=1)
    token, logprob, settled = draw_candidates(logits, temperature, top_k, top_p, keys, draws, greedy)
    truncates = (top_k > 0) | (top_p < 1)
    assert torch.equal(token[greedy], logits[greedy].argmax(-1))
    assert not bool(settled[~greedy & ~truncates].any())  # left to the whole-vocabulary draw
    assert bool(settled[greedy].all())
    assert torch.allclose(logprob, torch.log_softmax(logits, -1).gather(-1, token[:, None])[:, 0])


def _nucleus_by_sort(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Reference kept-set mask of one row: sort, keep while the strictly better tokens hold < top_p."""
    probs = torch.softmax(logits.double(), -1)
    sorted_probs, order = torch.sort(probs, descending=True)
    before = torch.cumsum(sorted_probs, -1) - sorted_probs
    keep_sorted = before < top_p
    keep_sorted[0] = True
    return torch.zeros_like(keep_sorted).scatter(0, order, keep_sorted)


def test_nucleus_of_every_width_matches_a_sort():
    """Rows whose nucleus fits the first candidates, needs the wider second set, or needs a full
    sort (vocabulary 3000) all keep exactly the tokens a sort-based nucleus keeps."""
    import serving.sampler as sampler

    g = torch.Generator().manual_seed(12)
    vocab = 3000
    logits = torch.cat([
        torch.randn(2, vocab, generator=g) * 6,  # a few tokens
        torch.randn(2, vocab, generator=g) * 2.5,  # hundreds: beyond the first candidates
        torch.randn(2, vocab, generator=g) * 0.05,  # nearly flat: beyond the wider set too
    ])
    top_p = 0.9
    masked = sampler._truncate(logits, torch.zeros(6, dtype=torch.long), torch.full((6,), top_p))
    sizes = torch.isfinite(masked).sum(-1).tolist()
    assert sizes[0] <= sampler.NUCLEUS_CANDIDATES < sizes[2] <= sampler.WIDE_CANDIDATES < sizes[4]
    for row in range(6):
        want = _nucleus_by_sort(logits[row], top_p)
        assert torch.equal(torch.isfinite(masked[row]), want), row
        assert torch.equal(masked[row][want], logits[row][want])


def test_a_row_draws_the_same_token_on_the_candidate_and_the_whole_vocabulary_path(monkeypatch):
    """A seeded row's noise is a function of (seed, draw, token): drawn among the first candidates or
    over the whole vocabulary (forced here by shrinking the candidates), it picks the same token."""
    import serving.sampler as sampler
    from serving.sampler import SeedStream

    g = torch.Generator().manual_seed(13)
    logits = torch.randn(8, 2000, generator=g) * 3
    params = [SamplingParams(temperature=1.0, top_p=0.8)] * 8
    fast = [o.token_id for _ in range(4) for o in sample(logits, params, [SeedStream(k) for k in range(8)])]
    monkeypatch.setattr(sampler, "NUCLEUS_CANDIDATES", 2)  # every row's nucleus now leaves them
    wide = [o.token_id for _ in range(4) for o in sample(logits, params, [SeedStream(k) for k in range(8)])]
    assert fast == wide


def test_top_tokens_equal_topk_on_large_vocabularies():
    from serving.sampler import top_tokens

    g = torch.Generator().manual_seed(14)
    for vocab in (1257, 16384, 20001):
        logits = torch.randn(5, vocab, generator=g) * torch.tensor([0.1, 1.0, 5.0, 20.0, 1.0])[:, None]
        logits[4, 7] = float("-inf")  # masked tokens are fine
        for width in (64, 1024):
            want_values, want_ids = torch.topk(logits, width, dim=-1)
            values, ids = top_tokens(logits, width)
            assert torch.equal(values, want_values)
            assert torch.equal(logits.gather(-1, ids), values) and bool((ids < vocab).all())
