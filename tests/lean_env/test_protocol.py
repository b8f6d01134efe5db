"""Every documented REPL response form is parsed, and judged soundly."""
from __future__ import annotations

import pytest

from lean_env.protocol import (
    CommandResponse,
    ErrorResponse,
    Message,
    Pos,
    ProtocolError,
    Sorry,
    TacticResponse,
    judge_command,
    judge_tactic,
    parse_response,
)
from lean_env.types import LeanError, ProofFinished, ProofGivenUp, TacticState

WARN_OLD = {"severity": "warning", "pos": {"line": 1, "column": 8}, "endPos": {"line": 1, "column": 15},
            "data": "declaration uses 'sorry'"}
WARN_NEW = {**WARN_OLD, "data": "declaration uses `sorry`"}
ERROR = {"severity": "error", "pos": {"line": 2, "column": 2}, "endPos": None,
         "data": "unknown identifier 'fake_lemma'"}


def test_command_response_with_every_field():
    resp = parse_response({
        "env": 3,
        "messages": [WARN_OLD, {"severity": "info", "pos": {"line": 1, "column": 0}, "data": "x"}],
        "sorries": [{"proofState": 0, "goal": "x : ℕ\n⊢ x = x", "pos": {"line": 1, "column": 30},
                     "endPos": {"line": 1, "column": 35}}],
        "tactics": [{"tactic": "rfl", "proofState": 1, "goals": "⊢ True"}],
    })
    assert isinstance(resp, CommandResponse) and resp.env == 3
    assert resp.messages[0] == Message("warning", "declaration uses 'sorry'", Pos(1, 8), Pos(1, 15))
    assert resp.messages[1].end_pos is None
    assert resp.sorries == (Sorry(0, "x : ℕ\n⊢ x = x", Pos(1, 30), Pos(1, 35)),)
    assert resp.tactics[0]["tactic"] == "rfl"
    assert parse_response({"env": 0}) == CommandResponse(0)


def test_tactic_response_and_error_forms():
    resp = parse_response({"proofState": 5, "goals": ["⊢ a", "⊢ b"], "proofStatus": "Incomplete: open goals remain"})
    assert resp == TacticResponse(5, ("⊢ a", "⊢ b"), (), (), "Incomplete: open goals remain")
    for text in ("Lean error:\n<input>:1:5: unknown tactic", "Unknown proof state.", "Unknown environment."):
        assert parse_response({"message": text}) == ErrorResponse(text)


@pytest.mark.parametrize("garbage", [
    [1, 2], "text", {"foo": 1}, {"env": "zero"}, {"proofState": 1, "goals": "⊢ a"},
    {"env": 0, "messages": [{"severity": "fatal", "data": "x"}]}, {"env": 0, "messages": [{"severity": "error"}]},
    {"env": 0, "sorries": [{"proofState": "1", "goal": "g"}]}, {"env": 0, "messages": [{"data": "d", "pos": [1, 2]}]},
])
def test_malformed_responses_raise_protocol_errors(garbage):
    with pytest.raises(ProtocolError):
        parse_response(garbage)


def test_command_judging_passes_only_without_errors_and_without_sorry():
    assert judge_command(parse_response({"env": 1})).complete
    info_only = judge_command(parse_response({"env": 1, "messages": [{"severity": "info", "data": "Try this"}]}))
    assert info_only.complete
    for warning in (WARN_OLD, WARN_NEW):  # quoting changed at Lean v4.28.0-rc1: both are caught
        j = judge_command(parse_response({"env": 1, "messages": [warning]}))
        assert j.passed and not j.complete
    with_sorries = judge_command(parse_response({"env": 1, "sorries": [{"proofState": 0, "goal": "⊢ p"}]}))
    assert with_sorries.passed and not with_sorries.complete
    error = judge_command(parse_response({"env": 1, "messages": [ERROR]}))
    assert not error.passed and "fake_lemma" in error.problems[0]
    assert not judge_command(parse_response({"message": "Lean error: x"})).passed


def test_tactic_judging_follows_the_reference():
    def judge(obj):
        return judge_tactic(parse_response(obj)).to_result(42)

    assert judge({"proofState": 3, "goals": [], "proofStatus": "Completed"}) == ProofFinished(42)
    # the pitfall: error recovery gives an empty goal list with an error
    pitfall = judge({"proofState": 3, "goals": [], "messages": [ERROR], "proofStatus": "Incomplete: contains sorry"})
    assert isinstance(pitfall, LeanError) and "fake_lemma" in pitfall.error
    assert judge({"proofState": 3, "goals": [], "proofStatus": "Incomplete: contains sorry"}) == ProofGivenUp()
    assert judge({"proofState": 3, "goals": [], "sorries": [{"proofState": 4, "goal": "⊢ p"}],
                  "proofStatus": "Completed"}) == ProofGivenUp()
    for status in ("Incomplete: contains metavariable(s)", "Error: kernel type check failed: bad",
                   "Error: proof has type A but root goal has type B", "Not verified: more than one initial goal"):
        result = judge({"proofState": 3, "goals": [], "proofStatus": status})
        assert isinstance(result, LeanError) and status in result.error
    assert isinstance(judge({"proofState": 3, "goals": []}), LeanError)  # no proofStatus: unconfirmed
    state = judge({"proofState": 3, "goals": ["x : ℕ\n⊢ x = x", "⊢ True"], "proofStatus": "Incomplete: open goals remain",
                   "messages": [{"severity": "warning", "data": "unused variable"}]})
    assert state == TacticState("x : ℕ\n⊢ x = x\n\n⊢ True", 42) and state.num_goals == 2
    assert state.message == "warning: unused variable"
    assert isinstance(judge({"message": "Unknown proof state."}), LeanError)
    assert isinstance(judge({"env": 2}), LeanError)  # a command answer to a tactic request
