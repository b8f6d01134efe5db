"""Theorems of a .lean file: what to prove, and where its proof goes back.

`parse_lean_file(text)` splits a file into commands (on the blanked text of
`lean_text.scan`, so comments and strings never confuse it) and finds the theorems, lemmas
and examples whose proof is missing (`:= by sorry`, `:= by` followed by nothing, `:= sorry`)
or ends in a top-level `sorry` after some tactics (a partial proof: the search starts from the
goal those tactics leave, and only the `sorry` is replaced). A proof that uses `sorry`
anywhere else is listed in `LeanFile.skipped`, with the reason, and not attempted.

Each theorem comes with the header it needs: the file up to it (imports, `open`, `set_option`,
namespaces and sections, earlier proved declarations) with every declaration that uses
`sorry` (and every one that mentions such a declaration) blanked out, so a proof can never
lean on an unproved lemma. Blanking keeps every line and column where it was: a position Lean
reports in a header is a position in the file. `splice_proofs` writes proofs back, replacing
only the `sorry` text and leaving every other byte of the file as it was (a UTF-8 byte order
mark, CRLF line endings, tabs in comments, a missing final newline); a spliced proof uses the
file's line ending and the indentation of the `sorry` it replaces.
"""
from __future__ import annotations

import bisect
import re
import textwrap
from collections import Counter
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from lean_env.lean_text import LeanSyntaxError, Scanned, identifier_end, iter_lex, line_col, scan

BOM = "\ufeff"


@dataclass(frozen=True)
class Theorem:
    """One statement to prove.

    `header` is everything the statement needs before it (imports, `open`, `set_option`,
    namespaces); `statement` is the declaration up to and including `:= by` (e.g.
    `theorem foo (x : ℕ) (h : x = 2) : x + 1 = 3 := by`). The full text Lean checks is
    `header + "\\n" + statement + "\\n  " + proof`.
    """

    name: str
    header: str
    statement: str
    # Tactics the file already gives before a final `sorry` (one top-level tactic each, dedented):
    # the search starts from the goal(s) they leave, and the proof is `given_tactics` + what it found.
    given_tactics: tuple[str, ...] = ()


_MODIFIER = r"(?:private|protected|noncomputable|unsafe|partial|nonrec|scoped|local)\b"
_ATTRIBUTES = r"@\[[^\]]*\]"
_PREFIX = re.compile(rf"(?:\s*(?:{_MODIFIER}|{_ATTRIBUTES}))*\s*")
_COMMAND_WORDS = (
    "import open set_option namespace section end universe variable theorem lemma example def abbrev instance "
    "axiom opaque structure class inductive macro macro_rules syntax notation infix infixl infixr prefix postfix "
    "elab elab_rules attribute mutual run_cmd run_elab run_meta initialize export deriving omit include "
    "declare_syntax_cat add_decl_doc"
).split()
_LINE_START = re.compile(rf"(?:{_ATTRIBUTES}|{_MODIFIER}|#[A-Za-z_]|(?:{'|'.join(_COMMAND_WORDS)})\b)")
# Reserved words that start a command wherever they stand (also mid-line).
_ANYWHERE = re.compile(r"(?<![\w.'])(?:theorem|lemma|example)\b")
_DECLARATIONS = {"theorem", "lemma", "example", "def", "abbrev", "instance", "axiom", "opaque"}
_PROVABLE = {"theorem", "lemma", "example"}
_IDENT = re.compile(r"[^\s(){}\[\]⟨⟩:,]+")
_GIVE_UP = {"sorry", "admit"}
# Words the lexer reads as identifiers that Lean reserves: never a mention of a declaration.
_KEYWORDS = frozenset(_COMMAND_WORDS) | {
    "by", "fun", "let", "have", "show", "from", "at", "with", "do", "then", "else", "if", "match", "in",
    "calc", "suffices", "where", "private", "protected", "noncomputable", "partial", "unsafe", "nonrec"}


