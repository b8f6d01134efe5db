"""The result of proving one theorem, as written to reports, JSONL logs and HTTP answers."""
from __future__ import annotations

import re
import textwrap
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Status = Literal["proved", "failed", "error"]

# miniF2F names start with where the problem came from: mathd_algebra_478, amc12a_2019_p21,
# aimeII_2001_p3, imo_1965_p1, induction_sum_odd, algebra_sqineq_..., numbertheory_...
_SOURCE_PREFIXES = ("mathd", "amc", "aime", "imo", "induction", "algebra", "numbertheory")
_SOURCE_PATTERN = re.compile(r"^(" + "|".join(_SOURCE_PREFIXES) + r")", re.IGNORECASE)


def source_of(name: str) -> str:
    """The problem source of a miniF2F-style theorem name, or "other"."""
    match = _SOURCE_PATTERN.match(name)
    return match.group(1).lower() if match else "other"


class TheoremRecord(BaseModel):
    """One theorem's outcome. `backend` names who checked the proof ("embedded kernel" is not Lean)."""

    model_config = ConfigDict(extra="ignore")

    name: str
    status: Status
    proof: str | None = None
    time_s: float = 0.0
    expansions: int = 0
    env_calls: int = 0
    tokens: int = 0
    backend: str = ""
    error: str | None = None  # why it is not a proof, one line (search.result)
    stop_reason: str | None = None  # the stable code of that why: search.result.STOP_REASONS
    worker_deaths: int = 0
    line: int | None = None  # where the theorem starts in its .lean file (whole-file runs)
    note: str | None = None  # e.g. that the file's own tactics before a final `sorry` were kept

    @property
    def source(self) -> str:
        return source_of(self.name)

    @classmethod
    def from_search_result(cls, result: Any) -> "TheoremRecord":
        """Build from `search.SearchResult` (duck-typed, so this module does not import search)."""
        status = result.status if result.status in ("proved", "failed", "error") else "error"
        # Stored without the file's indentation (splicing re-indents it to the theorem's column).
        proof = textwrap.dedent(result.proof).strip("\n") if status == "proved" and result.proof else None
        if status == "proved" and not proof:
            # Soundness: a "proved" without a proof text is a bug upstream, never a success.
            return cls(
                name=result.name, status="error", backend=result.backend or "",
                error="search reported 'proved' without a proof; treated as an error",
            )
        return cls(
            name=result.name,
            status=status,
            proof=proof,
            time_s=float(result.time_s or 0.0),
            expansions=int(result.expansions or 0),
            env_calls=int(getattr(result, "env_calls", 0) or 0),
            tokens=int(getattr(result, "tokens", 0) or 0),
            backend=result.backend or "",
            error=result.error,
            stop_reason=getattr(result, "stop_reason", None),
        )

    @classmethod
    def error_record(cls, name: str, message: str, *, backend: str = "", **extra: Any) -> "TheoremRecord":
        return cls(name=name, status="error", error=message, backend=backend, **extra)

    def to_json_line(self) -> str:
        return self.model_dump_json() + "\n"
