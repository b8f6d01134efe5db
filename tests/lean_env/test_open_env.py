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