@dataclass(frozen=True)
class Command:
    """One top-level command. Offsets are character offsets into the file text."""

    keyword: str  # first word after modifiers/attributes/`open … in` prefixes: "theorem", "open", "#eval", …
    start: int  # includes a doc comment right before it
    statement_start: int  # after the doc comment: modifiers/attributes start here
    end: int  # where the next command (or the file) starts; includes trailing blank lines/comments
    line: int
    text: str
    code: str  # `text` with comments and string bodies blanked
    name: str | None = None
    assign: int | None = None  # absolute offset of the top-level `:=` of a declaration
    proof_missing: bool = False
    proof_span: tuple[int, int] | None = None  # what `splice_proofs` replaces (right after `:=`)

    @property
    def signature_code(self) -> str:
        stop = self.assign if self.assign is not None else self.end
        return self.code[self.statement_start - self.start: stop - self.start]

    @property
    def body_code(self) -> str | None:
        return None if self.assign is None else self.code[self.assign + 2 - self.start:]


@dataclass(frozen=True)
class TheoremSite:
    """A theorem with a missing proof, and where it sits in the file."""

    theorem: Theorem
    full_name: str  # with the enclosing namespaces
    line: int
    command_span: tuple[int, int]
    proof_span: tuple[int, int]  # the text a proof replaces: ` by sorry` / ` by` / ` sorry`, or a final `sorry`
    indent: int  # the column the spliced tactics start at
    column: int = 0  # of the statement's first character (its line is `line`)
    partial: bool = False  # the file gives tactics before a final `sorry` (`theorem.given_tactics`)
    newline: str = "\n"  # the file's line ending, used inside a spliced proof
    given_at: tuple[tuple[int, int], ...] = ()  # line and column of each of `theorem.given_tactics`


@dataclass(frozen=True)
class SkippedTheorem:
    """A theorem, lemma or example that uses `sorry` in a way no search can fill in (or whose
    statement needs a declaration that is not proved): reported, never attempted."""

    name: str
    full_name: str
    line: int
    column: int
    reason: str


@dataclass(frozen=True)
class LeanFile:
    text: str  # the file without its byte order mark (offsets and spans index this text)
    path: str | None
    header: str  # imports, options, opens, namespaces before the first declaration
    commands: tuple[Command, ...]
    sites: tuple[TheoremSite, ...]
    skipped: tuple[SkippedTheorem, ...] = ()
    notes: tuple[str, ...] = ()  # declarations left out of later headers, and why
    bom: bool = False  # the file starts with a UTF-8 byte order mark (kept when writing back)

    @property
    def theorems(self) -> list[Theorem]:
        return [s.theorem for s in self.sites]

    def byte_span(self, span: tuple[int, int]) -> tuple[int, int]:
        """A character span as byte offsets into the UTF-8 file (its byte order mark counted)."""
        skip = len(BOM.encode()) if self.bom else 0
        return (skip + len(self.text[: span[0]].encode()), skip + len(self.text[: span[1]].encode()))


def _fail(scanned: Scanned, offset: int, message: str, path: str | None) -> LeanSyntaxError:
    line, col = line_col(scanned.text, offset)
    return LeanSyntaxError(message, line, col, path)


def _command_starts(scanned: Scanned) -> list[int]:
    code = scanned.code
    starts = set()
    offset = 0
    for line in code.split("\n"):
        if _LINE_START.match(line):
            starts.add(offset)
        offset += len(line) + 1
    starts.update(m.start() for m in _ANYWHERE.finditer(code))
    ordered = sorted(starts)
    # `@[simp]` / `private` / `open Foo in` on their own line belong to the command below them
    merged: list[int] = []
    for s in ordered:
        if merged:
            between = code[merged[-1]: s]
            if _PREFIX.fullmatch(between) or re.search(r"\bin\s*$", between) and re.match(
                    r"\s*(open|set_option)\b", between):
                continue
        merged.append(s)
    return merged


