"""Pratt parser for Lean 4 terms in miniF2F notation, with Lean's precedences.

Precedences follow Lean 4 core / Mathlib: ↔ 20, → 25 (right), ∨ 30 (right), ∧ 35 (right),
¬ arg 40, relations 50, + - 65 (left), * / % 70 (left), unary - 75, ^ 75 (right),
√ 100, application / ↑ / |x| max, big operators (∑) bodies at 67.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ParseError, Unsupported
from .lexer import TYPE_SYMBOLS, Token, tokenize
from .syntax import Binder, Syn

MAX_PREC = 1024
RELATIONS = {"=", "≠", "<", ">", "≤", "≥", "∣", "<=", ">=", "!=", "∈", "∉", "≡"}
# infix operator -> (precedence, left binding power for rhs)
INFIX: dict[str, tuple[int, int]] = {
    "↔": (20, 21),
    "→": (25, 25),
    "->": (25, 25),
    "∨": (30, 30),
    "∧": (35, 35),
    "+": (65, 66),
    "-": (65, 66),
    "*": (70, 71),
    "/": (70, 71),
    "%": (70, 71),
    "^": (75, 75),
    "∘": (90, 90),
    "∩": (70, 71),
    "∪": (65, 66),
    "×": (35, 35),
    "•": (73, 74),
}
for _r in RELATIONS:
    INFIX[_r] = (50, 51)
ASCII_REL = {"<=": "≤", ">=": "≥", "!=": "≠", "->": "→"}
# Constructs we recognise by name only to reject them clearly.
UNSUPPORTED_NAMES = {
    "Real.pi": "π (Real.pi)", "π": "π (Real.pi)", "Real.log": "Real.log", "Real.logb": "Real.logb",
    "Real.exp": "Real.exp", "Real.sin": "trig (Real.sin)", "Real.cos": "trig (Real.cos)",
    "Real.tan": "trig (Real.tan)",
    "Finset.card": "Finset.card", "Finset.filter": "Finset.filter", "Int.floor": "Int.floor",
    "Int.ceil": "Int.ceil", "Nat.floor": "Nat.floor", "IsLeast": "IsLeast",
    "IsGreatest": "IsGreatest", "Nat.divisors": "Nat.divisors", "Set": "Set notation",
    "Complex": "Complex", "Nat.choose": "Nat.choose", "Even": "Even/Odd", "Odd": "Even/Odd",
    "Irrational": "Irrational", "Function.Injective": "Function.Injective",
    "Filter.Tendsto": "Filter.Tendsto", "ZMod": "ZMod", "Nat.sqrt": "Nat.sqrt",
    "Nat.properDivisors": "Nat.properDivisors", "Finset": "Finset-typed variable",
    "NNReal": "NNReal", "Fintype.card": "Fintype.card", "List": "List", "Equiv": "Equiv",
    "Polynomial": "Polynomial", "Int.natAbs": "Int.natAbs", "Nat.digits": "Nat.digits",
    "Int.toNat": "Int.toNat", "Real.rpow": "real exponent (rpow)", "Complex.I": "type ℂ / Complex",
    "List.Pairwise": "List.Pairwise",
}


class TermParser:
    """Parses one term from a token list; `pos` advances over what was read."""

    def __init__(self, toks: list[Token], source: str):
        self.toks = toks
        self.i = 0
        self.source = source

    # -- token helpers -------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def at(self, *texts: str) -> bool:
        t = self.tok
        return t.kind in ("sym", "ident") and t.text in texts

    def advance(self) -> Token:
        t = self.tok
        self.i += 1
        return t

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise ParseError(f"expected '{text}', found '{self.tok.text or 'end of input'}'", self.tok.pos)
        return self.advance()

    def ident(self) -> Token:
        if self.tok.kind != "ident":
            raise ParseError(f"expected an identifier, found '{self.tok.text or 'end of input'}'", self.tok.pos)
        return self.advance()

    # -- terms ---------------------------------------------------------------------------
    def term(self, min_prec: int = 0) -> Syn:
        lhs = self.prefix()
        while True:
            t = self.tok
            if t.kind == "sym" and t.text in INFIX:
                op = ASCII_REL.get(t.text, t.text)
                prec, rbp = INFIX[t.text]
                if prec < min_prec:
                    break
                if op in ("∩", "∪", "×", "∘", "•"):
                    raise Unsupported(f"operator {op}", t.pos)
                if op in ("∈", "∉"):
                    raise Unsupported("∈ membership", t.pos)
                if op == "≡":
                    raise Unsupported("≡ [MOD n]", t.pos)
                self.advance()
                rhs = self.term(rbp)
                if prec == 50 and self.tok.kind == "sym" and INFIX.get(self.tok.text, (0,))[0] == 50:
                    raise ParseError("relations do not chain in Lean", self.tok.pos)
                lhs = Syn("binop", lhs.pos, rhs.end, op, (lhs, rhs))
                continue
            if t.kind == "sym" and t.text == "!" and MAX_PREC >= min_prec:
                self.advance()
                lhs = Syn("fact", lhs.pos, t.end, None, (lhs,))
                continue
            if t.kind == "sym" and t.text == "⁻¹":
                if self.peek().text == "'" and self.peek().pos == t.end:
                    raise Unsupported("preimage (⁻¹')", t.pos)
                self.advance()
                lhs = Syn("inv", lhs.pos, t.end, None, (lhs,))
                continue
            if t.kind == "sym" and t.text == "." and self.peek().kind in ("num", "ident") and lhs.kind in ("ident", "paren", "proj") and self.peek().pos == t.end:
                self.advance()
                n = self.advance()
                lhs = Syn("proj", lhs.pos, n.end, n.text, (lhs,))
                continue
            if MAX_PREC >= min_prec and self.starts_argument() and lhs.kind in ("ident", "app", "proj"):
                args = []
                while self.starts_argument():
                    args.append(self.argument())
                if lhs.kind == "app":
                    lhs = Syn("app", lhs.pos, args[-1].end, None, lhs.kids + tuple(args))
                else:
                    lhs = Syn("app", lhs.pos, args[-1].end, None, (lhs, *args))
                continue
            break
        return lhs

    def starts_argument(self) -> bool:
        t = self.tok
        if t.kind in ("ident", "num"):
            return t.text not in ("at", "with", "using", "generalizing", "then", "else", "from", "in")
        return t.kind == "sym" and t.text in ("(", "⟨", "↑", "?", "_", "ℕ", "ℤ", "ℚ", "ℝ", "ℂ", "√", "@", "π", "λ")

    def argument(self) -> Syn:
        # Arguments are parsed at max precedence: atoms, parenthesised terms, ↑x, |x|;
        # the factorial `!` (precedence 10000) and projections `.1`/`.den` still apply.
        arg = self.prefix(argument=True)
        while True:
            if self.at("!"):
                t = self.advance()
                arg = Syn("fact", arg.pos, t.end, None, (arg,))
                continue
            t = self.tok
            if (t.kind == "sym" and t.text == "." and self.peek().kind in ("num", "ident")
                    and arg.kind in ("ident", "paren", "proj") and self.peek().pos == t.end):
                self.advance()
                n = self.advance()
                arg = Syn("proj", arg.pos, n.end, n.text, (arg,))
                continue
            return arg

    def prefix(self, argument: bool = False) -> Syn:
        t = self.tok
        if t.kind == "num":
            self.advance()
            return Syn("num", t.pos, t.end, t.text)
        if t.kind == "ident" and t.text == "by":
            return self.by_block()
        if t.kind == "ident" and t.text == "show" and not argument:
            self.advance()
            ty = self.term()
            if self.at("from"):
                self.advance()
                proof = self.term()
            elif self.at("by"):
                proof = self.by_block()
            else:
                raise ParseError("expected 'from' or 'by' after `show T`", self.tok.pos)
            return Syn("ascribe", t.pos, proof.end, ty, (proof,))
        if t.kind == "ident":
            if t.text == "fun":
                return self.lambda_()
            if t.text in ("if",):
                raise Unsupported("if-then-else", t.pos)
            self.advance()
            if t.text in UNSUPPORTED_NAMES:
                raise Unsupported(UNSUPPORTED_NAMES[t.text], t.pos)
            return Syn("ident", t.pos, t.end, t.text)
        if t.kind != "sym":
            raise ParseError("unexpected end of input", t.pos)
        s = t.text
        if s in TYPE_SYMBOLS:
            self.advance()
            if s == "ℂ":
                raise Unsupported("type ℂ / Complex", t.pos)
            return Syn("type", t.pos, t.end, s)
        if s == "(":
            self.advance()
            inner = self.term()
            if self.at(":"):
                self.advance()
                ty = self.type_expr()
                close = self.expect(")")
                return Syn("ascribe", t.pos, close.end, ty, (inner,))
            if self.at(","):
                raise Unsupported("tuples", self.tok.pos)
            close = self.expect(")")
            return Syn("paren", t.pos, close.end, None, (inner,))
        if s == "⟨":
            self.advance()
            items = []
            if not self.at("⟩"):
                items.append(self.term())
                while self.at(","):
                    self.advance()
                    items.append(self.term())
            close = self.expect("⟩")
            return Syn("anon", t.pos, close.end, None, tuple(items))
        if s == "λ":
            return self.lambda_()
        if s == "↑":
            # `↑` takes a `term:max`; the factorial `!` (precedence 10000) binds inside: `↑3!` = `↑(3!)`
            self.advance()
            arg = self.argument()
            return Syn("coe", t.pos, arg.end, None, (arg,))
        if s == "|":
            self.advance()
            inner = self.term()
            close = self.expect("|")
            return Syn("abs", t.pos, close.end, None, (inner,))
        if s == "√":
            self.advance()
            arg = self.term(100) if not argument else self.prefix(argument=True)
            return Syn("sqrt", t.pos, arg.end, None, (arg,))
        if s == "?" and self.peek().text == "_":
            self.advance()
            u = self.advance()
            return Syn("hole", t.pos, u.end, "?_")
        if s == "_":
            self.advance()
            return Syn("hole", t.pos, t.end, "_")
        if s == "π":
            raise Unsupported("π (Real.pi)", t.pos)
        if s == "·":
            raise Unsupported("· function notation ((· ≠ ·))", t.pos)
        if argument:
            raise ParseError(f"unexpected '{s}'", t.pos)
        if s == "-":
            self.advance()
            arg = self.term(75)
            return Syn("neg", t.pos, arg.end, None, (arg,))
        if s == "¬":
            self.advance()
            arg = self.term(40)
            return Syn("not", t.pos, arg.end, None, (arg,))
        if s in ("∀", "∃"):
            self.advance()
            binders = self.quant_binders()
            self.expect(",")
            body = self.term()
            return Syn("forall" if s == "∀" else "exists", t.pos, body.end, tuple(binders), (body,))
        if s in ("∑", "∏"):
            return self.bigop()
        if s in ("⌊", "⌈"):
            raise Unsupported("Int.floor / Int.ceil (⌊⌋)", t.pos)
        if s == "π":
            raise Unsupported("π (Real.pi)", t.pos)
        if s == "{":
            raise Unsupported("Set notation ({x | ...})", t.pos)
        raise ParseError(f"unexpected '{s}'", t.pos)

    def lambda_(self) -> Syn:
        """`fun x => body`, `fun x ↦ body`, `fun (x : T) => body`, `fun x : T => body` (one
        binder; the body extends as far as possible, as in Lean)."""
        t = self.advance()
        vty = None
        if self.at("("):
            self.advance()
            name = self.binder_name()
            self.expect(":")
            vty = self.type_expr()
            self.expect(")")
        else:
            name = self.binder_name()
            if self.at(":"):
                self.advance()
                vty = self.type_expr()
        if not self.at("=>", "↦"):
            raise Unsupported("lambda (fun) with several binders or a pattern", self.tok.pos)
        self.advance()
        body = self.term()
        return Syn("lambda", t.pos, body.end, (name, vty), (body,))

    def by_block(self) -> Syn:
        """`by tac...` inside a term: runs to the closing bracket or `,` of its context."""
        by = self.advance()
        depth = 0
        start = self.tok.pos
        while self.tok.kind != "eof":
            t = self.tok
            if t.kind == "sym" and t.text in ("(", "[", "⟨", "{"):
                depth += 1
            elif t.kind == "sym" and t.text in (")", "]", "⟩", "}"):
                if depth == 0:
                    break
                depth -= 1
            elif t.kind == "sym" and t.text == "," and depth == 0:
                break
            self.advance()
        end = self.toks[self.i - 1].end if self.i > 0 else start
        return Syn("by", by.pos, end, (start, end))

    def quant_binders(self) -> list[Binder]:
        """`x y`, `x y : T`, `(x : T) (y : U)`, `x > 0`, `n ≥ 5` (binder predicates)."""
        binders: list[Binder] = []
        if self.at("(") or self.at("{"):
            while self.at("(") or self.at("{"):
                close = ")" if self.advance().text == "(" else "}"
                names = [self.binder_name()]
                while self.tok.kind == "ident" or self.at("_"):
                    names.append(self.binder_name())
                if self.at(close):
                    raise Unsupported("binder without a type in brackets (`∀ (y)`)", self.tok.pos)
                self.expect(":")
                ty = self.type_expr()
                self.expect(close)
                binders.append(Binder(tuple(names), ty))
            return binders
        names = [self.binder_name()]
        while self.tok.kind == "ident" or self.at("_"):
            names.append(self.binder_name())
        if self.at(":"):
            self.advance()
            return [Binder(tuple(names), self.type_expr())]
        if self.tok.kind == "sym" and self.tok.text in (">", "<", "≥", "≤", "≠", ">=", "<=", "∈", "∉"):
            op_tok = self.advance()
            op = ASCII_REL.get(op_tok.text, op_tok.text)
            if op in ("∈", "∉"):
                raise Unsupported("∈ membership", self.toks[self.i - 1].pos)
            bound = self.term(51)
            return [Binder(tuple(names), None, (op, bound))]
        return [Binder(tuple(names), None)]

    def binder_name(self) -> str:
        if self.at("_"):
            self.advance()
            return "_"
        return self.ident().text

    def bigop(self) -> Syn:
        t = self.advance()
        var = self.ident().text
        vty = None
        if self.at(":"):
            self.advance()
            vty = self.type_expr()
        if self.tok.kind == "ident" and self.tok.text == "in" or self.at("∈"):
            self.advance()
        else:
            raise Unsupported("∑ without a Finset (∑ x, over a Fintype)", self.tok.pos)
        finset = self.term(51)
        self.expect(",")
        body = self.term(67)
        return Syn("bigop", t.pos, body.end, (t.text, var, vty, finset), (body,))

    def _paren_type_ahead(self) -> bool:
        """`(ℝ → ℝ)` is a type; `(x - y) ^ 2 = z` is a proposition: look at the next token."""
        nxt = self.peek()
        return (nxt.kind == "sym" and nxt.text in TYPE_SYMBOLS) or (
            nxt.kind == "ident" and nxt.text in ("Nat", "Int", "Rat", "Real"))

    def type_expr(self) -> Syn:
        """A type: ℕ ℤ ℚ ℝ, arrows between them, or `Prop`; others are rejected by elaboration."""
        t = self.tok
        if t.kind == "sym" and t.text in TYPE_SYMBOLS:
            self.advance()
            if t.text == "ℂ":
                raise Unsupported("type ℂ / Complex", t.pos)
            base = Syn("type", t.pos, t.end, t.text)
        elif t.kind == "ident" and t.text in ("Nat", "Int", "Rat", "Real", "Prop"):
            self.advance()
            base = Syn("type", t.pos, t.end, {"Nat": "ℕ", "Int": "ℤ", "Rat": "ℚ", "Real": "ℝ", "Prop": "Prop"}[t.text])
        elif t.kind == "sym" and t.text == "(" and self._paren_type_ahead():
            self.advance()
            base = self.type_expr()
            self.expect(")")
        else:
            # A proposition used as a type (hypothesis binder): parse as a term.
            return self.term()
        if self.at("→", "->"):
            self.advance()
            rest = self.type_expr()
            if rest.kind != "type" and rest.kind != "arrow":
                raise Unsupported("dependent or propositional arrow type", rest.pos)
            return Syn("arrow", base.pos, rest.end, None, (base, rest))
        if self.at("×"):
            raise Unsupported("product types (×)", self.tok.pos)
        return base


@dataclass(frozen=True)
class TheoremSyntax:
    """A parsed `theorem name binders : statement := by ...` header."""

    name: str
    binders: tuple[Binder, ...]
    statement: Syn
    proof_start: int  # offset just after `:=` (the proof text starts here)
    by_pos: int  # offset of `by` (or of `:=` when there is no `by`)
    decl_pos: int
    keyword_end: int


def parse_theorem(source: str, start: int = 0) -> TheoremSyntax:
    """Parse a `theorem`/`lemma`/`example` declaration header starting at offset `start`."""
    toks = [t for t in tokenize(source) if t.pos >= start]
    p = TermParser(toks, source)
    kw = p.tok
    if kw.kind != "ident" or kw.text not in ("theorem", "lemma", "example"):
        raise ParseError("expected 'theorem'", kw.pos)
    p.advance()
    name = "_example" if kw.text == "example" else p.ident().text
    binders: list[Binder] = []
    while p.at("(", "{", "["):
        open_t = p.advance()
        if open_t.text == "[":
            raise Unsupported("instance binder [..]", open_t.pos)
        close = ")" if open_t.text == "(" else "}"
        names = [p.binder_name()]
        while p.tok.kind == "ident" or p.at("_"):
            names.append(p.binder_name())
        p.expect(":")
        ty = p.type_expr()
        p.expect(close)
        binders.append(Binder(tuple(names), ty, implicit=open_t.text == "{"))
    p.expect(":")
    stmt = p.term()
    assign = p.expect(":=")
    by_pos = p.tok.pos if p.at("by") else assign.pos
    return TheoremSyntax(name, tuple(binders), stmt, assign.end, by_pos, kw.pos, kw.end)


def parse_term(text: str, offset: int = 0) -> Syn:
    """Parse a whole string as one term (used by tactics: `have h : T`, `linarith [t]`, ...)."""
    toks = tokenize(text)
    if offset:
        toks = [Token(t.kind, t.text, t.pos + offset, t.end + offset) for t in toks]
    p = TermParser(toks, text)
    term = p.term()
    if p.tok.kind != "eof":
        raise ParseError(f"unexpected '{p.tok.text}' after term", p.tok.pos)
    return term
