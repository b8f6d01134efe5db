"""What a policy is asked and what it answers (shared by every policy and both searches)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from lean_env.theorem import Theorem
from lean_env.types import TacticState


@dataclass(frozen=True)
class PolicyRequest:
    """Propose next tactics for `state`, reached from the theorem's start by `proof_so_far`."""

    theorem: Theorem
    proof_so_far: list[str] = field(hash=False)
    state: TacticState


@dataclass(frozen=True)
class Candidate:
    """One proposed tactic. `logprob` orders candidates (higher = better); `tokens` is what
    generating it cost (0 for policies that generate nothing). `continuation` holds the tactics
    a model wrote after this one in the same completion (the rest of its proof attempt): RMaxTS
    rolls them out after `tactic`; best-first ignores them."""

    tactic: str
    logprob: float
    tokens: int = 0
    continuation: tuple[str, ...] = ()


@runtime_checkable
class Policy(Protocol):
    async def propose(self, requests: list[PolicyRequest], k: int) -> list[list[Candidate]]:
        """For each request, up to `k` distinct candidates, best first."""
        ...


class Proposals(list):
    """One request's candidates, plus the tokens generated for samples that gave no candidate
    (unparsable, or refused by the guard) when none could carry them: the search charges
    those too, so the token budget sees everything generated."""

    def __init__(self, candidates=(), unusable_tokens: int = 0):
        super().__init__(candidates)
        self.unusable_tokens = unusable_tokens


def unusable_tokens(candidates: list[Candidate]) -> int:
    return getattr(candidates, "unusable_tokens", 0)


def dedupe_best_first(candidates: list[Candidate], k: int, extra_tokens: int = 0) -> list[Candidate]:
    """Distinct tactics (whitespace-normalised), each with its best log-prob, best first, at most
    `k`. The tokens of dropped duplicates (and `extra_tokens`) are charged to the kept one, or
    carried by the returned Proposals when none is kept, so none go uncounted."""
    best: dict[str, Candidate] = {}
    spent: dict[str, int] = {}
    for cand in candidates:
        key = " ".join(cand.tactic.split())
        spent[key] = spent.get(key, 0) + cand.tokens
        if key not in best or cand.logprob > best[key].logprob:
            best[key] = cand
    ranked = sorted(best.items(), key=lambda item: -item[1].logprob)
    kept = [replace(c, tokens=spent[key]) for key, c in ranked[:k]]
    dropped_tokens = sum(spent[key] for key, _ in ranked[k:]) + extra_tokens
    if kept and dropped_tokens:
        kept[0] = replace(kept[0], tokens=kept[0].tokens + dropped_tokens)
        return kept
    return Proposals(kept, dropped_tokens)