def _keyword(code: str) -> tuple[str, int]:
    """The command's keyword and its offset in `code`, skipping modifiers, attributes, `… in`."""
    pos = 0
    while True:
        pos = _PREFIX.match(code, pos).end()
        m = re.match(r"(open|set_option)\b[^\n]*?\bin\b", code[pos:])
        if m and not re.match(r"\s*$", code[pos + m.end():]):
            pos += m.end()
            continue
        break
    m = re.match(r"#?[\w.]+", code[pos:])
    return (m.group(0) if m else code[pos:pos + 1]), pos


def _top_level_assign(scanned: Scanned, start: int, end: int, path: str | None) -> int | None:
    code = scanned.code
    closers = {")": "(", "]": "[", "}": "{", "⟩": "⟨", "⦄": "⦃"}
    stack: list[tuple[str, int]] = []
    pending_lets = 0  # `let x := v; …` / `have` in the statement's type own the next `:=`
    i = start
    while i < end:
        ch = code[i]
        if not stack and ch in "lh" and re.match(r"(let|have)I?\b", code[i:i + 6]) and (
                i == 0 or not re.match(r"[\w.']", code[i - 1])):
            pending_lets += 1
        if ch in "([{⟨⦃":
            stack.append((ch, i))
        elif ch in closers:
            if not stack or stack[-1][0] != closers[ch]:
                raise _fail(scanned, i, f"unmatched `{ch}` in a declaration", path)
            stack.pop()
        elif ch == ":" and code.startswith(":=", i) and not stack:
            if not pending_lets:
                return i
            pending_lets -= 1
        elif ch == "|" and not stack and not code[code.rfind("\n", 0, i) + 1: i].strip() \
                and code[i + 1:i + 2] in " \t":
            return None  # pattern-matching definition: `| pat => body`
        i += 1
    if stack:
        raise _fail(scanned, stack[-1][1], f"`{stack[-1][0]}` is never closed in this declaration", path)
    return None


def split_commands(text: str, path: str | None = None) -> list[Command]:
    scanned = scan(text, path)
    # Where commands start and where a declaration's `:=` is are read with `«…»` names blanked too
    # (`theorem «a := by» …`, `«theorem»`); the commands keep the scanned code (the guard reads it).
    layout = replace(scanned, code=_names_blanked(scanned))
    starts = _command_starts(layout)
    before = scanned.code[: starts[0]] if starts else scanned.code
    if before.strip():
        raise _fail(scanned, len(before) - len(before.lstrip()), "text before the first command is not a Lean command", path)
    doc_before = {c.end: c.start for c in scanned.comments if c.kind == "doc"}
    commands: list[Command] = []
    for i, s in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        # a doc comment directly above belongs to this command
        start = s
        prefix = text[:s]
        stripped_end = len(prefix.rstrip())
        if stripped_end in doc_before:
            start = doc_before[stripped_end]
            if commands and commands[-1].end > start:  # cut it off the previous command
                prev = commands[-1]
                commands[-1] = _declaration(scanned, layout, prev.start, prev.statement_start, start, path)
        commands.append(_declaration(scanned, layout, start, s, end, path))
    return commands


def _names_blanked(scanned: Scanned) -> str:
    """`scanned.code` with the inside of every `«…»` name made `x`s (lines kept)."""
    chars = list(scanned.code)
    for lx in iter_lex(scanned.text):
        if lx.kind == "ident" and "«" in scanned.text[lx.start:lx.end]:
            inside = False
            for i in range(lx.start, lx.end):
                ch = scanned.text[i]
                if ch in "«»":
                    inside = ch == "«"
                elif inside and ch not in "\r\n":
                    chars[i] = "x"
    return "".join(chars)


