"""The search's settings: one pydantic model, `SearchConfig`, from CLI flags and the HTTP body
down to `search.aprove` (the budget included). Every field has its default and description
here; `prover prove/eval/serve --help` and the HTTP schema are generated from them."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ALGORITHMS = ("best-first", "rmaxts")
SearchAlgorithm = Literal["best-first", "rmaxts"]


class SearchBudget(BaseModel):
    """Limits for one theorem. `None` = unlimited."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_expansions: int | None = Field(
        64, ge=0, description="Best-first: nodes expanded (one policy request + its tactics); RMaxTS: rollouts started.")
    time_limit_s: float | None = Field(
        60.0, ge=0, description="Wall time of the search in seconds (env start included, final verification not).")
    max_env_calls: int | None = Field(None, ge=0, description="Tactic runs (`run_tac` calls); none = unlimited.")
    max_tokens: int | None = Field(
        None, ge=0, description="Generated tokens of the candidates the search accepts; none = unlimited.")
    tactic_timeout_s: float = Field(10.0, gt=0, description="Seconds per tactic (cut to the time left).")


class SearchConfig(BaseModel):
    """How one theorem is searched: the algorithm, its budget and its knobs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: SearchAlgorithm = Field("best-first", description="Search algorithm.")
    budget: SearchBudget = Field(default_factory=SearchBudget)
    concurrency: int = Field(8, ge=1, description="Expansions (best-first) or rollouts (RMaxTS) in flight at once.")
    num_candidates: int = Field(16, ge=1, description="Tactics asked of the policy per expansion.")
    rollout_depth: int = Field(4, ge=1, description="RMaxTS: most policy asks per rollout.")
    model_samples: int = Field(8, ge=1, description="Model policy: completions sampled per request.")
    length_normalized: bool = Field(
        False, description="Best-first: rank nodes by mean instead of total log-probability per tactic.")

    @field_validator("algorithm", mode="before")
    @classmethod
    def _known_algorithm(cls, value: object) -> object:
        if value not in ALGORITHMS:
            raise ValueError(f"unknown search algorithm {value!r}; choose one of {', '.join(ALGORITHMS)}")
        return value
