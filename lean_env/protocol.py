"""The Lean REPL JSON protocol: parse responses into typed records and judge them.

Forms (leanprover-community/repl; its README documents them):
- command:  `{"env": N, "messages"?: [...], "sorries"?: [...], "tactics"?: [...]}`
- tactic:   `{"proofState": M, "goals": [...], "messages"?, "sorries"?, "proofStatus"?}`
- error:    `{"message": "Lean error: ..."}` / `"Unknown proof state."` / `"Unknown environment."`

Judging is where soundness lives: a tactic proves the goal only on `proofStatus ==
"Completed"`, no goals and no error message (an empty goal list alone is not a proof); a
command passes only with no error message, no `sorries` and no "declaration uses sorry"
warning, in either quoting style.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Union

from lean_env.types import LeanError, ProofFinished, ProofGivenUp, TacticState


class ProtocolError(ValueError):
    """The process answered something that is not a REPL response (garbage, wrong shape)."""


@dataclass(frozen=True)
class Pos:
    line: int  # 1-based
    column: int  # 0-based


@dataclass(frozen=True)
class Message:
    severity: str  # trace | info | warning | error
    data: str
    pos: Pos | None = None
    end_pos: Pos | None = None

    def render(self) -> str:
        where = f"{self.pos.line}:{self.pos.column}: " if self.pos else ""
        return f"{where}{self.severity}: {self.data}"


@dataclass(frozen=True)
class Sorry:
    proof_state: int | None
    goal: str
    pos: Pos | None = None
    end_pos: Pos | None = None


@dataclass(frozen=True)
class CommandResponse:
    env: int
    messages: tuple[Message, ...] = ()
    sorries: tuple[Sorry, ...] = ()
    tactics: tuple[dict, ...] = ()


@dataclass(frozen=True)
class TacticResponse:
    proof_state: int
    goals: tuple[str, ...]
    messages: tuple[Message, ...] = ()
    sorries: tuple[Sorry, ...] = ()
    proof_status: str | None = None


@dataclass(frozen=True)
class ErrorResponse:
    """`{"message": ...}`: elaboration stopped (parse error, unknown proof state or env)."""

    message: str


Response = Union[CommandResponse, TacticResponse, ErrorResponse]

SEVERITIES = ("trace", "info", "warning", "error")

# "declaration uses 'sorry'" before Lean v4.28.0-rc1, "declaration uses `sorry`" after.
_SORRY_WARNING = re.compile(r"declaration uses ['`]sorry['`]")


def _pos(obj: Any, where: str) -> Pos | None:
    if obj is None:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("line"), int) or not isinstance(obj.get("column"), int):
        raise ProtocolError(f"{where}: expected {{line: int, column: int}}, got {obj!r}")
    return Pos(obj["line"], obj["column"])


def _objects(raw: Any, list_name: str, text_key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(`list_name[i]`, item) for each item of the optional JSON list `list_name`, checking as
    it goes that the item is an object with a string `text_key`."""
    if raw is None:
        return
    if not isinstance(raw, list):
        raise ProtocolError(f"'{list_name}' must be a list, got {type(raw).__name__}")
    for i, item in enumerate(raw):
        where = f"{list_name}[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get(text_key), str):
            raise ProtocolError(f"{where} must be an object with string '{text_key}', got {item!r}")
        yield where, item


def _messages(raw: Any) -> tuple[Message, ...]:
    out = []
    for where, m in _objects(raw, "messages", "data"):
        severity = m.get("severity", "error")
        if severity not in SEVERITIES:
            raise ProtocolError(f"{where}.severity {severity!r} is not one of {SEVERITIES}")
        out.append(Message(severity, m["data"], _pos(m.get("pos"), f"{where}.pos"),
                           _pos(m.get("endPos"), f"{where}.endPos")))
    return tuple(out)


def _sorries(raw: Any) -> tuple[Sorry, ...]:
    out = []
    for where, s in _objects(raw, "sorries", "goal"):
        ps = s.get("proofState")
        if ps is not None and not isinstance(ps, int):
            raise ProtocolError(f"{where}.proofState must be an int, got {ps!r}")
        out.append(Sorry(ps, s["goal"], _pos(s.get("pos"), f"{where}.pos"),
                         _pos(s.get("endPos"), f"{where}.endPos")))
    return tuple(out)


