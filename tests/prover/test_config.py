"""Settings: defaults, PROVER_* environment overrides, and readable errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from prover.config import SHIPPED_MODEL_DIR, ConfigError, ProverConfig


def test_defaults_are_embedded_best_first_mixed_with_the_shipped_checkpoint_60s() -> None:
    config = ProverConfig.build(environ={})
    assert (config.env.kind, config.search.algorithm, config.policy.name) == ("embedded", "best-first", "mixed")
    assert config.policy.model_dir == SHIPPED_MODEL_DIR and (SHIPPED_MODEL_DIR / "model.safetensors").is_file()
    assert config.search.budget.time_limit_s == 60.0 and config.search.budget.max_expansions == 64
    assert ProverConfig.build(policy="hammer", environ={}).policy.model_dir is None


def test_arguments_beat_environment_which_beats_defaults() -> None:
    environ = {"PROVER_SEARCH": "rmaxts", "PROVER_TIME_LIMIT": "5", "PROVER_MAX_EXPANSIONS": "7"}
    config = ProverConfig.build(max_expansions=3, environ=environ)
    assert config.search.algorithm == "rmaxts" and config.search.budget.time_limit_s == 5.0
    assert config.search.budget.max_expansions == 3


@pytest.mark.parametrize("policy", ["model", "mixed"])
def test_model_policy_without_any_checkpoint_says_pass_model(policy: str, tmp_path: Path, monkeypatch) -> None:
    import prover.config

    monkeypatch.setattr(prover.config, "SHIPPED_MODEL_DIR", tmp_path / "not-shipped")
    with pytest.raises(ConfigError, match="--model DIR"):
        ProverConfig.build(policy=policy, environ={})


def test_missing_model_dir_and_bad_values_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such directory"):
        ProverConfig.build(policy="model", model_dir=tmp_path / "absent", environ={})
    with pytest.raises(ConfigError, match="budget.time_limit_s"):
        ProverConfig.build(time_limit_s=-1, environ={})
    with pytest.raises(ConfigError, match="env.kind"):
        ProverConfig.build(env="lean3", environ={})


def test_the_search_reads_the_same_config_object_the_cli_builds() -> None:
    from search import SearchBudget, SearchConfig

    config = ProverConfig.build(time_limit_s=2.5, max_expansions=9, environ={},
                                search_options={"concurrency": 3, "length_normalized": True})
    assert isinstance(config.search, SearchConfig) and isinstance(config.search.budget, SearchBudget)
    budget = config.search.budget
    assert (budget.time_limit_s, budget.max_expansions, budget.tactic_timeout_s) == (2.5, 9, 10.0)
    assert (config.search.concurrency, config.search.length_normalized, config.search.num_candidates) == (3, True, 16)


def test_environment_does_not_override_explicit_search_options() -> None:
    config = ProverConfig.build(search_options={"budget": {"time_limit_s": 7.0}},
                                environ={"PROVER_TIME_LIMIT": "5", "PROVER_MAX_EXPANSIONS": "3"})
    assert (config.search.budget.time_limit_s, config.search.budget.max_expansions) == (7.0, 3)


def test_errors_name_the_users_spelling_and_cut_long_values() -> None:
    flags = {("search", "budget", "time_limit_s"): "--time-limit", ("search", "concurrency"): "--concurrency"}
    with pytest.raises(ConfigError) as info:
        ProverConfig.build(time_limit_s=-1, search_options={"concurrency": 0},
                           environ={"PROVER_MAX_EXPANSIONS": "-3"})
    assert info.value.describe(flags) == ("PROVER_MAX_EXPANSIONS '-3': must be at least 0; --time-limit -1: must be "
                                          "at least 0; --concurrency 0: must be at least 1")
    with pytest.raises(ConfigError) as info:
        ProverConfig.build(search_options={"algorithm": "x" * 10_000}, environ={})
    assert len(str(info.value)) < 300 and "..." in str(info.value)


def test_cluster_errors_give_the_allowed_range() -> None:
    from pydantic import ValidationError

    from prover.config import ClusterConfig, describe_validation_error

    with pytest.raises(ValidationError) as info:
        ClusterConfig(workers=-1)
    assert describe_validation_error(info.value, {("workers",): "--workers"}) == "--workers -1: must be between 0 and 1024"
