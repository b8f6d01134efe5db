"""Lean's arithmetic semantics in the evaluator and normal forms, and the lemma library's truth."""
from fractions import Fraction

from lean_env.embedded.arith.evaluate import NotEvaluable, evaluate, holds
from lean_env.embedded.arith.poly import Normalizer
from lean_env.embedded.elaborate import Context, Elaborator
from lean_env.embedded.lemmas import LEMMA_TEXT, lemma_instances
from lean_env.embedded.parser import parse_term
from lean_env.embedded.terms import Conn, Quant


def val(text: str, ty: str, **env) -> Fraction:
    ctx = Context({k: ty for k in env})
    return evaluate(Elaborator(ctx).elab(parse_term(text), ty), {k: Fraction(v) for k, v in env.items()})


def test_nat_subtraction_truncates_and_division_floors():
    assert val("3 - 5", "ℕ") == 0
    assert val("7 / 2", "ℕ") == 3
    assert val("x / 0", "ℕ", x=7) == 0 and val("x % 0", "ℕ", x=7) == 7


def test_int_division_and_emod_follow_lean():
    assert val("-7 / 2", "ℤ") == -4 and val("-7 % 2", "ℤ") == 1
    assert val("7 / -2", "ℤ") == -3 and val("7 % -2", "ℤ") == 1
    assert val("-7 % -2", "ℤ") == 1


def test_real_division_by_zero_and_sqrt_of_negative():
    assert val("x / 0", "ℝ", x=5) == 0
    assert val("Real.sqrt (-4)", "ℝ") == 0 and val("Real.sqrt 9", "ℝ") == 3


def test_ring_normal_form_keeps_nat_subtraction_opaque():
    ctx = Context({"a": "ℕ", "b": "ℕ"})
    e = Elaborator(ctx)
    lhs = e.elab(parse_term("a - b + b"), "ℕ")
    rhs = e.elab(parse_term("a"), "ℕ")
    assert Normalizer("ℕ").norm(lhs) != Normalizer("ℕ").norm(rhs)
    ctx = Context({"a": "ℤ", "b": "ℤ"})
    e = Elaborator(ctx)
    assert Normalizer("ℤ").norm(e.elab(parse_term("a - b + b"), "ℤ")) == Normalizer("ℤ").norm(e.elab(parse_term("a"), "ℤ"))


POINTS = [Fraction(v) for v in (-3, -2, -1, 0, 1, 2, 3)] + [Fraction(1, 2), Fraction(-5, 3)]


def _strip(prop, env, domain):
    """Instantiate leading ∀ / hypotheses; returns the conclusion or None if a hypothesis fails."""
    while True:
        if isinstance(prop, Quant):
            return None
        if isinstance(prop, Conn) and prop.op == "→":
            if not holds(prop.args[0], env):
                return None
            prop = prop.args[1]
            continue
        return prop


def test_every_library_lemma_holds_on_a_grid():
    """Each lemma instance holds at every grid point satisfying its hypotheses (exact evaluation)."""
    import itertools
    checked = 0
    for name, _ in sorted(LEMMA_TEXT.items()):
        for lem in lemma_instances(name):
            grid = {"ℕ": [Fraction(v) for v in (0, 1, 2, 3, 7)],
                    "ℤ": [Fraction(v) for v in (-3, -1, 0, 1, 2)],
                    "ℚ": [Fraction(v) for v in (-2, 0, 1)] + [Fraction(1, 2), Fraction(-5, 3)],
                    "ℝ": [Fraction(v) for v in (-2, 0, 1, 4)] + [Fraction(1, 4)]}
            vars_ = [b for b in lem.binders if b.kind != "hyp"]
            for values in itertools.product(*[grid[b.value] for b in vars_]):
                env = {b.name: v for b, v in zip(vars_, values)}
                try:
                    if not all(holds(b.value, env) for b in lem.binders if b.kind == "hyp"):
                        continue
                    assert holds(lem.conclusion, env), f"{name} ({lem.ty}) fails at {env}"
                    checked += 1
                except NotEvaluable:
                    continue
    assert checked > 2000