def _declaration(scanned: Scanned, layout: Scanned, start: int, statement_start: int, end: int,
                 path: str | None) -> Command:
    text, code = scanned.text, layout.code
    keyword, kw_rel = _keyword(code[statement_start:end])
    kw_at = statement_start + kw_rel
    line = line_col(text, statement_start)[0]
    base = dict(keyword=keyword, start=start, statement_start=statement_start, end=end, line=line,
                text=text[start:end], code=scanned.code[start:end])
    if keyword not in _DECLARATIONS:
        return Command(**base)
    if keyword == "example":
        name = f"example_{line_col(text, kw_at)[0]}"
    else:
        m = _IDENT.search(code, kw_at + len(keyword), end)
        if not m:
            raise _fail(scanned, kw_at, f"`{keyword}` without a name", path)
        name = m.group(0)
        if "«" in name:  # `«weird name with spaces»`: Lean's identifier, spaces and all
            name = text[m.start(): identifier_end(text, m.start())]
    _refuse_inner_commands(scanned, keyword, name, kw_at + len(keyword), end, path)
    assign = _top_level_assign(layout, kw_at + len(keyword), end, path)
    if assign is None:
        if keyword in _PROVABLE:
            raise _fail(scanned, kw_at, f"{keyword} `{name}` has no `:=` (expected `:= by ...` or `:= sorry`)", path)
        return Command(**base, name=name)
    body = code[assign + 2: end]
    missing = re.match(r"\s*(by\s+sorry|by|sorry)\s*$", body)
    span = (assign + 2, assign + 2 + missing.end(1)) if missing else None
    return Command(**base, name=name, assign=assign, proof_missing=bool(missing), proof_span=span)


def _refuse_inner_commands(scanned: Scanned, keyword: str, name: str, start: int, end: int,
                           path: str | None) -> None:
    """A command keyword inside a declaration (`  open Nat` in a proof, `set_option … in` after
    `by`): Lean ends the declaration there, or reads `open … in`/`set_option … in` as a tactic.
    Either way the text is not the one declaration it looks like: refuse the file."""
    from lean_env.embedded.commands import tokenize

    for tok in tokenize(scanned.text[start:end]):
        if tok.kind == "cmd" and tok.text not in ("/--", "/-!"):
            raise _fail(scanned, start + tok.pos,
                        f"`{tok.text}` inside {keyword} `{name}`: Lean ends the declaration there (or reads "
                        f"`open … in`/`set_option … in` as a tactic); start each command on a line of its own", path)


@dataclass(frozen=True)
class _Body:
    """How a declaration's proof uses `sorry`."""

    kind: str  # "proved" | "missing" | "partial" | "sorry" (somewhere else)
    sorry_at: int | None = None  # offset of the (first) `sorry`/`admit`
    given: tuple[str, ...] = ()  # partial: the top-level tactics before the final `sorry`
    given_at: tuple[int, ...] = ()  # partial: where each starts
    sorry_span: tuple[int, int] | None = None  # partial: the final `sorry`
    why: str | None = None  # "sorry": why it cannot be filled in, when not just where the `sorry` is


