"""Settings of a proving run, shared by the CLI, the batch evaluation and the HTTP service.

One `ProverConfig` describes *how* theorems are proved: which Lean backend checks tactics,
which policy, and how to search (`search.SearchConfig`: algorithm, budget and knobs, the same
object the search reads). It is built once (from CLI flags, an HTTP request or `PROVER_*`
environment variables) and passed by value to Ray actors, so it must stay a plain, picklable
pydantic model.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from search.config import SearchBudget, SearchConfig

EnvKind = Literal["embedded", "repl", "dojo"]
PolicyName = Literal["hammer", "model", "mixed"]

# The policy used when none is named: the shipped checkpoint's model mixed with the hammer
# (docs/TRAINING.md: it beats the hammer alone on held-out generated theorems at equal budget).
DEFAULT_POLICY: PolicyName = "mixed"
# Used by `model`/`mixed` when no --model is given: the checkpoint committed with the code.
SHIPPED_MODEL_DIR = Path(__file__).resolve().parents[1] / "checkpoints" / "policy"


class ConfigError(ValueError):
    """A setting is missing or inconsistent; the message says which and how to fix it."""


class EnvConfig(BaseModel):
    """Which Lean backend runs tactics and re-checks proofs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: EnvKind = "embedded"
    # Passed as keyword options to `lean_env.open_env` (e.g. a repl project path).
    options: dict[str, Any] = Field(default_factory=dict)


class PolicyConfig(BaseModel):
    """Where tactics come from. `model` and `mixed` need an HF-layout checkpoint directory
    (default: the shipped `checkpoints/policy`), or `url`: an OpenAI-compatible server (vLLM,
    SGLang, `prover serve-model`) that serves the model (`served_model`: its name there)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: PolicyName = DEFAULT_POLICY
    model_dir: Path | None = None
    url: str | None = Field(None, pattern=r"^https?://")
    served_model: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shipped_model_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("name", DEFAULT_POLICY) in ("model", "mixed") and not data.get("url") \
                and data.get("model_dir") is None and (SHIPPED_MODEL_DIR / "config.json").is_file():
            data = {**data, "model_dir": SHIPPED_MODEL_DIR}
        return data

    @model_validator(mode="after")
    def _model_dir_when_needed(self) -> "PolicyConfig":
        if self.name in ("model", "mixed") and self.model_dir is None and self.url is None:
            raise ValueError(
                f"policy '{self.name}' needs a checkpoint and the shipped one ({SHIPPED_MODEL_DIR}) is "
                "missing: pass --model DIR (an HF-layout directory with config.json, *.safetensors and "
                "tokenizer.json), or use --policy hammer"
            )
        return self

    @property
    def uses_model(self) -> bool:
        return self.name in ("model", "mixed")


class ClusterConfig(BaseModel):
    """How a batch run is spread over Ray. `workers=0` proves in-process, without Ray."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workers: int = Field(2, ge=0, le=1024)
    address: str | None = None  # None: start a local Ray; "auto" or "host:port": join a cluster
    cpus_per_worker: float = Field(1.0, ge=0)
    # A theorem whose proving kills this many workers is recorded as an error.
    max_worker_deaths: int = Field(3, ge=1)
    # A worker still on one theorem after this long is killed and restarted (None: never).
    # The search stops itself at its time limit; this catches a backend that hangs anyway.
    theorem_deadline_s: float | None = Field(None, gt=0)
    namespace: str = "lean-prover"


def theorem_deadline(budget: SearchBudget) -> float | None:
    """Generous wall time for one theorem on a worker: twice the search limit plus a minute
    for starting Lean and re-verifying the proof (None: no limit, as the search has none)."""
    return None if budget.time_limit_s is None else 2 * budget.time_limit_s + 60.0


class ProverConfig(BaseModel):
    """Everything that decides how one theorem is proved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: EnvConfig = Field(default_factory=EnvConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)  # the algorithm, its budget and knobs
    policy: PolicyConfig = Field(default_factory=PolicyConfig)

    @classmethod
    def build(
        cls,
        *,
        env: str | None = None,
        search: str | None = None,
        policy: str | None = None,
        model_dir: str | Path | None = None,
        time_limit_s: float | None = None,
        max_expansions: int | None = None,
        tactic_timeout_s: float | None = None,
        search_options: dict[str, Any] | None = None,
        environ: dict[str, str] | None = None,
        policy_url: str | None = None,
        policy_model: str | None = None,
    ) -> "ProverConfig":
        """Explicit arguments win over `PROVER_*` environment variables, which win over defaults.

        `search_options`: other `SearchConfig` fields (`{"concurrency": 4, "budget": {...}}`).

        Raises `ConfigError` with a readable message on any bad value.
        """
        environ = dict(os.environ if environ is None else environ)

        options = dict(search_options or {})
        budget = dict(options.pop("budget", None) or {})
        raw: dict[str, Any] = {"env": {}, "search": options, "policy": {}}
        for section, key, value, var in (
            (raw["env"], "kind", env, "PROVER_ENV"),
            (raw["search"], "algorithm", search, "PROVER_SEARCH"),
            (raw["policy"], "name", policy, "PROVER_POLICY"),
            (raw["policy"], "model_dir", model_dir, "PROVER_MODEL"),
            (raw["policy"], "url", policy_url, "PROVER_POLICY_URL"),
            (raw["policy"], "served_model", policy_model, "PROVER_POLICY_MODEL"),
            (budget, "time_limit_s", time_limit_s, "PROVER_TIME_LIMIT"),
            (budget, "max_expansions", max_expansions, "PROVER_MAX_EXPANSIONS"),
            (budget, "tactic_timeout_s", tactic_timeout_s, "PROVER_TACTIC_TIMEOUT"),
        ):
            if value is not None:
                section[key] = value
            elif key not in section and environ.get(var) is not None:
                section[key] = environ[var]
        if budget:
            raw["search"]["budget"] = budget
        try:
            config = cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc)) from None
        if config.policy.model_dir is not None and config.policy.uses_model and config.policy.url is None:
            if not Path(config.policy.model_dir).is_dir():
                raise ConfigError(
                    f"--model {config.policy.model_dir}: no such directory; pass the folder "
                    "that holds the checkpoint's config.json"
                )
        return config


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, `where: what`, for people rather than for pydantic."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "settings"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return "; ".join(lines)
