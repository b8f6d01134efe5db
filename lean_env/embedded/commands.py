"""Lean 4 commands of one REPL command text, read the way Lean's command parser reads them.

Lean reads a file as a sequence of commands. Every command begins with a reserved keyword
(`theorem`, `open`, `end`, `#eval`, `@[`, a doc comment `/--`, ...), and such a keyword is never
part of a term or a tactic block: wherever it stands, at any column, it ends the declaration
before it (`sepBy1IndentSemicolon` allows a trailing separator, so the tactic block just stops;
Lean's `parseCommand` then resumes there). Two of them are also tactics/terms: `open A in tac`
and `set_option o v in tac`; inside a tactic block Lean reads them as such (an `open Nat` with
no `in` is a parse error there). A tactic block ends at the first line whose first token is
left of the block's column (the column of its first tactic); a declaration ends at a line
that starts at (or left of) the command's own column. Text there that is not a command is
Lean's "unexpected token; expected command".

`CommandReader` walks the commands of one text and keeps the scope state (namespaces,
sections, `open`s, `variable`s) that Lean's command elaborator keeps; declarations
(`theorem`/`lemma`/`example`) are handed to a callback with their exact extent. Whatever is
not understood is an error message at its position naming the construct — never skipped.

Outside the fragment (refused by name): `def`/`abbrev`/`instance`/`axiom`/... and every other
command, `open` forms other than `open A B`, options other than a few harmless ones,
attributes other than a few harmless ones, `variable`s that are instance-implicit, strict
implicit, without a type or with a default value, a variable name that the statement also
binds, `open`/`set_option` inside a proof, and lines of a declaration at or left of the
command's column (Lean allows tactic blocks at column 0; we refuse them).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..lean_text import lex_prefix
from .errors import KernelError
from .statement import SectionVariable, parse_variable_binder

# Tokens that begin a command (reserved keywords of Lean 4 core, Batteries and Mathlib);
# `#word`, `@[`, `/--` and `/-!` are command starts too.
COMMAND_KEYWORDS = frozenset("""
    import open set_option namespace section end universe universes variable variables omit include
    theorem lemma example def abbrev instance axiom axioms opaque structure class inductive coinductive
    mutual macro macro_rules syntax notation infix infixl infixr prefix postfix elab elab_rules
    declare_syntax_cat attribute export initialize builtin_initialize deriving noncomputable private
    protected partial unsafe nonrec add_decl_doc run_cmd run_elab run_meta alias irreducible_def
    assert_not_exists suppress_compilation unseal seal register_simp_attr register_option
    register_label_attr initialize_simps_projections library_note scoped local
    """.split())
# Also tactics (`open A in tac`, `set_option o v in tac`) and terms.
TACTIC_COMMANDS = frozenset({"open", "set_option"})
DECLARATIONS = frozenset({"theorem", "lemma", "example"})
MODIFIERS = frozenset({"private", "protected", "noncomputable", "unsafe", "partial", "nonrec"})
# Tokens of a declaration we do not check (they belong to recursive definitions).
DECL_TAILS = frozenset({"where", "termination_by", "decreasing_by", "deriving"})
OPENERS = {"(": ")", "[": "]", "{": "}", "⟨": "⟩", "⦃": "⦄", "⟦": "⟧", "@[": "]"}
CLOSERS = frozenset(")]}⟩⦄⟧")
# Attributes that change nothing our checker reads (no later elaboration or tactic sees them).
HARMLESS_ATTRIBUTES = frozenset({"nolint", "deprecated"})
# Options: name -> value kind. They change only resource limits and printing.
NAT_OPTIONS = frozenset({"maxHeartbeats", "maxRecDepth", "synthInstance.maxHeartbeats", "synthInstance.maxSize"})
BOOL_OPTION_PREFIXES = ("linter.", "trace.")
BOOL_OPTIONS = frozenset({"pp.all", "pp.proofs", "pp.funBinderTypes", "pp.numericTypes", "pp.explicit",
                          "pp.notation", "pp.coercions", "pp.fieldNotation"})
# Namespaces `open` may name (plus those the session declared with `namespace`).
KNOWN_NAMESPACES = frozenset("""
    BigOperators Real Nat Topology Rat Int Finset Classical Function Polynomial Complex Filter Set NNReal
    ENNReal ComplexConjugate Matrix List Multiset Fin ZMod Pointwise Order
    """.split())
ALLOWED_IMPORTS = frozenset({"Mathlib", "Aesop"})


@dataclass(frozen=True)
class Tok:
    kind: str  # ident | num | str | char | sym | cmd (a command-start token) | error
    text: str
    pos: int
    end: int
    line: int  # 0-based
    col: int
    first: bool  # the first token of its line
    reason: str = ""  # for an `error` token: why the scanner stopped there


def tokenize(src: str) -> list[Tok]:
    """Tokens of `src` (comments skipped; doc comments `/--`, `/-!` are command-start tokens),
    read by `lean_text`'s scanner, the one every reader of Lean text shares (so a `--` inside
    `«…»`, a string or a char literal is never a comment here either). Where the scanner stops
    (an unclosed comment, string or `«`, a tab, ...) the last token is an `error` token whose
    `reason` says why; nothing after it is read."""
    lexemes, err = lex_prefix(src)
    toks: list[Tok] = []
    prev_end, line, line_start = 0, 0, 0

    def emit(kind: str, pos: int, end: int, text: str | None = None, reason: str = "") -> None:
        nonlocal prev_end, line, line_start
        nl = src.count("\n", prev_end, pos)
        if nl:
            line, line_start = line + nl, src.rfind("\n", prev_end, pos) + 1
        toks.append(Tok(kind, src[pos:end] if text is None else text, pos, end, line, pos - line_start,
                        bool(nl) or not toks, reason))
        nl = src.count("\n", pos, end)  # a multi-line token (comment, string, `«…»`)
        if nl:
            line, line_start = line + nl, src.rfind("\n", pos, end) + 1
        prev_end = end

    k, m = 0, len(lexemes)
    while k < m:
        lx = lexemes[k]
        s, e, kind = lx.start, lx.end, lx.kind
        k += 1
        nxt = lexemes[k] if k < m and lexemes[k].start == e else None  # glued to this one
        nxt_text = src[nxt.start:nxt.end] if nxt is not None else ""
        if kind in ("line", "block"):
            continue
        if kind in ("doc", "moddoc"):
            emit("cmd", s, e, src[s:s + 3])
        elif kind == "ident":
            emit("cmd" if src[s:e] in COMMAND_KEYWORDS else "ident", s, e)
        elif kind in ("num", "field"):
            emit("num", s, e)
        elif kind in ("str", "char"):
            emit(kind, s, e)
        elif kind == "name":
            emit("sym", s, e)
        elif src[s:e] == "#" and nxt is not None and nxt.kind == "ident" and nxt.end - nxt.start > 1:
            # `#eval`, `#check`, ... are command tokens; `#s` is Mathlib's `Finset.card` notation
            emit("cmd", s, nxt.end)
            k += 1
        elif (src[s:e], nxt_text) in (("@", "["), (":", "=")) and nxt.kind == "sym":
            emit("cmd" if nxt_text == "[" else "sym", s, nxt.end)
            k += 1
        else:
            emit("sym", s, e)
    if err is not None:
        p = err.offset
        # a tab or a stray whitespace character is one character; anything else runs to the end
        emit("error", p, p + 1 if src[p].isspace() else len(src), reason=err.reason)
    return toks


# -- scope state ---------------------------------------------------------------------------

# A section variable: parsed by the kernel's own lexer and parser when the `variable` command
# is read, and kept as syntax (statement.elaborate_theorem adds the ones Lean includes).
Variable = SectionVariable


@dataclass(frozen=True)
class Scope:
    kind: str  # "root" | "namespace" | "section"
    header: str  # one name component; "" for an anonymous section / the root
    opens: tuple[str, ...] = ()
    variables: tuple[Variable, ...] = ()


@dataclass(frozen=True)
class ScopeState:
    """Lean's `Command.State.scopes`, what the REPL keeps from one command to the next."""

    scopes: tuple[Scope, ...] = (Scope("root", ""),)
    namespaces: frozenset[str] = frozenset()  # declared with `namespace` (may be `open`ed)
    protected: frozenset[str] = frozenset()  # full names of `protected` declarations

    @property
    def namespace(self) -> str:
        return ".".join(s.header for s in self.scopes if s.kind == "namespace")

    @property
    def opens(self) -> tuple[str, ...]:
        return tuple(o for s in self.scopes for o in s.opens)

    @property
    def variables(self) -> tuple[Variable, ...]:
        return tuple(v for s in self.scopes for v in s.variables)

    def with_top(self, **changes) -> ScopeState:
        return replace(self, scopes=self.scopes[:-1] + (replace(self.scopes[-1], **changes),))


