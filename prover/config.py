"""Settings of a proving run, shared by the CLI, the batch evaluation and the HTTP service.

One `ProverConfig` describes *how* theorems are proved: which Lean backend checks tactics,
which policy, and how to search (`search.SearchConfig`: algorithm, budget and knobs, the same
object the search reads). It is built once (from CLI flags, an HTTP request or `PROVER_*`
environment variables) and passed by value to Ray actors, so it must stay a plain, picklable
pydantic model.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
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
    """A setting is missing or inconsistent; the message says which and how to fix it.

    `validation` keeps the pydantic error it came from (if any), so a front end can name its
    own spelling of each field (`--time-limit` rather than `search.budget.time_limit_s`)."""

    def __init__(self, message: str, validation: ValidationError | None = None,
                 sources: Mapping[tuple[str, ...], str] | None = None) -> None:
        super().__init__(message)
        self.validation = validation
        self.sources = dict(sources or {})  # field path -> the PROVER_* variable that set it

    def describe(self, names: Mapping[tuple[str, ...], str]) -> str:
        """The message with fields named as `names` spells them (a CLI's flags)."""
        if self.validation is None:
            return str(self)
        return describe_validation_error(self.validation, {**names, **self.sources})


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
        from_environ: dict[tuple[str, ...], str] = {}
        for path, section, value, var in (
            (("env", "kind"), raw["env"], env, "PROVER_ENV"),
            (("search", "algorithm"), raw["search"], search, "PROVER_SEARCH"),
            (("policy", "name"), raw["policy"], policy, "PROVER_POLICY"),
            (("policy", "model_dir"), raw["policy"], model_dir, "PROVER_MODEL"),
            (("policy", "url"), raw["policy"], policy_url, "PROVER_POLICY_URL"),
            (("policy", "served_model"), raw["policy"], policy_model, "PROVER_POLICY_MODEL"),
            (("search", "budget", "time_limit_s"), budget, time_limit_s, "PROVER_TIME_LIMIT"),
            (("search", "budget", "max_expansions"), budget, max_expansions, "PROVER_MAX_EXPANSIONS"),
            (("search", "budget", "tactic_timeout_s"), budget, tactic_timeout_s, "PROVER_TACTIC_TIMEOUT"),
        ):
            key = path[-1]
            if value is not None:
                section[key] = value
            elif key not in section and environ.get(var) is not None:
                section[key] = environ[var]
                from_environ[path] = var
        if budget:
            raw["search"]["budget"] = budget
        try:
            config = cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, from_environ), exc, from_environ) from None
        if config.policy.model_dir is not None and config.policy.uses_model and config.policy.url is None:
            if not Path(config.policy.model_dir).is_dir():
                raise ConfigError(
                    f"--model {config.policy.model_dir}: no such directory; pass the folder "
                    "that holds the checkpoint's config.json"
                )
        return config


def describe_validation_error(exc: ValidationError, names: Mapping[tuple[str, ...], str] | None = None) -> str:
    """One clause per problem, `where value: what (allowed range)`, for people rather than pydantic.

    `names` spells a field path the way the user wrote it (`("search", "budget", "time_limit_s")`
    -> `--time-limit`); other fields are named by their dotted path. The input is never echoed
    whole: long values are cut (a 200 KB file must not come back in an error)."""
    names = names or {}
    lines = []
    models = {cls.__name__: cls for cls in (ProverConfig, ClusterConfig, EnvConfig, PolicyConfig)}
    model: Any = models.get(exc.title)
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        where = names.get(loc) or ".".join(loc) or "settings"
        message = error["msg"].removeprefix("Value error, ")
        if message.startswith("Input should be "):
            message = "must be " + message.removeprefix("Input should be ")
        allowed = _allowed_range(model, loc) if model is not None else None
        if allowed and "must be" in message and ("greater" in message or "less" in message):
            message = f"must be {allowed}"
        value = error.get("input")
        if isinstance(value, str):  # a validator that quotes the value quotes it cut, too
            message = message.replace(repr(value), short_repr(value))
        shown = f" {short_repr(value)}" if loc and not isinstance(value, (dict, BaseModel)) and "input" in error else ""
        lines.append(f"{where}{shown}: {message}")
    return "; ".join(lines)


def short_repr(value: Any, limit: int = 60) -> str:
    """`repr(value)`, cut to `limit` characters (error messages quote inputs, never whole files)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _allowed_range(model: Any, loc: tuple[str, ...]) -> str | None:
    """`between 0 and 1024` / `at least 0` / `greater than 0` from a field's pydantic constraints."""
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        model = field.annotation
    field = getattr(model, "model_fields", {}).get(loc[-1]) if loc else None
    if field is None:
        return None
    low = high = None
    for item in field.metadata:
        for attr, word in (("ge", "at least"), ("gt", "greater than")):
            if getattr(item, attr, None) is not None:
                low = (word, getattr(item, attr))
        for attr, word in (("le", "at most"), ("lt", "less than")):
            if getattr(item, attr, None) is not None:
                high = (word, getattr(item, attr))
    if low and high and low[0] == "at least" and high[0] == "at most":
        return f"between {low[1]:g} and {high[1]:g}"
    parts = [f"{bound[0]} {bound[1]:g}" for bound in (low, high) if bound]
    return " and ".join(parts) or None
