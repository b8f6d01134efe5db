"""What one search on one theorem returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from search.tree import ProofTree


@dataclass
class SearchResult:
    """`proof` is the indented tactic block that follows `:= by`, set only when status is
    "proved", i.e. after `env.verify` and `guard.check_proof` both accepted it.
    "failed" = budget spent or tree exhausted without a verified proof; "error" = the search
    could not run (environment would not start, the policy crashed); `error` says why.
    `time_s` is the wall time of the whole call (session start and re-verification included).
    `stop_reason` says which limit ended the search ("expansion limit", "time limit", "env call
    limit", "token limit", "exhausted", "proved"), `verify_failures` lists proofs the search
    found that re-verification or the guard rejected."""

    name: str
    status: Literal["proved", "failed", "error"]
    proof: str | None
    time_s: float
    expansions: int
    env_calls: int
    tokens: int
    backend: str
    error: str | None = None
    tree: ProofTree | None = field(default=None, repr=False)
    algorithm: str = "best-first"
    stop_reason: str | None = None
    verify_failures: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "status": self.status, "proof": self.proof,
            "time_s": round(self.time_s, 4), "expansions": self.expansions,
            "env_calls": self.env_calls, "tokens": self.tokens, "backend": self.backend,
            "error": self.error, "algorithm": self.algorithm, "stop_reason": self.stop_reason,
            "verify_failures": list(self.verify_failures),
        }
