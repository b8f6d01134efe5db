"""Supervised examples: one (state, tactic) step of a proof, its prompt and its target completion.

A prompt is DeepSeek-Prover-V1.5's (`search.prompt.build_prompt`: header, statement, proof so
far, `/- tactic state: … -/`); the completion is the tactic indented under the proof, then the
closing ```` ``` ````. Steps come from the curriculum's reference proofs (replayed in a
`lean_env` ProofEnv for their intermediate states) or from verified search trees
(`training.expert_iteration`), and are stored as JSONL.
"""
from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from lean_env.theorem import Theorem
from lean_env.types import ProofFinished, TacticState
from search.prompt import build_prompt
from training.curriculum import write_jsonl

COMPLETION_INDENT = "  "  # the prompt ends inside the proof block, indented like search.prompt
CLOSING_FENCE = "\n```"   # what ends a completion (the engine stops on ```)


@dataclass(frozen=True)
class SupervisedExample:
    """One step of a proof: in `state` (reached by `proof_so_far`), `tactic` is what to write."""

    name: str
    header: str
    formal_statement: str
    proof_so_far: tuple[str, ...]
    state: str
    tactic: str
    source: str = ""

    def prompt(self) -> str:
        theorem = Theorem(self.name, self.header, self.formal_statement)
        return build_prompt(theorem, list(self.proof_so_far), TacticState(self.state, 0))

    def completion(self) -> str:
        return completion_text(self.tactic)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["proof_so_far"] = list(self.proof_so_far)
        return d

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> "SupervisedExample":
        return cls(name=row["name"], header=row["header"], formal_statement=row["formal_statement"],
                   proof_so_far=tuple(row.get("proof_so_far", ())), state=row["state"],
                   tactic=row["tactic"], source=row.get("source", ""))


def completion_text(tactic: str) -> str:
    """The model's target after the prompt: the tactic as a proof line, then the closing fence.
    `search.prompt.first_tactic` of this text gives `tactic` back."""
    return textwrap.indent(tactic, COMPLETION_INDENT) + CLOSING_FENCE


def write_examples(examples: Iterable[SupervisedExample], path: str | Path) -> int:
    return write_jsonl(examples, path)


def read_examples(path: str | Path) -> list[SupervisedExample]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"examples file {path} does not exist; write it with training.examples.write_examples")
    with path.open(encoding="utf-8") as f:
        return [SupervisedExample.from_json(json.loads(line)) for line in f if line.strip()]


def curriculum_examples(items: Iterable[Any], env: Any = None) -> tuple[list[SupervisedExample], list[str]]:
    """(state, tactic) steps of the curriculum's reference proofs, and the names whose proof failed.

    With `env` (a `lean_env` ProofEnv) every step's state comes from replaying the proof; a
    proof the env rejects contributes nothing. Without it, only the first step is used, with
    the initial state printed by the embedded kernel's elaborator.
    """
    examples: list[SupervisedExample] = []
    failed: list[str] = []
    for item in items:
        if env is None:
            from lean_env.embedded.statement import elaborate_theorem

            state = elaborate_theorem(item.formal_statement).goal.pretty()
            examples.append(SupervisedExample(item.name, item.header, item.formal_statement, (), state,
                                              item.tactics[0], "curriculum"))
            continue
        steps = replay_proof(env, item.name, item.header, item.formal_statement, item.tactics)
        if steps is None:
            failed.append(item.name)
        else:
            examples.extend(steps)
    return examples, failed


def replay_proof(env: Any, name: str, header: str, statement: str, tactics: Sequence[str],
                 source: str = "curriculum") -> list[SupervisedExample] | None:
    """Run `tactics` in a fresh session; the (state, tactic) steps if they finish the proof, else None."""
    theorem = Theorem(name, header, statement)
    session, state = env.start(theorem)
    steps: list[SupervisedExample] = []
    try:
        for i, tactic in enumerate(tactics):
            steps.append(SupervisedExample(name, header, statement, tuple(tactics[:i]), state.pp, tactic, source))
            result = session.run_tac(state, tactic)
            if isinstance(result, ProofFinished):
                return steps if i == len(tactics) - 1 else None
            if not isinstance(result, TacticState):
                return None
            state = result
        return None  # tactics ran out with goals open
    finally:
        session.close()