def parse_response(obj: Any) -> Response:
    """Type a decoded JSON response; raise `ProtocolError` for anything not documented."""
    if not isinstance(obj, dict):
        raise ProtocolError(f"a response must be a JSON object, got {type(obj).__name__}: {obj!r:.200}")
    if "proofState" in obj and ("goals" in obj or "proofStatus" in obj):
        goals = obj.get("goals", [])
        if not isinstance(obj["proofState"], int):
            raise ProtocolError(f"'proofState' must be an int, got {obj['proofState']!r}")
        if not isinstance(goals, list) or not all(isinstance(g, str) for g in goals):
            raise ProtocolError(f"'goals' must be a list of strings, got {goals!r:.200}")
        status = obj.get("proofStatus")
        if status is not None and not isinstance(status, str):
            raise ProtocolError(f"'proofStatus' must be a string, got {status!r}")
        return TacticResponse(obj["proofState"], tuple(goals), _messages(obj.get("messages")),
                              _sorries(obj.get("sorries")), status)
    if "env" in obj:
        if not isinstance(obj["env"], int):
            raise ProtocolError(f"'env' must be an int, got {obj['env']!r}")
        tactics = obj.get("tactics") or []
        return CommandResponse(obj["env"], _messages(obj.get("messages")), _sorries(obj.get("sorries")),
                               tuple(tactics))
    if isinstance(obj.get("message"), str):
        return ErrorResponse(obj["message"])
    raise ProtocolError(f"unrecognised response (no env, proofState or message): {obj!r:.300}")


def errors_of(messages: tuple[Message, ...]) -> list[Message]:
    return [m for m in messages if m.severity == "error"]


def is_sorry_warning(message: Message) -> bool:
    return message.severity == "warning" and bool(_SORRY_WARNING.search(message.data))


@dataclass(frozen=True)
class CommandJudgement:
    """`passed`: no error message. `complete`: passed, no sorries, no "uses sorry" warning."""

    passed: bool
    complete: bool
    problems: tuple[str, ...] = field(default=())


def judge_command(resp: Response) -> CommandJudgement:
    if isinstance(resp, ErrorResponse):
        return CommandJudgement(False, False, (resp.message,))
    if not isinstance(resp, CommandResponse):
        return CommandJudgement(False, False, ("expected a command response, got a tactic response",))
    problems = [m.render() for m in errors_of(resp.messages)]
    passed = not problems
    problems += [m.render() for m in resp.messages if is_sorry_warning(m)]
    if resp.sorries:
        problems.append(f"{len(resp.sorries)} sorry/sorries left in the proof")
    return CommandJudgement(passed, passed and not problems, tuple(problems))


def pretty_goals(goals: tuple[str, ...] | list[str]) -> str:
    """LeanDojo's convention: several goals joined by a blank line."""
    return "\n\n".join(goals)


@dataclass(frozen=True)
class TacticJudgement:
    """What a tactic response means, before the session assigns its own state id."""

    kind: str  # "state" | "finished" | "error" | "given_up"
    goals: tuple[str, ...] = ()
    proof_state: int | None = None
    error: str = ""
    message: str | None = None

    def to_result(self, state_id: int) -> TacticState | ProofFinished | LeanError | ProofGivenUp:
        if self.kind == "state":
            return TacticState(pretty_goals(self.goals), state_id, len(self.goals), self.message)
        if self.kind == "finished":
            return ProofFinished(state_id, self.message)
        if self.kind == "given_up":
            return ProofGivenUp()
        return LeanError(self.error)


def judge_tactic(resp: Response) -> TacticJudgement:
    if isinstance(resp, ErrorResponse):
        return TacticJudgement("error", error=resp.message.strip())
    if not isinstance(resp, TacticResponse):
        return TacticJudgement("error", error="expected a tactic response, got a command response")
    errors = errors_of(resp.messages)
    if errors:  # error recovery may leave `goals: []`: never a proof
        return TacticJudgement("error", error="\n".join(m.render() for m in errors))
    notes = "\n".join(m.render() for m in resp.messages) or None
    status = resp.proof_status or ""
    if resp.sorries or "sorry" in status or any(is_sorry_warning(m) for m in resp.messages):
        return TacticJudgement("given_up")
    if resp.goals:
        return TacticJudgement("state", goals=resp.goals, proof_state=resp.proof_state, message=notes)
    if status == "Completed":
        return TacticJudgement("finished", proof_state=resp.proof_state, message=notes)
    if not status:
        return TacticJudgement("error", error="no goals left but the REPL reported no proofStatus, so the "
                               "proof cannot be confirmed (use a REPL version that reports proofStatus)")
    return TacticJudgement("error", error=f"no goals left but the proof is not complete: {status}")
