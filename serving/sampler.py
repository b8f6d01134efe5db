"""Next-token sampling: greedy, temperature, top-k, top-p, per-sample seeded generators, logprobs.

Returned logprobs are those of the model's raw distribution (log_softmax of the logits), as
vLLM reports them, whatever the temperature or truncation used to draw the token.

Drawing never sorts the whole vocabulary (on a CPU, sorting 64 rows of a 16k vocabulary costs more
than a small model's forward): rows with top-k truncate among their k candidates (`torch.topk`);
rows with top-p only draw from the full distribution by inverse CDF and accept the token when it is
in the nucleus (the mass of strictly more likely tokens is below top_p), else draw again. That is
rejection sampling, so the accepted token follows the renormalised nucleus exactly; a draw is
accepted with probability >= top_p, and the rare row still rejected after a few rounds is truncated
by the sorting `_truncate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from serving.params import SamplingParams


@dataclass
class SampledToken:
    token_id: int
    logprob: float
    top_logprobs: dict[int, float] | None


def _truncate(logits: torch.Tensor, top_k: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """Mask (to -inf) tokens outside each row's top-k and top-p nucleus. logits [B,V] (already
    divided by temperature); top_k [B] (<= 0: off); top_p [B] (1: off). The nucleus keeps a token
    when its strictly more likely tokens hold less than top_p of the mass."""
    vocab = logits.shape[-1]
    if bool((top_k > 0).any()) or bool((top_p < 1).any()):
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        ranks = torch.arange(vocab, device=logits.device)[None, :]
        k = torch.where(top_k > 0, top_k.clamp(max=vocab), torch.full_like(top_k, vocab))
        drop = ranks >= k[:, None]
        probs = torch.softmax(sorted_logits.masked_fill(drop, float("-inf")), dim=-1)
        mass_before = torch.cumsum(probs, dim=-1) - probs  # probability of strictly better tokens
        drop = drop | (mass_before >= top_p[:, None])
        drop[:, 0] = False  # the most likely token always survives
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.empty_like(logits).scatter_(-1, order, sorted_logits)
    return logits


_REJECTION_ROUNDS = 8


_CDF_CHUNK = 256


def _inverse_cdf(probs: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
    """One token per row of probs [R, V] (rows need not sum to 1), with one uniform from each
    row's generator. Returns long [R].

    Two levels, in float64: the cumulative mass of chunks of _CDF_CHUNK tokens picks the chunk,
    a cumulative sum inside that chunk alone picks the token (a full-row cumsum costs more)."""
    rows, vocab = probs.shape
    uniform = torch.stack(
        [torch.rand((), generator=g, dtype=torch.float64, device=g.device) for g in generators]
    ).to(probs.device)
    pad = -vocab % _CDF_CHUNK
    chunks = (torch.nn.functional.pad(probs, (0, pad)) if pad else probs).reshape(rows, -1, _CDF_CHUNK)
    chunk_mass = chunks.sum(dim=-1, dtype=torch.float64)
    chunk_cdf = chunk_mass.cumsum(dim=-1)
    target = (uniform * chunk_cdf[:, -1])[:, None]
    chunk = torch.searchsorted(chunk_cdf, target, right=True).clamp_(max=chunk_cdf.shape[1] - 1)
    mass_before = chunk_cdf.gather(1, chunk) - chunk_mass.gather(1, chunk)
    inner_cdf = chunks[torch.arange(rows, device=probs.device), chunk[:, 0]].to(torch.float64).cumsum(dim=-1)
    inner = torch.searchsorted(inner_cdf, target - mass_before, right=True).clamp_(max=_CDF_CHUNK - 1)
    drawn = (chunk * _CDF_CHUNK + inner).clamp_(max=vocab - 1)
    # rounding could land on a token without mass (past the chunk's last one); never pick those
    zero = probs.gather(1, drawn) <= 0
    if bool(zero.any()):
        drawn = torch.where(zero, probs.argmax(dim=-1, keepdim=True), drawn)
    return drawn[:, 0]


def _draw_top_k(scaled: torch.Tensor, top_k: torch.Tensor, top_p: torch.Tensor, generators) -> torch.Tensor:
    """Rows with top-k: truncate (top-k, then the nucleus) among the k best candidates only."""
    k_max = min(int(top_k.max()), scaled.shape[-1])
    values, ids = torch.topk(scaled, k_max, dim=-1)
    probs = torch.softmax(_truncate(values, top_k, top_p), dim=-1)
    return ids.gather(1, _inverse_cdf(probs, generators)[:, None])[:, 0]


def _draw_nucleus(scaled: torch.Tensor, top_p: torch.Tensor, generators) -> torch.Tensor:
    """Rows without top-k: draw from softmax(scaled), keep draws inside the nucleus (see module doc)."""
    probs = torch.softmax(scaled, dim=-1)
    chosen = torch.empty(probs.shape[0], dtype=torch.long, device=probs.device)
    pending = torch.arange(probs.shape[0], device=probs.device)
    for round_index in range(_REJECTION_ROUNDS):
        rows = probs if round_index == 0 else probs[pending]
        drawn = _inverse_cdf(rows, [generators[i] for i in pending.tolist()])
        chosen[pending] = drawn
        p_drawn = rows.gather(1, drawn[:, None])
        mass_before = (rows * (rows > p_drawn)).sum(dim=-1)
        accepted = (mass_before < top_p[pending]) | (top_p[pending] >= 1)
        pending = pending[~accepted]
        if pending.numel() == 0:
            return chosen
    left = pending.tolist()
    truncated = _truncate(scaled[pending], torch.zeros_like(pending), top_p[pending])
    chosen[pending] = _inverse_cdf(torch.softmax(truncated, dim=-1), [generators[i] for i in left])
    return chosen


def sample(
    logits: torch.Tensor,
    params: list[SamplingParams],
    generators: list[torch.Generator],
) -> list[SampledToken]:
    """One token per row of logits [B, V]; row i uses params[i] and draws from generators[i]."""
    compute = torch.float64 if logits.dtype == torch.float64 else torch.float32
    logits = logits.to(compute)
    log_normaliser = torch.logsumexp(logits, dim=-1, keepdim=True)  # raw logprob = logit - this
    chosen = torch.argmax(logits, dim=-1)

    sampled_rows = [i for i, p in enumerate(params) if not p.greedy]
    if sampled_rows:
        rows = torch.tensor(sampled_rows, device=logits.device)
        temperature = torch.tensor([params[i].temperature for i in sampled_rows], dtype=compute, device=logits.device)
        top_k = torch.tensor([params[i].top_k for i in sampled_rows], device=logits.device)
        top_p = torch.tensor([params[i].top_p for i in sampled_rows], dtype=compute, device=logits.device)
        scaled = logits[rows] / temperature[:, None]
        # Each row draws from its own generator: reproducible whatever the batch.
        row_generators = [generators[i] for i in sampled_rows]
        with_k = (top_k > 0).nonzero()[:, 0]
        without_k = (top_k <= 0).nonzero()[:, 0]
        picked = torch.empty(len(sampled_rows), dtype=torch.long, device=logits.device)
        if with_k.numel():
            gens = [row_generators[j] for j in with_k.tolist()]
            picked[with_k] = _draw_top_k(scaled[with_k], top_k[with_k], top_p[with_k], gens)
        if without_k.numel():
            gens = [row_generators[j] for j in without_k.tolist()]
            picked[without_k] = _draw_nucleus(scaled[without_k], top_p[without_k], gens)
        chosen[rows] = picked

    results = []
    chosen_list = chosen.tolist()
    chosen_logprobs = (logits.gather(-1, chosen[:, None]) - log_normaliser)[:, 0].tolist()
    max_top = max((p.logprobs or 0) for p in params)
    if max_top:
        top_values, top_ids = torch.topk(logits, max_top, dim=-1)
        top_values = top_values - log_normaliser
    for i, p in enumerate(params):
        top = None
        if p.logprobs is not None:
            k = p.logprobs
            top = dict(zip(top_ids[i, :k].tolist(), top_values[i, :k].tolist())) if k else {}
        results.append(SampledToken(chosen_list[i], chosen_logprobs[i], top))
    return results