def _body_kind(text: str, cmd: Command) -> _Body:
    """Classify the proof of a declaration with `:=` (read with the shared lexer)."""
    if cmd.proof_missing:
        return _Body("missing")
    if cmd.assign is None:  # `def f : ℕ → ℕ | 0 => … | n + 1 => …`: any `sorry` in it counts
        for lx in iter_lex(text[cmd.statement_start:cmd.end]):
            if lx.kind == "ident" and text[cmd.statement_start + lx.start: cmd.statement_start + lx.end] in _GIVE_UP:
                return _Body("sorry", cmd.statement_start + lx.start)
        return _Body("proved")
    start = cmd.assign + 2
    lexemes = [lx for lx in iter_lex(text[start:cmd.end]) if lx.kind not in ("line", "block", "doc", "moddoc")]
    words = [text[start + lx.start: start + lx.end] for lx in lexemes]
    give_up = [i for i, w in enumerate(words) if w in _GIVE_UP]
    if not give_up:
        return _Body("proved")
    first_at = start + lexemes[give_up[0]].start
    last = len(lexemes) - 1
    if words[0] != "by" or give_up != [last] or words[last] != "sorry" or last < 2:
        return _Body("sorry", first_at)
    # Lean's tactic block: its column is the first tactic's; a top-level tactic starts a line there.
    first, final = start + lexemes[1].start, start + lexemes[last].start
    block_col, sorry_col = line_col(text, first)[1], line_col(text, final)[1]
    if sorry_col != block_col or text[text.rfind("\n", 0, final) + 1: final].strip():
        return _Body("sorry", first_at)
    starts = [start + lx.start for lx in lexemes[1:last]
              if line_col(text, start + lx.start)[1] == block_col
              and not text[text.rfind("\n", 0, start + lx.start) + 1: start + lx.start].strip()]
    if not starts or starts[0] != first:
        return _Body("sorry", first_at)
    statement_col = line_col(text, cmd.statement_start)[1]
    if block_col <= statement_col:  # the check puts the block right of the statement, as Lean's style does
        line, col = line_col(text, first)
        return _Body("sorry", first_at, why=(
            f"not attempted: its tactics start at {line}:{col}, not right of the declaration (column "
            f"{statement_col}); indent the tactic block under the declaration"))
    # The given tactics are checked at another column than the file's (the text Lean checks starts
    # its block at column 2), so they must move as one piece: a line of code left of the block (Lean
    # may end the block there, or read it as part of a term) or a string literal spanning lines
    # (its text would change) would make the checked text differ from the file's.
    for lx in lexemes[2:last]:
        at = start + lx.start
        line_start = text.rfind("\n", 0, at) + 1
        if lx.kind == "str" and "\n" in text[at: start + lx.end]:
            line, col = line_col(text, at)
            return _Body("sorry", first_at, why=(
                f"not attempted: a string literal at {line}:{col} spans lines; the tactics before the final "
                "`sorry` are checked re-indented, which would change its text"))
        if not text[line_start:at].strip() and line_col(text, at)[1] < block_col:
            line, col = line_col(text, at)
            return _Body("sorry", first_at, why=(
                f"not attempted: the tactic text at {line}:{col} is indented less than its tactic block "
                f"(column {block_col}), so the block may end there; indent it at least to the block's column"))
    given = []
    for a, b in zip(starts, [*starts[1:], text.rfind("\n", 0, final) + 1]):
        lines = text[a:b].replace("\r\n", "\n").rstrip().split("\n")
        # every line of code starts at the block's column or right of it (checked above); a line
        # that does not is inside a comment, whose text does not matter
        lines[1:] = [ln[block_col:] if not ln[:block_col].strip() else ln.lstrip() for ln in lines[1:]]
        given.append("\n".join(lines))
    return _Body("partial", first_at, tuple(given), tuple(starts), (final, final + len("sorry")))


def _newline(text: str) -> str:
    """The file's line ending: CRLF when most lines end so."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


_BLOCK_START = re.compile(r"\s*by[ \t]*\r?\n(?:[ \t]*\r?\n)*( *)\S")


def _indent_step(text: str, commands: list[Command]) -> int:
    """How far this file indents a tactic block below its declaration (most often): 2 unless the
    file's own `:= by` blocks say otherwise."""
    steps: Counter[int] = Counter()
    for cmd in commands:
        body = cmd.body_code
        m = _BLOCK_START.match(body) if body is not None else None
        if m:
            step = len(m.group(1)) - (cmd.statement_start - (text.rfind("\n", 0, cmd.statement_start) + 1))
            if step > 0:
                steps[step] += 1
    return steps.most_common(1)[0][0] if steps else 2


