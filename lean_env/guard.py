"""What a proof may not contain, and which commands a statement file may hold.

Lean checks what it is given; the guard makes sure what it is given cannot cheat: no
`sorry`/`admit`, no new axioms, no native evaluation (`native_decide`, `Lean.ofReduceBool`)
unless allowed, no `implemented_by`/`extern`/`unsafe`, no options (`debug.skipKernelTC`), no
commands or meta-programming (`#eval`, `#exit`, `run_cmd`, `run_tac`, `elab`, `macro`,
`syntax`, `notation`, `import`, attributes), and nothing that ends the proof block and so
could change or add to the statement. Comments and strings are read as such (`-- sorry` is
fine). An empty list of reasons means acceptable.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from lean_env.lean_text import LeanSyntaxError, iter_lex, line_col, scan


@dataclass(frozen=True)
class GuardPolicy:
    allow_native_decide: bool = False
    # set_option names a statement file may use (never allowed inside a proof)
    file_options: frozenset[str] = field(default_factory=lambda: frozenset({
        "maxHeartbeats", "maxRecDepth", "autoImplicit", "relaxedAutoImplicit", "synthInstance.maxHeartbeats",
        "synthInstance.maxSize", "pp.all", "pp.proofs", "pp.funBinderTypes", "pp.numericTypes", "linter.unusedVariables",
        "linter.unusedTactic", "linter.style.longLine", "linter.style.setOption", "linter.docPrime"}))


DEFAULT_POLICY = GuardPolicy()

# Identifiers (whole tokens, or a dotted component) that are never acceptable in a proof.
_GIVE_UP = {"sorry", "admit", "sorryAx", "stop", "lcProof"}  # lcProof: the compiler's axiom, proves anything
_NATIVE = {"native_decide", "ofReduceBool", "ofReduceNat", "trustCompiler", "native"}
_UNSAFE = {"implemented_by", "extern", "unsafe", "unsafeCast", "unsafeIO", "unsafeBaseIO", "unsafeEIO",
           "csimp", "by_elab", "run_tac", "run_cmd", "run_elab", "run_meta", "elab", "elab_rules", "macro",
           "macro_rules", "syntax", "notation", "infix", "infixl", "infixr", "prefix", "postfix",
           "declare_syntax_cat", "import", "attribute", "set_option", "initialize", "builtin_initialize",
           "axiom", "opaque"}
# Keywords that start a new declaration or scope: in a proof they would end the proof block.
_COMMANDS = {"theorem", "lemma", "def", "abbrev", "example", "instance", "structure", "class", "inductive",
             "coinductive", "namespace", "section", "end", "mutual", "universe", "variable", "export",
             "omit", "include", "deriving", "noncomputable", "private", "protected", "partial", "add_decl_doc"}
# `open X` / `open X in tac` inside a proof changes what names and notations mean (and a bare
# `open` would end the tactic block): never in a proof. (`set_option` is in `_UNSAFE`.)
_SCOPE = {"open"}
_REASONS = {
    **{k: "opens a namespace inside the proof (changes what names mean; ends the tactic block)" for k in _SCOPE},
    **{k: "gives up on the goal" for k in _GIVE_UP},
    **{k: "uses native evaluation (trusts the compiler, not the kernel)" for k in _NATIVE},
    **{k: "is meta-programming, an unsafe/compiler hook, an option or an environment change" for k in _UNSAFE},
    **{k: "starts a new command or declaration (would end the proof and could change the statement)"
       for k in _COMMANDS},
}
_IDENT = re.compile(r"[A-Za-z_\u00C0-\u1FFF\u2100-\u214F\U0001D400-\U0001D7FF«][\w'!?.«»\u2080-\u209C\u1D62-\u1D6A]*")
_HASH_COMMAND = re.compile(r"#[A-Za-z_][\w.]*")
_HASH_COMMANDS = {"#eval", "#exit", "#print", "#check", "#reduce", "#synth", "#guard", "#guard_msgs", "#help",
                  "#lint", "#find", "#simp", "#norm_num", "#conv", "#whnf", "#time", "#exact?", "#align",
                  "#adaptation_note", "#where", "#check_failure", "#guard_expr", "#leansearch", "#loogle"}
_OPEN_META = re.compile(r"\bopen\s+(?:[\w.]+\s+)*(Lean|Elab|Meta)\b")


def _tokens(code: str):
    """The identifiers of `code`, as the shared lexer reads them (Lean's rules: in `hᶜsorry` the
    `ᶜ` is a symbol and `sorry` a word of its own) and as a plain regex reads them: a word either
    reading finds is checked."""
    seen = set()
    try:
        for lx in iter_lex(code):
            if lx.kind in ("ident", "name"):
                seen.add((lx.start, code[lx.start:lx.end].lstrip("`")))
    except LeanSyntaxError:
        pass  # the regex below still reads every word
    seen.update((m.start(), m.group(0)) for m in _IDENT.finditer(code))
    yield from sorted(seen)


def _problems_in_code(text: str, code: str, policy: GuardPolicy, *, allow: frozenset[str] = frozenset(),
                      meta_opens: bool = False) -> list[str]:
    """`meta_opens`: `open Lean …` is fine here (a statement file's own `open` command)."""
    reasons: list[str] = []

    def add(at: int, what: str, why: str) -> None:
        line, col = line_col(text, at)
        reasons.append(f"line {line}:{col}: `{what}` {why}")

    for at, tok in _tokens(code):
        # `«sorryAx»` and `«Lean».«ofReduceBool»` are the names `sorryAx` and `Lean.ofReduceBool`
        # to Lean: read every component without its guillemets
        tok = tok.replace("«", "").replace("»", "")
        parts = tok.strip(".").split(".")
        for part in parts:
            if part in allow:
                continue
            if part in _NATIVE and policy.allow_native_decide:
                continue
            if part in _REASONS:
                add(at, tok, _REASONS[part])
                break
        else:
            if tok.startswith("Lean.") and not (policy.allow_native_decide and "ofReduce" in tok):
                add(at, tok, "reaches into Lean's meta-level (Lean.*) from a proof")
    for m in _HASH_COMMAND.finditer(code):
        word = m.group(0)
        at_line_start = code[code.rfind("\n", 0, m.start()) + 1: m.start()].strip() == ""
        # `#s` is Finset.card notation; a `#word` opening a line is a command
        if word in _HASH_COMMANDS or (at_line_start and len(word) > 2):
            add(m.start(), word, "is a command, not part of a proof")
    for m in [] if meta_opens else _OPEN_META.finditer(code):
        add(m.start(), m.group(0), "opens Lean's meta-level namespaces in a proof")
    for m in re.finditer(r"@\[", code):
        add(m.start(), "@[", "changes attributes")
    for m in re.finditer(r"\+native\b|\bnative\s*:=", code):
        if not policy.allow_native_decide:
            add(m.start(), m.group(0), _REASONS["native"])
    return reasons


def check_proof(text: str, policy: GuardPolicy = DEFAULT_POLICY) -> list[str]:
    """Reasons the tactic block `text` (what follows `:= by`) is unacceptable; [] if none."""
    try:
        scanned = scan(text)
    except LeanSyntaxError as e:
        return [f"proof text does not scan: {e}"]
    if not scanned.code.strip():
        return ["the proof is empty"]
    reasons = _problems_in_code(text, scanned.code, policy)
    # A proof line less indented than the first one would leave the tactic block.
    lines = [ln for ln in scanned.code.split("\n") if ln.strip()]
    base = len(lines[0]) - len(lines[0].lstrip())
    for ln in lines[1:]:
        if len(ln) - len(ln.lstrip()) < base:
            reasons.append(f"a proof line is indented less than the first line ({ln.strip()[:40]!r}): "
                           "it would end the tactic block")
            break
    if not _balanced(scanned.code):
        reasons.append("unbalanced brackets: the proof could close the statement's own brackets")
    # A proof is checked at one indentation and written into a file at another: the text of a
    # string literal that spans lines would change with it.
    for lx in iter_lex(text):
        if lx.kind == "str" and "\n" in text[lx.start:lx.end]:
            line, col = line_col(text, lx.start)
            reasons.append(f"line {line}:{col}: a string literal spans lines (its text would change when the "
                           "proof is indented into the file); write `\\n` instead")
            break
    return reasons


def _balanced(code: str) -> bool:
    pairs = {")": "(", "]": "[", "}": "{", "⟩": "⟨", "⦄": "⦃", "⟧": "⟦"}
    stack: list[str] = []
    for ch in code:
        if ch in "([{⟨⦃⟦":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack


_OPTION_IN = re.compile(r"(\s*)set_option\s+([\w.]+)\s+\S+\s+in\b")


def _allowed_option_prefixes_blanked(code: str, policy: GuardPolicy) -> str:
    """`set_option maxHeartbeats 400000 in` before a declaration is fine if the option is allowed."""
    pos = 0
    while True:
        m = _OPTION_IN.match(code, pos)
        if not m or m.group(2) not in policy.file_options:
            return code
        code = code[: m.start()] + m.group(1) + " " * (m.end() - m.start() - len(m.group(1))) + code[m.end():]
        pos = m.end()


def check_file(text: str, policy: GuardPolicy = DEFAULT_POLICY) -> list[str]:
    """Reasons a statement file sent to the service is unacceptable; [] if none.

    Allowed: `import`, `open` (naming no refused declaration: `open Lean renaming ofReduceBool →
    cheat` is not), `set_option` with an option from `policy.file_options`,
    `namespace`/`section`/`end`, `noncomputable section`, `universe`, `variable`, and
    `theorem`/`lemma`/`example`/`def`/`abbrev` whose body is missing (`sorry`, `by sorry`,
    `by`) or passes `check_proof` save for `sorry` (a declaration that uses `sorry` is never
    part of another theorem's header, and one whose proof ends in `sorry` is finished by the
    search: see `lean_env.theorem`). Everything else (axioms, instances, macros, notation,
    attributes, `#` commands, options such as `debug.skipKernelTC`) is rejected. Positions
    are line:column in `text`.
    """
    from lean_env.theorem import split_commands  # theorem.py uses the guard's neighbours, not the guard

    try:
        commands = split_commands(text)
    except LeanSyntaxError as e:
        return [str(e)]
    reasons: list[str] = []
    for cmd in commands:
        where = f"line {cmd.line}:{line_col(text, cmd.statement_start)[1]}"
        head = cmd.keyword
        body_code = cmd.code
        # the checks read one command; their positions are put back into the file's
        text_before = text[: cmd.start]
        line_shift, first_col = text_before.count("\n"), len(text_before) - (text_before.rfind("\n") + 1)

        def in_file(reason: str, line_shift: int = line_shift, first_col: int = first_col) -> str:
            m = re.match(r"line (\d+):(\d+): ", reason)
            if not m:
                return reason
            line, col = int(m.group(1)), int(m.group(2))
            return f"line {line + line_shift}:{col + (first_col if line == 1 else 0)}: {reason[m.end():]}"
        if head in ("import", "namespace", "section", "end", "universe"):
            continue
        if head == "open":
            # `open Lean renaming ofReduceBool → cheat` (or `open Lean (ofReduceBool)`) would let a
            # proof use a refused name under one the guard cannot know: the command names it, so read it
            reasons += [in_file(r) for r in _problems_in_code(cmd.text, body_code, policy,
                                                              allow=frozenset({"open"}), meta_opens=True)]
            continue
        if head == "set_option":
            m = re.match(r"\s*set_option\s+([\w.]+)\s+(\S+)\s*(\bin\b)?", body_code)
            if not m or m.group(1) not in policy.file_options:
                name = m.group(1) if m else body_code.strip()[:40]
                reasons.append(f"{where}: `set_option {name}` is not an allowed option in a statement file")
            elif m.group(3):
                reasons.append(f"{where}: `set_option ... in` before a command is not allowed in a statement file")
            continue
        if head == "variable":
            reasons += [in_file(r) for r in _problems_in_code(cmd.text, body_code, policy,
                                                              allow=frozenset({"variable"}))]
            continue
        if head in ("theorem", "lemma", "example", "def", "abbrev"):
            sig, body = _allowed_option_prefixes_blanked(cmd.signature_code, policy), cmd.body_code
            sig_reasons = _problems_in_code(cmd.text, " " * (cmd.statement_start - cmd.start) + sig, policy,
                                            allow=frozenset({head, "noncomputable", "private", "protected", "open"}))
            reasons += [f"{in_file(r)} (statement of {cmd.name})" for r in sig_reasons]
            if body is not None and not cmd.proof_missing:
                blank_sig = " " * (len(cmd.code) - len(body))
                body_reasons = _problems_in_code(cmd.text, blank_sig + body, policy, allow=frozenset({"sorry"}))
                reasons += [f"{in_file(r)} (proof of {cmd.name})" for r in body_reasons]
            continue
        reasons.append(f"{where}: `{head}` commands are not allowed in a statement file")
    return reasons
