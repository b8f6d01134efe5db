"""`open_env` picks the backend and checks its options (no process starts before `start`)."""
from __future__ import annotations

import sys

import pytest

from lean_env import ProofEnv, open_env


def test_backends_are_labelled_and_configured():
    with open_env("embedded", pool_size=2, tactic_timeout=3.0) as env:
        assert isinstance(env, ProofEnv)
        assert env.backend == "embedded kernel"
        assert env.options.command == [sys.executable, "-m", "lean_env.embedded"]
        assert (env.options.pool_size, env.options.tactic_timeout, env.options.check_axioms) == (2, 3.0, False)
    with open_env("repl", cwd="/tmp/project", memory_limit=None, header_reuse=False) as env:
        assert env.backend == "lean repl"
        assert env.options.command == ["lake", "env", "repl"] and env.options.cwd == "/tmp/project"
        assert env.options.memory_limit is None and env.options.header_reuse is False
        assert env.options.check_axioms is True


def test_bad_options_say_what_is_known():
    with pytest.raises(TypeError, match="known options"):
        open_env("repl", tactic_timout=3)
    with pytest.raises(ValueError, match="'embedded', 'repl' or 'dojo'"):
        open_env("lean4")
    with pytest.raises(ValueError, match="pool_size"):
        open_env("embedded", pool_size=0)


def test_check_usable_names_what_is_missing_and_keeps_a_working_process(tmp_path):
    from lean_env import BackendUnavailable, check_usable

    with open_env("repl", env={"PATH": str(tmp_path)}) as env:  # no `lake` on this PATH
        with pytest.raises(BackendUnavailable, match="`lake` is not on PATH.*--env embedded"):
            check_usable(env)
    with open_env("repl", cwd=str(tmp_path / "absent")) as env:
        with pytest.raises(BackendUnavailable, match="not a directory"):
            check_usable(env)
    # starts, but is no REPL: it exits at once (what `lake env repl` does outside a Lean project)
    quits = [sys.executable, "-c", "import sys; sys.stderr.write('error: no lakefile here'); sys.exit(1)"]
    with open_env("repl", command=quits) as env:
        with pytest.raises(BackendUnavailable, match="did not answer a first request.*no lakefile here"):
            check_usable(env)
    with open_env("embedded") as env:
        check_usable(env)
        assert env.stats()["live"] == 1  # the checked process is kept as the pool's first worker
