"""Checks the declarations of one command: statement elaboration, proof, messages, sorries."""
from __future__ import annotations

from dataclasses import dataclass, field

from .bridge import start_goal
from .commands import CommandReader, DeclSite, ScopeState, qualify
from .core.check import Report
from .core.sequent import CoreError
from .errors import KernelError
from .goals import Goal
from .lemmas import lemma_instances
from .proof_check import check_proof, core_env
from .statement import SectionVariable, elaborate_theorem
from .tactics import load_all  # noqa: F401  (registers every tactic)
from .tactics.engine import Message, SorryRecord, TacticContext, run_by_block
from .tactics.script import blank_comments
from .terms import Conn, Quant, Term


@dataclass
class CommandResult:
    messages: list[Message] = field(default_factory=list)
    sorries: list[SorryRecord] = field(default_factory=list)
    lemmas: dict[str, Term] = field(default_factory=dict)
    scope: ScopeState = field(default_factory=ScopeState)  # namespaces/opens/variables after the command
    reports: dict[str, Report] = field(default_factory=dict)  # what each checked proof relies on


def statement_prop(goal: Goal) -> Term:
    """The closed proposition `∀ vars, hyps → target` of a declaration (for later use by name)."""
    out = goal.target
    for h in reversed(goal.hyps):
        out = Quant("∀", h.name, h.value, out) if h.is_var else Conn("→", (h.value, out))
    return out


def check_command(cmd: str, allow_imports: bool, env_lemmas: dict[str, Term],
                  scope: ScopeState | None = None) -> CommandResult:
    """Check every command of `cmd`; `commands.py` splits the text as Lean's parser does.

    `scope` is the scope state the command starts in (namespaces, `open`s, `variable`s kept
    from earlier commands, as the REPL keeps them); the state after it is `result.scope`."""
    src = blank_comments(cmd)
    res = CommandResult()

    def on_decl(site: DeclSite, state: ScopeState) -> None:
        try:
            _dispatch_decl(src, site, state, res, env_lemmas)
        except Exception as e:  # report, never crash the server; an error is never a proof
            res.messages.append(Message("error", site.kw_pos, site.end,
                                        f"embedded kernel internal error: {type(e).__name__}: {e}"))

    reader = CommandReader(cmd, allow_imports, scope or ScopeState(), on_decl)
    res.scope = reader.run()
    res.messages.extend(Message("error", p.start, p.end, p.text) for p in reader.problems)
    res.messages.sort(key=lambda m: (m.start, m.end))
    return res


def _visible_lemmas(lemmas: dict[str, Term], state: ScopeState) -> dict[str, Term]:
    """Names as Lean resolves them here: inside `namespace A.B`, `A.B.foo` and `A.foo` win
    over a root `foo` (the innermost first); `open X` makes `X.foo` available as `foo` unless a
    `foo` exists already (Lean would find both; we keep the existing one). A `protected`
    declaration is never reached by its last component alone."""
    view = dict(lemmas)
    for ns in state.opens:
        for name, prop in lemmas.items():
            if name.startswith(ns + ".") and name not in state.protected:
                short = name[len(ns) + 1:]
                if short not in view and not lemma_instances(short):
                    view[short] = prop
    parts = state.namespace.split(".") if state.namespace else []
    for k in range(1, len(parts) + 1):
        prefix = ".".join(parts[:k])
        for name, prop in lemmas.items():
            if name.startswith(prefix + ".") and name not in state.protected:
                view[name[len(prefix) + 1:]] = prop
    return view


# namespaces Mathlib populates densely: a new declaration there may clash with an existing one
MATHLIB_NAMESPACES = frozenset({"Nat", "Int", "Rat", "Real", "NNReal", "ENNReal", "Complex", "Finset", "Set",
                                "Multiset", "List", "Function", "Polynomial", "Fin", "ZMod", "Prime", "Even",
                                "Odd", "abs", "Dvd", "Monotone", "StrictMono"})


def _blank(text: str) -> str:
    return "".join(ch if ch == "\n" else " " for ch in text)