def _blank_out(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each span's characters turned into spaces (line breaks kept), so lines and
    columns stay where they were in the file."""
    pieces, at = [], 0
    for a, b in sorted(spans):
        a = max(a, at)
        pieces += [text[at:a], re.sub(r"[^\r\n]", " ", text[a:b])]
        at = max(at, b)
    return "".join(pieces) + text[at:]


def _last_component(name: str) -> str:
    """`A.b`, `A.«b»` and `«b»` all end in `b` (Lean reads `«b»` as the name `b`)."""
    return name.replace("«", "").replace("»", "").split(".")[-1]


def _mentions(text: str, cmd: Command, names: dict[str, Command]) -> Command | None:
    """The first declaration in `names` (keyed by last name component) that `cmd` mentions."""
    body = text[cmd.statement_start: cmd.end]
    own_name = cmd.name  # the declaration's own name is not a mention (its first occurrence)
    for lx in iter_lex(body):
        if lx.kind == "ident":
            word = body[lx.start: lx.end]
            if word == own_name:
                own_name = None
                continue
            if word in _KEYWORDS:  # `theorem`, `by`, … (a name spelled so is written `«by»`)
                continue
            found = names.get(_last_component(word))
            if found is not None and found is not cmd:
                return found
    return None


def parse_lean_file(text: str, path: str | None = None) -> LeanFile:
    """Split a .lean file into its header and the theorems that still need a proof.

    A leading byte order mark is set aside (`LeanFile.bom`; `splice_proofs` puts it back).
    Raises `LeanSyntaxError` (with line and column) for text it cannot split: unclosed
    comments or strings, unbalanced brackets in a declaration, a theorem without `:=`.
    """
    bom = text.startswith(BOM)
    if bom:
        text = text[len(BOM):]
    commands = split_commands(text, path)
    newline, step = _newline(text), _indent_step(text, commands)
    bodies = {id(c): _body_kind(text, c) for c in commands if c.keyword in _DECLARATIONS}
    # Declarations a later header leaves out: every one that uses `sorry`, then every one that
    # mentions a left-out one (by name; mentioning more than it uses only leaves out more).
    left_out: dict[str, Command] = {}
    why: dict[int, str] = {}
    notes: list[str] = []
    needs: dict[int, Command | None] = {}  # what a theorem to prove mentions of the ones left out before it
    for cmd in commands:
        body = bodies.get(id(cmd))
        if body is None or cmd.name is None:
            continue
        if body.kind != "proved":
            if cmd.keyword in _PROVABLE:  # only earlier declarations count: a later one cannot be used
                needs[id(cmd)] = _mentions(text, cmd, left_out)
            left_out[_last_component(cmd.name)] = cmd
            missing = body.kind == "missing" and cmd.keyword in _PROVABLE
            why[id(cmd)] = "its proof is missing" if missing else "it uses `sorry`"
            if cmd.keyword not in _PROVABLE:
                notes.append(f"line {cmd.line}: {cmd.keyword} {cmd.name} uses `sorry`; later theorems are "
                             "proved without it (a proof may not rely on an unproved declaration)")
            continue
        used = _mentions(text, cmd, left_out)
        if used is not None:
            left_out[_last_component(cmd.name)] = cmd
            why[id(cmd)] = f"it mentions {used.name}, which {why[id(used)].replace('its ', 'whose ')}"
            notes.append(f"line {cmd.line}: {cmd.keyword} {cmd.name} mentions {used.name} (line {used.line}), "
                         f"which is not proved; later theorems are proved without either")
    # every header is a prefix of one blanked text (a header never reaches past its theorem)
    blanked = _blank_out(text, [(c.start, c.end) for c in commands if id(c) in why])
    namespaces: list[str | None] = []
    sites: list[TheoremSite] = []
    skipped: list[SkippedTheorem] = []
    for cmd in commands:
        if cmd.keyword == "namespace":
            parts = cmd.code.split()
            namespaces.append(parts[-1] if len(parts) > 1 else None)
        elif cmd.keyword == "section":
            namespaces.append(None)
        elif cmd.keyword == "end" and namespaces:
            namespaces.pop()
        elif cmd.keyword in _PROVABLE and id(cmd) in why:
            assert cmd.name is not None and cmd.assign is not None
            prefix = ".".join(n for n in namespaces if n)
            full = f"{prefix}.{cmd.name}" if prefix and cmd.keyword != "example" else cmd.name
            column = cmd.statement_start - (text.rfind("\n", 0, cmd.statement_start) + 1)
            body = bodies[id(cmd)]
            if body.kind == "proved":  # complete, but it mentions an unproved declaration: a note says so
                continue
            if body.kind == "sorry":
                line, col = line_col(text, body.sorry_at)
                skipped.append(SkippedTheorem(cmd.name, full, cmd.line, column, body.why or (
                    f"not attempted: its proof uses `sorry` at {line}:{col}; only a proof that is missing, "
                    "or that ends in `sorry` as its last top-level tactic, is filled in")))
                continue
            used = needs[id(cmd)]
            if used is not None:
                skipped.append(SkippedTheorem(cmd.name, full, cmd.line, column, (
                    f"not attempted: it mentions {used.name} (line {used.line}), which is not proved "
                    f"({why[id(used)]}); a proof built on it could not be trusted")))
                continue
            header = blanked[:cmd.start].rstrip().replace("\r\n", "\n") + "\n"
            statement = (text[cmd.statement_start: cmd.assign].rstrip() + " := by").replace("\r\n", "\n")
            if body.kind == "partial":
                assert body.sorry_span is not None
                span, indent = body.sorry_span, line_col(text, body.sorry_span[0])[1]
            else:
                assert cmd.proof_span is not None
                span, indent = cmd.proof_span, column + step
                m = re.search(r"\n([ \t]*)sorry\s*$", text[span[0]:span[1]])
                if m and len(m.group(1)) > column:  # `sorry` on a line of its own: its indentation is the file's
                    indent = len(m.group(1))  # (unless at or left of the declaration: the check had it right)
            sites.append(TheoremSite(Theorem(cmd.name, header, statement, body.given), full, cmd.line,
                                     (cmd.start, span[1]), span, indent, column, body.kind == "partial", newline,
                                     tuple(line_col(text, at) for at in body.given_at)))
    first_decl = next((c.start for c in commands if c.keyword in _DECLARATIONS), len(text))
    return LeanFile(text, path, text[:first_decl].rstrip() + "\n", tuple(commands), tuple(sites),
                    tuple(skipped), tuple(notes), bom)


def format_proof_block(proof: str, indent: int = 2, newline: str = "\n") -> str:
    """The tactic text as the indented block that follows `:= by` (common indentation removed)."""
    body = textwrap.dedent(proof.replace("\r\n", "\n").strip("\n"))
    pad = " " * indent
    return newline.join(pad + ln if ln.strip() else "" for ln in body.split("\n"))


def full_proof(theorem: Theorem, proof: str) -> str:
    """The whole tactic proof of `theorem`: the tactics the file gives, then `proof`."""
    if not theorem.given_tactics:
        return proof
    return "\n".join([*theorem.given_tactics, textwrap.dedent(proof.strip("\n"))])


def splice_proofs(lean_file: LeanFile, proofs: Mapping[str | TheoremSite, str]) -> str:
    """The file with each named theorem's missing proof replaced by ` by\\n  <tactics>` (or, for a
    proof that ends in `sorry`, that `sorry` replaced by the tactics, at its indentation).

    Every byte outside the replaced spans is left unchanged. Keys are the `TheoremSite`s of
    `lean_file.sites` (what a caller that proved them should pass: a site is exactly the place its
    proof was verified for), or names: a full name, else a theorem name (as in `Theorem.name`).
    A name must pick one site: two `example`s on one line share `example_<line>`, and `t` inside
    `namespace A` shares its short name with a top-level `t`; a key matching no theorem, or several
    where it could mean either, raises `KeyError` (a proof must never land under another statement).
    """
    known = set(lean_file.sites)

    def lookup(key: str | TheoremSite) -> TheoremSite:
        if isinstance(key, TheoremSite):
            if key not in known:
                raise KeyError(f"the site of {key.full_name} (line {key.line}) is not one of "
                               f"{lean_file.path or 'the file'}'s theorems with a missing proof")
            return key
        matches = [s for s in lean_file.sites if s.full_name == key] or \
                  [s for s in lean_file.sites if s.theorem.name == key]
        if not matches:
            raise KeyError(f"no theorem with a missing proof is named {key!r} in {lean_file.path or 'the file'}; "
                           f"known: {sorted({s.full_name for s in lean_file.sites})}")
        if len(matches) > 1:
            raise KeyError(f"the name {key!r} is ambiguous in {lean_file.path or 'the file'}: it names the theorems "
                           f"at lines {', '.join(str(s.line) for s in matches)}; pass their sites instead")
        return matches[0]

    chosen: dict[tuple[int, int], tuple[TheoremSite, str]] = {}
    for key, proof in proofs.items():
        site = lookup(key)
        if site.proof_span in chosen and chosen[site.proof_span][1] != proof:
            raise KeyError(f"two different proofs were given for {site.full_name} (line {site.line})")
        chosen[site.proof_span] = (site, proof)
    pieces, at = [], 0
    for site, proof in sorted(chosen.values(), key=lambda sp: sp[0].proof_span[0]):
        a, b = site.proof_span
        pieces += [lean_file.text[at:a], _proof_text(site, proof)]
        at = b
    return (BOM if lean_file.bom else "") + "".join(pieces) + lean_file.text[at:]


def _proof_text(site: TheoremSite, proof: str) -> str:
    """What replaces `site.proof_span`: the tactic block at the site's indentation."""
    block = format_proof_block(proof, site.indent, site.newline)
    return block[site.indent:] if site.partial else " by" + site.newline + block


