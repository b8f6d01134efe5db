"""DeepSeek-Prover-V1.5's prompt format, and cutting a completion down to one tactic.

Prompt: "Complete the following Lean 4 code:\\n\\n```lean4\\n" + header + statement, then the
proof so far (indented two spaces), then the current state as a `/- tactic state: … -/`
comment. The model continues the proof; we keep the text before the first ``` and, of that,
the first tactic (with the lines indented under it, e.g. a `have … := by` block).
"""
from __future__ import annotations

import textwrap

from lean_env.theorem import Theorem
from lean_env.types import TacticState

PROMPT_PREFIX = "Complete the following Lean 4 code:\n\n```lean4\n"
INDENT = "  "


def build_prompt(theorem: Theorem, proof_so_far: list[str], state: TacticState | None, *,
                 prefix: str = PROMPT_PREFIX, notes: str = "") -> str:
    """The prompt for the next tactics at `state`. `prefix` is V1.5's instruction (its CoT
    variant: search.prompt_formats); `notes` (a Lean comment, e.g. an error) goes above the state.
    With no state the prompt ends after the proof so far (V1.5's whole-proof prompt)."""
    parts = [prefix, theorem.header.rstrip("\n"), "\n\n", theorem.statement.rstrip()]
    for tactic in proof_so_far:
        parts.append("\n" + textwrap.indent(tactic, INDENT))
    if notes:
        parts.append("\n" + textwrap.indent(notes, INDENT))
    if state is None:
        return "".join(parts) + "\n"
    parts.append("\n" + INDENT + "/- tactic state:\n")
    parts.append(textwrap.indent(state.pp, INDENT + INDENT) + "\n" + INDENT + "-/\n")
    return "".join(parts)


def first_tactic(completion: str) -> str | None:
    """The first tactic of a completion (dedented), or None if there is none."""
    found = first_tactic_span(completion)
    return found[0] if found else None


def first_tactic_span(completion: str) -> tuple[str, int] | None:
    """(first tactic dedented, offset in `completion` just past its last character), or None."""
    text = completion.split("```", 1)[0]
    lines = text.split("\n")
    offsets, pos = [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    i = 0
    in_block_comment = False
    while i < len(lines):
        stripped = lines[i].strip()
        if in_block_comment:
            in_block_comment = "-/" not in stripped
            i += 1
            continue
        if stripped.startswith("/-"):
            in_block_comment = "-/" not in stripped[2:]
            i += 1
            continue
        if not stripped or stripped.startswith("--"):
            i += 1
            continue
        break
    if i >= len(lines):
        return None
    first = lines[i]
    indent = len(first) - len(first.lstrip())
    last = i
    for j in range(i + 1, len(lines)):
        line = lines[j]
        if not line.strip() or len(line) - len(line.lstrip()) <= indent:
            break
        last = j
    tactic = textwrap.dedent("\n".join(lines[i:last + 1])).rstrip()
    if not tactic or tactic.startswith(("theorem ", "lemma ", "example", "import ", "open ", "set_option ")):
        return None  # the model restarted the file instead of continuing the proof
    return tactic, offsets[last] + len(lines[last].rstrip())


def split_tactics(completion: str, limit: int = 32) -> list[str]:
    """The completion's tactics in order (before the first ```), at most `limit`."""
    text = completion.split("```", 1)[0]
    tactics: list[str] = []
    while len(tactics) < limit:
        found = first_tactic_span(text)
        if found is None:
            break
        tactics.append(found[0])
        text = text[found[1]:]
    return tactics