def _dispatch_decl(src: str, site: DeclSite, state: ScopeState, res: CommandResult,
                   env_lemmas: dict[str, Term]) -> None:
    """Check one declaration in its scope: full name, visible lemmas, section variables."""
    known = {**env_lemmas, **res.lemmas}
    full = qualify(state.namespace, site.name) if site.name is not None else None
    if full is not None and (full in known or lemma_instances(full)):
        name_pos = site.name_end - len(site.name or "")
        res.messages.append(Message("error", name_pos, site.name_end, f"'{full}' has already been declared"))
        return
    if full is not None and full.split(".")[0] in MATHLIB_NAMESPACES and "." in full:
        # Mathlib declares thousands of names there; we cannot tell whether it has this one
        # (Lean: "has already been declared"), so a proof could use our statement under its name
        name_pos = site.name_end - len(site.name or "")
        res.messages.append(Message("error", name_pos, site.name_end,
                                    f"embedded kernel: '{full}' is in Mathlib's namespace "
                                    f"'{full.split('.')[0]}', where it may already be declared; choose another name"))
        return
    # Lean reads only this declaration's text here: blank the rest (offsets and newlines kept).
    # The section variables are not text: they were parsed when the `variable` commands were
    # read, and the statement's elaboration adds those Lean includes as leading binders.
    view = _blank(src[:site.kw_pos]) + src[site.kw_pos:site.end] + _blank(src[site.end:])
    sub = CommandResult()
    _check_decl(view, site.kw_pos, site.end, sub, _visible_lemmas(known, state), variables=state.variables,
                scoped=_active_namespaces(state))
    res.messages.extend(sub.messages)
    res.sorries.extend(sub.sorries)
    for name, prop in sub.lemmas.items():
        res.lemmas[qualify(state.namespace, name)] = prop
    for name, report in sub.reports.items():
        res.reports[qualify(state.namespace, name)] = report


def _active_namespaces(state: ScopeState) -> frozenset[str]:
    """Namespaces whose scoped notations are active: the opened ones, the current one and its parents."""
    parts = state.namespace.split(".") if state.namespace else []
    return frozenset(state.opens) | {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def _check_decl(src: str, start: int, end: int, res: CommandResult, lemmas: dict[str, Term],
                variables: tuple[SectionVariable, ...] = (), scoped: frozenset[str] | None = None) -> None:
    ctx = TacticContext(src, lemmas=lemmas, core_env=core_env(lemmas))
    try:
        th = elaborate_theorem(src[:end], start, variables, scoped)
        root = start_goal(th.goal)  # the statement's sequent in the trusted core
    except CoreError as e:
        res.messages.append(Message("error", start, min(end, start + 1),
                                    f"embedded kernel: the statement is outside the trusted core's fragment: {e}"))
        return
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
        run_by_block(ctx, by_pos, by_pos + 2, end, root)
    elif stripped.rstrip() == "sorry":
        ctx.sorries.append(SorryRecord(root, lead, lead + 5))
        ctx.explicit_sorry = True
    else:
        from .tactics.logic import close_term  # the term compiled into core steps on the root goal
        try:
            close_term(ctx, root, rest, proof_start)
        except KernelError as e:
            p = e.pos if e.pos is not None else lead
            ctx.messages.append(Message("error", p, end, e.message))
    res.messages.extend(ctx.messages)
    res.sorries.extend(ctx.sorries)
    name_pos = src.find(th.name, syn.keyword_end) if th.name != "_example" else syn.decl_pos
    name_end = name_pos + len(th.name) if th.name != "_example" else syn.keyword_end
    if ctx.explicit_sorry:
        res.messages.append(Message("warning", name_pos, name_end, "declaration uses 'sorry'"))
    clean = not ctx.explicit_sorry and not any(m.severity == "error" for m in ctx.messages)
    if clean:
        try:
            report = check_proof(ctx, root)
            if not report.complete:
                raise CoreError("the proof has unsolved goals")
            res.reports[th.name] = report
        except CoreError as e:
            res.messages.append(Message("error", name_pos, name_end,
                                        f"embedded kernel: the trusted core rejected the proof: {e}"))
            return
    if th.name == "_example":
        return
    if th.name in lemmas or lemma_instances(th.name):
        res.messages.append(Message("error", name_pos, name_end, f"'{th.name}' has already been declared"))
        return
    if clean:  # stricter than Lean: a declaration with errors is not available to later ones
        res.lemmas[th.name] = statement_prop(th.goal)
