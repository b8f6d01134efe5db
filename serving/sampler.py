"""Next-token sampling: greedy, temperature, top-k, top-p, per-sample seeded generators, logprobs.

Returned logprobs are those of the model's raw distribution (log_softmax of the logits), as
vLLM reports them, whatever the temperature or truncation used to draw the token.
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


def sample(
    logits: torch.Tensor,
    params: list[SamplingParams],
    generators: list[torch.Generator],
) -> list[SampledToken]:
    """One token per row of logits [B, V]; row i uses params[i] and draws from generators[i]."""
    compute = torch.float64 if logits.dtype == torch.float64 else torch.float32
    logits = logits.to(compute)
    raw_logprobs = torch.log_softmax(logits, dim=-1)
    chosen = torch.argmax(logits, dim=-1)

    sampled_rows = [i for i, p in enumerate(params) if not p.greedy]
    if sampled_rows:
        rows = torch.tensor(sampled_rows, device=logits.device)
        temperature = torch.tensor([params[i].temperature for i in sampled_rows], dtype=compute, device=logits.device)
        top_k = torch.tensor([params[i].top_k for i in sampled_rows], device=logits.device)
        top_p = torch.tensor([params[i].top_p for i in sampled_rows], dtype=compute, device=logits.device)
        scaled = _truncate(logits[rows] / temperature[:, None], top_k, top_p)
        probs = torch.softmax(scaled, dim=-1)
        # Exponential race: argmax_i p_i / E_i with E_i ~ Exp(1) draws i with probability p_i.
        # Each row's noise comes from its own generator (reproducible whatever the batch), and
        # one batched argmax replaces a multinomial call per row.
        noise = torch.empty_like(probs)
        for j, i in enumerate(sampled_rows):
            noise[j].exponential_(generator=generators[i])
        chosen[rows] = torch.argmax(probs / noise, dim=-1)

    results = []
    chosen_list = chosen.tolist()
    chosen_logprobs = raw_logprobs.gather(-1, chosen[:, None])[:, 0].tolist()
    max_top = max((p.logprobs or 0) for p in params)
    if max_top:
        top_values, top_ids = torch.topk(raw_logprobs, max_top, dim=-1)
    for i, p in enumerate(params):
        top = None
        if p.logprobs is not None:
            k = p.logprobs
            top = dict(zip(top_ids[i, :k].tolist(), top_values[i, :k].tolist())) if k else {}
        results.append(SampledToken(chosen_list[i], chosen_logprobs[i], top))
    return results
