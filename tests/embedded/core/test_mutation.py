"""Mutation test of the trusted core: weaken one side condition at a time (in a copy of the
module's source) and check that some refusal case in cases.py is then accepted, i.e. the tests
see every check. A mutant no case catches means a side condition nothing tests."""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

import lean_env.embedded.core.rules as rules_module
from lean_env.embedded.core.sequent import CoreError

_spec = importlib.util.spec_from_file_location("core_cases", Path(__file__).with_name("cases.py"))
cases = importlib.util.module_from_spec(_spec)
sys.modules["core_cases"] = cases
_spec.loader.exec_module(cases)

# (what is weakened, the exact source text, its replacement)
MUTANTS = [
    ("hyp: skip the match", "if not defeq(seq.hyp(h), seq.target):", "if False:"),
    ("freshness of new locals", "if not isinstance(uid, int) or uid in seq.uids():", "if False:"),
    ("type check of argument terms", "return check_term(t, var_types(seq))", "return t.ty"),
    ("type check of cut propositions", "    check_prop(p, var_types(seq))", "    pass"),
    ("exists_intro: witness type", "if check_in(seq, w) != q.vty:\n        raise CoreError(\"the witness",
     "if False:\n        raise CoreError(\"the witness"),
    ("clear: dependencies", "    if users:\n", "    if False:\n"),
    ("revert: dependencies", "if any(not e.is_var and h in fvars(e.value) for e in rest.decls):\n        raise CoreError(f\"cannot revert",
     "if False:\n        raise CoreError(f\"cannot revert"),
    ("mp: premise match", "if not defeq(imp.args[0], seq.hyp(h_arg)):", "if False:"),
    ("apply: conclusion match", "if not defeq(imp.args[1], seq.target):", "if False:"),
    ("induction: variable type", "if not (d.is_var and d.value == \"ℕ\"):", "if False:"),
    ("induction: dependent hypotheses", "raise CoreError(\"revert the hypotheses that mention the variable first\")",
     "pass"),
    ("refl: sides equal", "if isinstance(t, Rel) and t.op in (\"=\", \"≤\", \"≥\") and t.lhs == t.rhs:",
     "if isinstance(t, Rel):"),
    ("rewrite: an occurrence exists", "    if n == 0:\n", "    if False:\n"),
    ("subst: occurs check", "and var.uid not in fvars(val):", ":"),
    ("congr: same argument types", "        if x.ty != y.ty:\n", "        if False:\n"),
    ("false_elim: hypothesis is False", "if seq.hyp(h) != FALSE:", "if False:"),
    ("interval_cases: case count", "if len(values) != len(uids) or len(values) > 1000:", "if False:"),
    ("eval: the proposition is true", "        if not decide_prop(seq.target):", "        if False:"),
    ("trans: the composed relation", "if TRANS.get((op1, op2)) != t.op:", "if False:"),
    ("range_unfold: the bound's shape", "    else:\n        raise CoreError(\"the upper bound is neither", "    else:\n        n = hi\n        raise_ = (\"the upper bound is neither"),
    ("rewrite_forall: lhs is f of the bound variables",
     "    if p.lhs.args != tuple(BVar(k - 1 - i, a.ty) for i, a in enumerate(p.lhs.args)):", "    if False:"),
    ("rewrite_forall: an occurrence exists", "    if count == 0:\n        raise CoreError(\"the function does not occur\")",
     "    if False:\n        raise CoreError(\"the function does not occur\")"),
    ("le_antisymm: numeric equation", "if not (isinstance(t, Rel) and t.op == \"=\" and t.lhs.ty in NUMERIC):",
     "if False:"),
]


def _mutant(original: str, replacement: str) -> types.ModuleType:
    """A copy of rules.py with one side condition weakened (its rules live in its own RULES)."""
    src = Path(rules_module.__file__).read_text(encoding="utf-8")
    assert src.count(original) >= 1, f"mutation site not found (update the mutant): {original!r}"
    mod = types.ModuleType("lean_env.embedded.core._rules_mutant")
    mod.__package__ = "lean_env.embedded.core"
    mod.__file__ = rules_module.__file__
    exec(compile(src.replace(original, replacement), rules_module.__file__, "exec"), mod.__dict__)
    return mod


FIELD_MUTANTS = [
    ("field_simp: only hypotheses t ≠ 0 count", 'if p.op == "≠" and _zero(p.rhs):', 'if p.op == "≠":'),
    ("field_simp: denominators must be known nonzero", "                    if self.known(a):",
     "                    if True:"),
]


def _accepted_cases(mod: types.ModuleType) -> list[str]:
    out = []
    for desc, rule, seq, args in cases.REJECT:
        try:
            mod.premises(seq, rule, args)
        except CoreError:
            continue
        out.append(desc)
    return out


def test_unmutated_core_refuses_every_case():
    assert _accepted_cases(_mutant("", "")) == []


@pytest.mark.parametrize("what,original,replacement", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_each_weakened_check_is_caught(what, original, replacement):
    assert _accepted_cases(_mutant(original, replacement)), f"no test notices when we weaken: {what}"


@pytest.mark.parametrize("what,original,replacement", FIELD_MUTANTS, ids=[m[0] for m in FIELD_MUTANTS])
def test_each_weakened_field_simp_check_is_caught(what, original, replacement):
    import lean_env.embedded.core.field as field_module

    src = Path(field_module.__file__).read_text(encoding="utf-8")
    assert src.count(original) >= 1, f"mutation site not found (update the mutant): {original!r}"
    saved = {k: rules_module.RULES[k] for k in ("field_simp", "field_simp_hyp")}
    mod = types.ModuleType("lean_env.embedded.core._field_mutant")
    mod.__package__ = "lean_env.embedded.core"
    try:  # the mutant registers its rules in place of the real ones for the duration of the test
        exec(compile(src.replace(original, replacement), field_module.__file__, "exec"), mod.__dict__)
        assert _accepted_cases(rules_module), f"no test notices when we weaken: {what}"
    finally:
        rules_module.RULES.update(saved)
