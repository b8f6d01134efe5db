"""Checks the declarations of one command: statement elaboration, proof, messages, sorries."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import KernelError
from .goals import Goal
from .lemmas import lemma_instances
from .statement import elaborate_theorem
from .tactics import load_all  # noqa: F401  (registers every tactic)
from .tactics.engine import Message, SorryRecord, TacticContext, run_by_block
from .tactics.script import blank_comments
from .terms import Conn, Quant, Term

DECL_RE = re.compile(r"^(?:@\[[^\]]*\]\s*)?(?:private\s+|protected\s+)?(theorem|lemma|example)\b", re.M)
HEADER_RE = re.compile(r"^\s*(import|set_option|open|namespace|end|section|universe|variable|noncomputable section)\b")
ALLOWED_IMPORTS = {"Mathlib", "Aesop"}


@dataclass
class CommandResult:
    messages: list[Message] = field(default_factory=list)
    sorries: list[SorryRecord] = field(default_factory=list)
    lemmas: dict[str, Term] = field(default_factory=dict)


def statement_prop(goal: Goal) -> Term:
    """The closed proposition `∀ vars, hyps → target` of a declaration (for later use by name)."""
    out = goal.target
    for h in reversed(goal.hyps):
        out = Quant("∀", h.name, h.value, out) if h.is_var else Conn("→", (h.value, out))
    return out


def check_command(cmd: str, allow_imports: bool, env_lemmas: dict[str, Term]) -> CommandResult:
    src = blank_comments(cmd)
    res = CommandResult()
    decls = list(DECL_RE.finditer(src))
    header_end = decls[0].start() if decls else len(src)
    _check_header(src, 0, header_end, allow_imports, res)
    for i, m in enumerate(decls):
        end = decls[i + 1].start() if i + 1 < len(decls) else len(src)
        try:
            _check_decl(src, m.start(), end, res, {**env_lemmas, **res.lemmas})
        except Exception as e:  # report, never crash the server; an error is never a proof
            res.messages.append(Message("error", m.start(), end,
                                        f"embedded kernel internal error: {type(e).__name__}: {e}"))
    return res


def _check_header(src: str, start: int, end: int, allow_imports: bool, res: CommandResult) -> None:
    pos = start
    for line in src[start:end].splitlines(keepends=True):
        stripped = line.strip()
        if stripped:
            m = HEADER_RE.match(line)
            if not m:
                col = len(line) - len(line.lstrip())
                res.messages.append(Message("error", pos + col, pos + len(line.rstrip()),
                                            f"embedded kernel: unsupported command '{stripped.split()[0]}'"))
            elif m.group(1) == "import":
                mod = stripped.split()[1] if len(stripped.split()) > 1 else ""
                if not allow_imports:
                    res.messages.append(Message("error", pos, pos + len(line.rstrip()),
                                                "invalid 'import' command, it must be used in the beginning of the file"))
                elif mod.split(".")[0] not in ALLOWED_IMPORTS:
                    res.messages.append(Message("error", pos, pos + len(line.rstrip()),
                                                f"unknown module prefix '{mod.split('.')[0]}'\n\nNo directory '{mod.split('.')[0]}' or file '{mod}.olean' in the search path entries"))
        pos += len(line)


def _check_decl(src: str, start: int, end: int, res: CommandResult, lemmas: dict[str, Term]) -> None:
    ctx = TacticContext(src, lemmas=lemmas)
    try:
        th = elaborate_theorem(src[:end], start)
    except KernelError as e:
        p = e.pos if e.pos is not None else start
        res.messages.append(Message("error", p, min(end, p + 1), e.message))
        return
    syn = th.syntax
    proof_start = syn.proof_start
    rest = src[proof_start:end]
    stripped = rest.lstrip()
    lead = proof_start + (len(rest) - len(stripped))
    if stripped.startswith("by") and (len(stripped) == 2 or stripped[2].isspace()):
        by_pos = lead
        run_by_block(ctx, by_pos, by_pos + 2, end, th.goal)
    elif stripped.rstrip() == "sorry":
        ctx.sorries.append(SorryRecord(th.goal, lead, lead + 5))
        ctx.explicit_sorry = True
    else:
        from .tactics.logic import infer_term
        try:
            infer_term(ctx, th.goal, rest, proof_start, expected=th.goal.target)
        except KernelError as e:
            p = e.pos if e.pos is not None else lead
            ctx.messages.append(Message("error", p, end, e.message))
    res.messages.extend(ctx.messages)
    res.sorries.extend(ctx.sorries)
    name_pos = src.find(th.name, syn.keyword_end) if th.name != "_example" else syn.decl_pos
    name_end = name_pos + len(th.name) if th.name != "_example" else syn.keyword_end
    if ctx.explicit_sorry:
        res.messages.append(Message("warning", name_pos, name_end, "declaration uses 'sorry'"))
    if th.name == "_example":
        return
    if th.name in lemmas or lemma_instances(th.name):
        res.messages.append(Message("error", name_pos, name_end, f"'{th.name}' has already been declared"))
        return
    clean = not ctx.explicit_sorry and not any(m.severity == "error" for m in ctx.messages)
    if clean:  # stricter than Lean: a declaration with errors is not available to later ones
        res.lemmas[th.name] = statement_prop(th.goal)
