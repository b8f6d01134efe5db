"""The search's settings: one pydantic model, `SearchConfig`, from CLI flags and the HTTP body
down to `search.aprove` (the budget included). Every field has its default and description
here; `prover prove/eval/serve --help` and the HTTP schema are generated from them."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ALGORITHMS = ("best-first", "rmaxts", "whole-proof")
SearchAlgorithm = Literal["best-first", "rmaxts", "whole-proof"]
# The published provers' prompt formats (search.prompt_formats); None = guessed from the model's name.
PromptFormatName = Literal["deepseek-v1.5", "deepseek-v1.5-cot", "deepseek-v2", "deepseek-v2-cot", "goedel-v2", "kimina"]
RepairMode = Literal["auto", "resume", "feedback"]


class SearchBudget(BaseModel):
    """Limits for one theorem. `None` = unlimited."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_expansions: int | None = Field(
        64, ge=0, description="Best-first: nodes expanded (one policy request + its tactics); RMaxTS: rollouts "
                              "started; whole-proof: model requests (each of --model-samples samples).")
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
    prompt_format: PromptFormatName | None = Field(
        None, description="Whole-proof: the model's prompt format; none = guessed from the model's name "
                          "(deepseek-v1.5 for the shipped checkpoint and unknown models).")
    repair_rounds: int = Field(
        1, ge=0, le=64, description="Whole-proof: rounds of repairing failed proofs (truncate-and-resume or "
                                    "error feedback); 0 = sample only.")
    repair: RepairMode = Field(
        "auto", description="Whole-proof repair: resume from the last good state, feed the error back, or "
                            "auto (resume for completion formats, feedback for chat formats).")
    proof_max_tokens: int = Field(
        1024, ge=1, description="Whole-proof: most tokens sampled per proof (reasoning provers need 8192 or more).")
    temperature: float = Field(1.0, ge=0, description="Model sampling temperature (0 = greedy).")
    top_p: float = Field(0.95, gt=0, le=1, description="Model nucleus sampling (1 = off).")
    seed: int | None = Field(
        None, ge=0, description="Model sampling seed: the same seed gives the same samples for the same request, "
                                "in-process or over --policy-url; none = unseeded.")

    @field_validator("algorithm", mode="before")
    @classmethod
    def _known_algorithm(cls, value: object) -> object:
        if value not in ALGORITHMS:
            raise ValueError(f"unknown search algorithm {value!r}; choose one of {', '.join(ALGORITHMS)}")
        return value