@dataclass(frozen=True)
class DeclSite:
    """A `theorem`/`lemma`/`example` to check: `src[kw_pos:end]` is what Lean reads as it."""

    keyword: str
    cmd_start: int  # first token of the whole command (modifiers, `set_option … in`)
    kw_pos: int
    end: int
    name: str | None  # as written (None for `example`)
    name_end: int  # offset just after the name (or the keyword for `example`)
    assign: int | None  # offset of the top-level `:=`
    statement_toks: tuple[Tok, ...]  # tokens between the name and `:=`
    protected: bool
    private: bool


@dataclass
class Problem:
    start: int
    end: int
    text: str


@dataclass
class CommandReader:
    """Reads the commands of `src` one by one (see the module doc)."""

    src: str
    allow_imports: bool
    state: ScopeState
    on_decl: Callable[[DeclSite, ScopeState], None]
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.toks = tokenize(self.src)
        self.i = 0
        self.seen_command = False

    # -- helpers --------------------------------------------------------------------------
    def tok(self, k: int = 0) -> Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def error(self, start: int, end: int, text: str) -> None:
        self.problems.append(Problem(start, max(end, start), text))

    def unsupported(self, t: Tok, what: str | None = None) -> None:
        self.error(t.pos, t.end, f"embedded kernel: unsupported command '{what or t.text}'")

    def skip_to_command(self) -> None:
        """Lean's recovery: after an error, the next command starts at the next command token."""
        self.i += 1
        while self.i < len(self.toks) and self.toks[self.i].kind != "cmd":
            self.i += 1

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> ScopeState:
        while self.i < len(self.toks):
            t = self.toks[self.i]
            if t.kind == "error":
                if t.text.isspace():
                    self.error(t.pos, t.end, "tabs are not allowed; please configure your editor to expand them"
                               if t.text == "\t" else f"unexpected character {t.text!r}")
                    self.skip_to_command()
                    continue
                self.error(t.pos, t.end, t.reason or "unterminated comment or string literal")
                break
            if t.kind != "cmd":
                kind = {"ident": "identifier", "num": "numeral", "str": "string literal"}.get(t.kind, f"token '{t.text}'")
                self.error(t.pos, t.end, f"unexpected {kind}; expected command")
                self.skip_to_command()
                continue
            is_import = t.text == "import"
            self.state = self.command(self.state, t.col, nested=False)
            if not is_import:
                self.seen_command = True
        return self.state

    def command(self, state: ScopeState, c0: int, nested: bool) -> ScopeState:
        """Read one command at `self.i`; returns the scope state after it."""
        t = self.toks[self.i]
        start = t
        word = t.text
        if word == "import":
            return self.import_(t)
        if word == "set_option":
            return self.set_option(state, c0, nested)
        if word == "open":
            return self.open_(state, c0, nested)
        if word == "noncomputable" and (nxt := self.tok(1)) is not None and nxt.text == "section" and not nested:
            self.i += 1
            return self.section(state)
        if word in ("/--", "@[") or word in MODIFIERS or word in DECLARATIONS:
            return self.declaration(state, c0, start)
        if nested:
            self.error(t.pos, t.end, f"embedded kernel: `… in` before '{word}' is not supported")
            self.skip_to_command()
            return state
        if word == "/-!":
            self.i += 1
            return state
        if word == "namespace":
            return self.namespace(state)
        if word == "section":
            return self.section(state)
        if word == "end":
            return self.end(state)
        if word in ("universe", "universes"):
            self.i += 1
            while (u := self.tok()) is not None and u.kind == "ident" and u.line == t.line:
                self.i += 1
            if self.i == self.toks.index(t) + 1:
                self.error(t.pos, t.end, "expected identifier")
            return self.rest_is_junk(state)
        if word == "variable":
            return self.variable(state)
        self.unsupported(t)
        self.skip_to_command()
        return state

    def rest_is_junk(self, state: ScopeState) -> ScopeState:
        """After a command's arguments: anything but a command token is an error."""
        t = self.tok()
        if t is not None and t.kind != "cmd":
            self.error(t.pos, t.end, f"unexpected token '{t.text}'; expected command")
            self.skip_to_command()
        return state

    # -- simple commands ---------------------------------------------------------------------
    def import_(self, t: Tok) -> ScopeState:
        self.i += 1
        mod = self.tok()
        if mod is None or mod.kind != "ident":
            self.error(t.pos, t.end, "expected module name after 'import'")
            return self.rest_is_junk(self.state)
        self.i += 1
        if not self.allow_imports or self.seen_command:
            self.error(t.pos, mod.end, "invalid 'import' command, it must be used in the beginning of the file")
        elif mod.text.split(".")[0] not in ALLOWED_IMPORTS:
            root = mod.text.split(".")[0]
            self.error(t.pos, mod.end, f"unknown module prefix '{root}'\n\nNo directory '{root}' or file "
                                       f"'{mod.text}.olean' in the search path entries")
        return self.rest_is_junk(self.state)

    def set_option(self, state: ScopeState, c0: int, nested: bool) -> ScopeState:
        kw = self.toks[self.i]
        self.i += 1
        name, value = self.tok(), self.tok(1)
        if name is None or name.kind != "ident" or value is None:
            self.error(kw.pos, kw.end, "expected option name and value after 'set_option'")
            if self.tok() is not None and self.tok().kind != "cmd":
                self.skip_to_command()
            return state
        self.i += 2
        ok = False
        if name.text in NAT_OPTIONS:
            ok = value.kind == "num" and value.text.isdigit()
        elif name.text in BOOL_OPTIONS or name.text.startswith(BOOL_OPTION_PREFIXES):
            ok = value.kind == "ident" and value.text in ("true", "false")
        else:
            self.error(name.pos, name.end, f"embedded kernel: unsupported option '{name.text}' "
                                           "(only resource limits, linters, traces and printing options)")
            ok = True  # reported already
        if not ok:
            self.error(value.pos, value.end, f"type mismatch at set_option: '{value.text}' is not a valid value "
                                             f"for '{name.text}'")
        return self.maybe_in(state, state, c0, kw)

    def open_(self, state: ScopeState, c0: int, nested: bool) -> ScopeState:
        kw = self.toks[self.i]
        self.i += 1
        names: list[str] = []
        while (t := self.tok()) is not None and t.kind == "ident" and t.text != "in":
            if t.text in ("hiding", "renaming"):
                self.error(t.pos, t.end, f"embedded kernel: `open … {t.text}` is not supported")
            elif t.text not in KNOWN_NAMESPACES and t.text not in state.namespaces:
                self.error(t.pos, t.end, f"embedded kernel: unknown namespace '{t.text}' "
                                         "(not one the embedded kernel knows)")
            names.append(t.text)
            self.i += 1
        t = self.tok()
        if t is not None and t.kind == "sym" and t.text == "(":
            self.error(t.pos, t.end, "embedded kernel: `open A (x y)` is not supported")
        if not names:
            self.error(kw.pos, kw.end, "expected identifier after 'open'")
        if t is not None and t.kind == "cmd" and t.text == "scoped":
            self.error(t.pos, t.end, "embedded kernel: `open scoped` is not supported")
        opened = state.with_top(opens=state.scopes[-1].opens + tuple(names))
        return self.maybe_in(state, opened, c0, kw)

    def maybe_in(self, before: ScopeState, after: ScopeState, c0: int, kw: Tok) -> ScopeState:
        """`… in <command>`: the change holds for that command only."""
        t = self.tok()
        if t is not None and t.kind == "ident" and t.text == "in":
            self.i += 1
            inner = self.tok()
            if inner is None or inner.kind != "cmd":
                self.error(t.pos, t.end, "expected command after 'in'")
                if inner is not None:
                    self.skip_to_command()
                return before
            # `cmd in cmd'` is `section cmd cmd' end`: scope changes of cmd' vanish, but the
            # declarations it adds stay (protected names are recorded in the state).
            inner_state = self.command(replace(after, scopes=after.scopes + (Scope("section", ""),)), c0, nested=True)
            return replace(before, protected=inner_state.protected, namespaces=inner_state.namespaces)
        return self.rest_is_junk(after)

    def namespace(self, state: ScopeState) -> ScopeState:
        kw = self.toks[self.i]
        self.i += 1
        name = self.tok()
        if name is None or name.kind != "ident":
            self.error(kw.pos, kw.end, "expected identifier after 'namespace'")
            return self.rest_is_junk(state)
        self.i += 1
        parts = name.text.removeprefix("_root_.").split(".")
        scopes = state.scopes
        full = state.namespace
        new_ns = set(state.namespaces)
        for p in parts:
            scopes = scopes + (Scope("namespace", p),)
            full = f"{full}.{p}" if full else p
            new_ns.add(full)
            new_ns.add(p)
        return self.rest_is_junk(replace(state, scopes=scopes, namespaces=frozenset(new_ns)))

    def section(self, state: ScopeState) -> ScopeState:
        kw = self.toks[self.i]
        self.i += 1
        name = self.tok()
        parts = [""]
        if name is not None and name.kind == "ident" and name.line == kw.line:
            self.i += 1
            parts = name.text.split(".")
        scopes = state.scopes + tuple(Scope("section", p) for p in parts)
        return self.rest_is_junk(replace(state, scopes=scopes))

    def end(self, state: ScopeState) -> ScopeState:
        kw = self.toks[self.i]
        self.i += 1
        name = self.tok()
        parts: list[str] = []
        if name is not None and name.kind == "ident" and name.line == kw.line:
            self.i += 1
            parts = name.text.split(".")
        size = max(1, len(parts))
        scopes = state.scopes
        if size >= len(scopes):
            self.error(kw.pos, (name.end if parts else kw.end), "invalid 'end', insufficient scopes")
            return self.rest_is_junk(replace(state, scopes=scopes[:1]))
        closing = scopes[len(scopes) - size:]
        if not parts:
            if closing[-1].header:
                self.error(kw.pos, kw.end, f"invalid 'end', name is missing (expected {closing[-1].header})")
        elif [s.header for s in closing] != parts:
            expected = ".".join(s.header for s in closing if s.header) or "nothing"
            self.error(kw.pos, name.end, f"invalid 'end', name mismatch (expected {expected})")
        return self.rest_is_junk(replace(state, scopes=scopes[: len(scopes) - size]))

    def variable(self, state: ScopeState) -> ScopeState:
        kw = self.toks[self.i]
        self.i += 1
        added: list[Variable] = []
        known = {v.name for v in state.variables}
        bad = False
        while (t := self.tok()) is not None and t.kind == "sym" and t.text in ("(", "{", "[", "⦃"):
            close = OPENERS[t.text]
            j, depth = self.i + 1, 1
            while j < len(self.toks) and self.toks[j].kind != "cmd":
                s = self.toks[j]
                if s.text in OPENERS and s.kind in ("sym", "cmd"):
                    depth += 1
                elif s.kind == "sym" and s.text in CLOSERS:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= len(self.toks) or self.toks[j].text != close:
                self.error(t.pos, t.end, f"unclosed '{t.text}' in 'variable'")
                self.i = j
                return state
            inner = self.toks[self.i + 1: j]
            self.i = j + 1
            if t.text in ("[", "⦃"):
                self.error(t.pos, self.toks[j].end, "embedded kernel: instance-implicit and strict-implicit "
                                                    "variables are outside the fragment")
                bad = True
                continue
            colon = next((k for k, s in enumerate(inner) if s.kind == "sym" and s.text == ":"), None)
            names = inner[:colon] if colon is not None else inner
            if colon is None or not names or any(s.kind != "ident" and s.text != "_" for s in names) \
                    or any(s.kind == "sym" and s.text == ":=" for s in inner):
                self.error(t.pos, self.toks[j].end, "embedded kernel: a variable binder must read `(x y : T)` "
                                                    "(binder updates, default values are outside the fragment)")
                bad = True
                continue
            type_toks = inner[colon + 1:]
            if not type_toks:
                self.error(t.pos, self.toks[j].end, "expected a type")
                bad = True
                continue
            # the binder as the statement parser reads it: the same lexer (comments, «…» names)
            # and parser; it must span exactly this bracket, or it is refused
            try:
                parsed = parse_variable_binder(self.src, t.pos, self.toks[j].end)
            except KernelError as e:
                p = e.pos if e.pos is not None else t.pos
                self.error(p, p + 1,
                           f"embedded kernel: variable binder outside the fragment: {e.message}")
                bad = True
                continue
            if len(parsed) != len(names):  # the two readers disagree: refuse
                self.error(t.pos, self.toks[j].end, "embedded kernel: a variable binder must read `(x y : T)`")
                bad = True
                continue
            for s, v in zip(names, parsed):
                if v.name == "_" or v.name in known:
                    self.error(s.pos, s.end, f"embedded kernel: variable '{v.name}' declared again "
                                             "(shadowing variables is outside the fragment)")
                    bad = True
                    continue
                known.add(v.name)
                added.append(v)
        if not added and not bad:
            self.error(kw.pos, kw.end, "expected binders after 'variable'")
        state = state.with_top(variables=state.scopes[-1].variables + tuple(added))
        return self.rest_is_junk(state)

    # -- declarations ------------------------------------------------------------------------
    def declaration(self, state: ScopeState, c0: int, start: Tok) -> ScopeState:
        protected = private = False
        while True:
            t = self.tok()
            if t is None:
                self.error(start.pos, start.end, "unexpected end of input; expected a declaration")
                return state
            if t.text == "/--":
                self.i += 1
            elif t.text == "@[":
                if not self.attributes(t):
                    return state
            elif t.kind == "cmd" and t.text in MODIFIERS:
                if t.text in ("unsafe", "partial", "nonrec"):
                    self.error(t.pos, t.end, f"embedded kernel: unsupported modifier '{t.text}'")
                protected |= t.text == "protected"
                private |= t.text == "private"
                self.i += 1
            else:
                break
        kw = self.tok()
        if kw.kind != "cmd" or kw.text not in DECLARATIONS:
            what = kw.text if kw.kind == "cmd" else None
            if what is None:
                self.error(kw.pos, kw.end, f"unexpected token '{kw.text}'; expected a declaration")
            else:
                self.unsupported(kw)
            self.skip_to_command()
            return state
        self.i += 1
        name_tok = None
        if kw.text != "example":
            name_tok = self.tok()
            if name_tok is None or name_tok.kind != "ident":
                at = name_tok or kw
                self.error(at.pos, at.end, f"expected identifier after '{kw.text}'")
                name_tok = None
            else:
                self.i += 1
        name_end = name_tok.end if name_tok else kw.end
        body_first = self.i
        depth = 0
        assign: int | None = None
        stmt_end_index: int | None = None
        block_col: int | None = None  # column of the first tactic of the top-level `by`
        want_block_col = False
        by_seen = False
        while self.i < len(self.toks):
            t = self.toks[self.i]
            if t.kind == "cmd":
                if depth:
                    self.error(t.pos, t.end, f"unexpected '{t.text}': a bracket of '{kw.text}' is still open")
                if by_seen and t.text in TACTIC_COMMANDS and (block_col is None or t.col >= block_col):
                    self.error(t.pos, t.end, f"embedded kernel: '{t.text}' inside a proof (Lean reads "
                                             f"`{t.text} … in tac` as a tactic) is not supported")
                break
            if t.kind == "error":
                break
            if t.first and depth == 0 and t.line != kw.line:
                if t.col <= c0:
                    break  # Lean: the declaration ends here (a tactic block at column 0 is refused)
                if block_col is not None and t.col < block_col:
                    break  # left of the tactic block: the block and the declaration end here
            if want_block_col:
                block_col, want_block_col = t.col, False
            if t.kind in ("sym", "cmd") and t.text in OPENERS:
                depth += 1
            elif t.kind == "sym" and t.text in CLOSERS:
                if depth == 0:
                    break
                depth -= 1
            elif t.kind == "sym" and t.text == ":=" and depth == 0 and assign is None:
                assign = t.pos
                stmt_end_index = self.i
            elif t.kind == "ident" and t.text == "by" and depth == 0 and assign is not None and not by_seen:
                by_seen = want_block_col = True
            elif t.kind == "ident" and t.text in DECL_TAILS and depth == 0:
                self.error(t.pos, t.end, f"embedded kernel: '{t.text}' is outside the fragment")
            elif t.kind in ("str", "char"):
                self.error(t.pos, t.end, "embedded kernel: string and character literals are outside the fragment")
            self.i += 1
        end = self.toks[self.i].pos if self.i < len(self.toks) else len(self.src)
        if self.i < len(self.toks) and self.toks[self.i].kind != "cmd":
            # what follows is not a command: the declaration's text ends at the previous token
            end = self.toks[self.i - 1].end if self.i > body_first else name_end
        stmt = tuple(self.toks[body_first: stmt_end_index if stmt_end_index is not None else self.i])
        site = DeclSite(kw.text, start.pos, kw.pos, end, name_tok.text if name_tok else None, name_end,
                        assign, stmt, protected, private)
        if kw.text == "example" or name_tok is not None:
            self.on_decl(site, state)
        if protected and name_tok is not None:
            full = qualify(state.namespace, name_tok.text)
            state = replace(state, protected=state.protected | {full})
        return state

    def attributes(self, at: Tok) -> bool:
        """`@[a, b args]`: only harmless attributes pass."""
        self.i += 1
        j, depth = self.i, 1
        while j < len(self.toks) and self.toks[j].kind != "cmd":
            s = self.toks[j]
            if s.kind == "sym" and s.text in ("(", "[", "{"):
                depth += 1
            elif s.kind == "sym" and s.text in (")", "]", "}"):
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j >= len(self.toks) or self.toks[j].text != "]":
            self.error(at.pos, at.end, "unclosed '@['")
            self.i = j
            if j < len(self.toks) and self.toks[j].kind != "cmd":
                self.skip_to_command()
            return False
        inner = self.toks[self.i: j]
        self.i = j + 1
        groups: list[list[Tok]] = [[]]
        for s in inner:
            if s.kind == "sym" and s.text == ",":
                groups.append([])
            else:
                groups[-1].append(s)
        for g in groups:
            if not g:
                self.error(at.pos, self.toks[j].end, "expected attribute")
                continue
            head = g[0]
            if head.text not in HARMLESS_ATTRIBUTES:
                self.error(head.pos, head.end, f"embedded kernel: unsupported attribute '{head.text}' "
                                               "(it could change how later commands elaborate)")
        return True


def qualify(namespace: str, name: str) -> str:
    """The full name of a declaration `name` made inside `namespace`."""
    if name.startswith("_root_."):
        return name[len("_root_."):]
    return f"{namespace}.{name}" if namespace else name
