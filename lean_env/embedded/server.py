"""The embedded kernel's server: the Lean REPL JSON protocol over stdin/stdout.

Requests are JSON objects terminated by a blank line; each response is one pretty-printed
JSON object followed by a blank line (leanprover-community/repl framing). Supported requests:
`{"cmd", "env"?}`, `{"tactic", "proofState"}`; anything else answers `{"message": ...}`.
"""
from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

from ..lean_text import LeanSyntaxError, lex, line_col
from .bridge import Assignments
from .checker import check_command
from .commands import ScopeState
from .core.sequent import CoreError
from .errors import KernelError
from .goals import Goal
from .proof_check import check_proof, core_env, describe
from .tactics.engine import TACTIC_MODE_SECONDS, Message, TacticContext, run_block
from .tactics.script import blank_comments
from .terms import Term

PRINT_AXIOMS = re.compile(r"#print\s+axioms\s+(\S+)")


@dataclass(frozen=True)
class ProofSnapshot:
    goals: tuple[Goal, ...]
    lemmas: dict
    tainted: bool  # some step used `sorry` or recovered from an error
    roots: tuple[Goal, ...] = ()  # the goals this line of proof started from
    assign: Assignments = field(default_factory=Assignments)  # the core steps taken so far


class EmbeddedRepl:
    """State of one server process: environments and proof states (never freed, like the REPL)."""

    def __init__(self) -> None:
        self.envs: list[dict[str, Term]] = []
        self.env_reports: list[dict] = []  # per env: declaration name -> core Report
        self.env_scopes: list[ScopeState] = []  # the scope state after each env's command
        self.proof_states: list[ProofSnapshot] = []

    # -- requests ------------------------------------------------------------------------
    def handle(self, req: Any) -> dict:
        if not isinstance(req, dict):
            return {"message": "Could not parse as a valid JSON command:\nexpected an object"}
        if "tactic" in req and "proofState" in req:
            return self.run_tactic(req)
        if "cmd" in req:
            return self.run_command(req)
        if any(k in req for k in ("pickleTo", "unpickleEnvFrom", "unpickleProofStateFrom")):
            return {"message": "embedded kernel: pickling environments and proof states is not supported"}
        if "path" in req:
            return {"message": "embedded kernel: file mode ({\"path\": ...}) is not supported; send the text as {\"cmd\": ...}"}
        return {"message": "Could not parse as a valid JSON command:\nexpected {\"cmd\": ...} or {\"tactic\": ..., \"proofState\": ...}"}

    def run_command(self, req: dict) -> dict:
        cmd = req.get("cmd")
        if not isinstance(cmd, str):
            return {"message": "Could not parse as a valid JSON command:\n'cmd' must be a string"}
        env_id = req.get("env")
        if env_id is None:
            base: dict[str, Term] = {}
            scope = ScopeState()
        elif type(env_id) is int and 0 <= env_id < len(self.envs):  # a bool is not an env id
            base = self.envs[env_id]
            scope = self.env_scopes[env_id]
        else:
            return {"message": "Unknown environment."}
        asked = PRINT_AXIOMS.fullmatch(cmd.strip())
        if asked:
            return self.print_axioms(asked.group(1), env_id)
        result = check_command(cmd, allow_imports=env_id is None, env_lemmas=base, scope=scope)
        self.env_reports.append({**(self.env_reports[env_id] if env_id is not None else {}), **result.reports})
        new_env = dict(base)
        new_env.update(result.lemmas)
        self.envs.append(new_env)
        self.env_scopes.append(result.scope)  # the REPL keeps namespaces, `open`s, variables
        out: dict[str, Any] = {"env": len(self.envs) - 1}
        src = blank_comments(cmd)
        if result.messages:
            out["messages"] = [self._message(src, m) for m in result.messages]
        if result.sorries:
            sorries = []
            for s in result.sorries:
                pid = self._record(ProofSnapshot((s.goal,), new_env, False, (s.goal,)))
                sorries.append({"proofState": pid, "pos": _pos(src, s.start), "endPos": _pos(src, s.end),
                                "goal": s.goal.pretty()})
            out["sorries"] = sorries
        return out

    def print_axioms(self, name: str, env_id: int | None) -> dict:
        """Our `#print axioms`: the core rules, Mathlib lemmas and earlier declarations a checked
        proof relies on (the embedded kernel has no axioms of its own to list)."""
        report = self.env_reports[env_id].get(name) if env_id is not None else None
        if report is None:
            return {"message": f"Lean error:\nunknown constant '{name}' (or it was not checked by the trusted core)"}
        return {"env": env_id, "messages": [{"severity": "info", "pos": {"line": 1, "column": 0},
                                             "endPos": {"line": 1, "column": 0}, "data": describe(name, report)}]}

    def run_tactic(self, req: dict) -> dict:
        pid = req.get("proofState")
        text = req.get("tactic")
        if type(pid) is not int or not (0 <= pid < len(self.proof_states)):  # a bool is not an id
            return {"message": "Unknown proof state."}
        if not isinstance(text, str):
            return {"message": "Could not parse as a valid JSON command:\n'tactic' must be a string"}
        snap = self.proof_states[pid]
        try:  # text Lean's scanner stops on (unclosed comment/string/«, a tab, ...) is an error
            lex(text)
        except LeanSyntaxError as e:
            return {"message": f"Lean error:\n<input>:{e.line}:{e.column}: {e.reason}"}
        src = blank_comments(text)
        ctx = TacticContext(src, lemmas=snap.lemmas, deadline=time.monotonic() + TACTIC_MODE_SECONDS,
                            assign=snap.assign.copy(), core_env=core_env(snap.lemmas))
        try:
            goals = run_block(ctx, 0, len(src), snap.goals)
        except KernelError as e:
            line, col = line_col(src, e.pos or 0)
            return {"message": f"Lean error:\n<input>:{line}:{col}: {e.message}"}
        except RecursionError:
            return {"message": "Lean error:\nmaximum recursion depth has been reached"}
        recovered_error = any(m.severity == "error" for m in ctx.messages)
        tainted = snap.tainted or bool(ctx.sorries) or recovered_error
        new = ProofSnapshot(goals, snap.lemmas, tainted, snap.roots, ctx.assign)
        new_id = self._record(new)
        out: dict[str, Any] = {"proofState": new_id, "goals": [g.pretty() for g in goals]}
        if ctx.messages:
            out["messages"] = [self._message(src, m) for m in ctx.messages]
        if ctx.sorries:
            out["sorries"] = [{"proofState": self._record(ProofSnapshot((s.goal,), snap.lemmas, False, (s.goal,))),
                               "pos": _pos(src, s.start), "endPos": _pos(src, s.end), "goal": s.goal.pretty()}
                              for s in ctx.sorries]
        if goals:
            status = "Incomplete: open goals remain"
        elif tainted:
            status = "Incomplete: contains sorry"
        else:
            status = self._core_status(ctx, snap.roots)
        out["proofStatus"] = status
        return out

    @staticmethod
    def _core_status(ctx: TacticContext, roots: tuple[Goal, ...]) -> str:
        """No goals left: the proof of each starting goal must pass the trusted core."""
        try:
            for root in roots:
                if not check_proof(ctx, root).complete:
                    return "Incomplete: the trusted core found unsolved goals"
        except CoreError as e:
            return f"Incomplete: the trusted core rejected the proof: {e}"
        return "Completed"

    def _record(self, snap: ProofSnapshot) -> int:
        self.proof_states.append(snap)
        return len(self.proof_states) - 1

    @staticmethod
    def _message(src: str, m: Message) -> dict:
        return {"severity": m.severity, "pos": _pos(src, m.start), "endPos": _pos(src, m.end), "data": m.data}