def splice_changes(lean_file: LeanFile, spliced: str) -> list[str]:
    """Why `spliced` (the file with proofs written back) is not `lean_file` with only proofs
    filled in: defence in depth behind `splice_proofs`. Read again, it must hold the same
    commands, in order, each with the same statement (up to its `:=`); [] if so."""
    return _command_changes(lean_file.commands, spliced.removeprefix(BOM), "the file with its proofs")


def proof_splice_changes(lean_file: LeanFile, site: TheoremSite, proof: str) -> list[str]:
    """`splice_changes` for one proof, read again over its own command and the next one only (a
    proof can change nothing before its command; what it could do to the rest of the file — open
    a comment or string, end a command, start one — shows in these two, or as text that no longer
    splits). Linear in the file for all proofs together, where re-reading the file would not be."""
    commands = lean_file.commands
    i = bisect.bisect_right([c.start for c in commands], site.proof_span[0]) - 1
    end = commands[i + 1].end if i + 1 < len(commands) else len(lean_file.text)
    a, b = site.proof_span
    window = lean_file.text[commands[i].start:a] + _proof_text(site, proof) + lean_file.text[b:end]
    return _command_changes(commands[i:i + 2], window, f"{site.full_name} with its proof")


def _command_changes(before: Sequence[Command], text: str, what: str) -> list[str]:
    try:
        again = split_commands(text)
    except LeanSyntaxError as e:
        return [f"{what} does not split into commands: {e}"]

    def shape(cmd: Command) -> tuple[str, str | None, str]:
        name = None if cmd.keyword == "example" else cmd.name  # an example is named by its line, which moves
        return cmd.keyword, name, " ".join(cmd.signature_code.split())

    old, new = [shape(c) for c in before], [shape(c) for c in again]
    if len(old) != len(new):
        return [f"{what} holds {len(new)} commands, not {len(old)}"]
    return [f"command {i + 1} ({b[0]} {b[1] or ''}) changed: {a[2][:120]!r} was {b[2][:120]!r}"
            for i, (b, a) in enumerate(zip(old, new)) if a != b]


def statement_changes(statement: str, checked_text: str) -> list[str]:
    """Why `checked_text` (statement + proof, as sent to Lean) does not prove exactly `statement`.

    Defence in depth behind the guard: the text must be one single declaration whose
    statement, up to its top-level `:=`, is the original one (whitespace-normalised).
    """
    try:
        commands = split_commands(checked_text)
    except LeanSyntaxError as e:
        return [f"the checked text does not split into commands: {e}"]
    if len(commands) != 1:
        return [f"the checked text holds {len(commands)} commands ({[c.keyword for c in commands]}), expected one "
                "declaration: the proof must not end the theorem or add commands"]
    cmd = commands[0]
    if cmd.keyword not in _PROVABLE or cmd.assign is None:
        return [f"the checked text is a `{cmd.keyword}` command, not a theorem with `:=`"]
    checked = checked_text[cmd.statement_start: cmd.assign] + ":= by"
    if " ".join(checked.split()) != " ".join(statement.split()):
        return [f"the statement changed: {checked[:200]!r} is not {statement[:200]!r}"]
    return []