def _pos(src: str, offset: int) -> dict:
    line, col = line_col(src, max(0, min(offset, len(src))))
    return {"line": line, "column": col}


def read_request(stream: IO[str]) -> str | None:
    """Lines up to a blank line (the REPL's framing); None at end of input."""
    lines = []
    while True:
        line = stream.readline()
        if line == "":
            return "".join(lines) if lines else None
        if line.strip() == "":
            if lines:
                return "".join(lines)
            return ""
        lines.append(line)


def serve(stdin: IO[str] = sys.stdin, stdout: IO[str] = sys.stdout) -> None:
    repl = EmbeddedRepl()
    while True:
        query = read_request(stdin)
        if query is None or query == "":
            return  # EOF, or a stray blank line (the real REPL stops there too)
        if query.startswith("#") or query.startswith("--"):
            continue
        try:
            req = json.loads(query)
        except json.JSONDecodeError as e:
            resp: dict = {"message": f"Could not parse JSON:\n{e}"}
        else:
            try:
                resp = repl.handle(req)
            except Exception as e:  # a kernel bug must not kill the session: report it
                resp = {"message": f"Lean error:\nembedded kernel internal error: {type(e).__name__}: {e}"}
        stdout.write(json.dumps(resp, indent=2, ensure_ascii=False))
        stdout.write("\n\n")
        stdout.flush()
