"""Locals are identified by identity, never by name: random sequences of `obtain`, `have`, `intro`
and `clear` over a small pool of names are compared with a small reference model of Lean's rules
(a new local shadows an older one of the same name, which Lean then shows as `n✝`; `clear`
fails while anything mentions the local), and no such sequence may prove `False`."""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lean_env.embedded.checker import check_command

NAMES = ["n", "m"]
HYPS = ["h", "k"]


@dataclass
class Local:
    name: str
    is_var: bool
    mentions: int | None = None  # index of the variable a hypothesis mentions
    value: int = 0


def _display(model: list[Local]) -> list[str]:
    """Lean's names: a local shadowed by a later one of the same name shows as `x✝`, `x✝¹`, …"""
    out, counts = [], {}
    for i, loc in enumerate(model):
        if any(later.name == loc.name for later in model[i + 1:]):
            k = counts.get(loc.name, 0)
            counts[loc.name] = k + 1
            out.append(loc.name + "✝" + ("" if k == 0 else "¹²³⁴⁵⁶⁷⁸⁹"[k - 1]))
        else:
            out.append(loc.name)
    return out


def _run(ops) -> tuple[list[str], list[Local], bool]:
    """Apply ops to the model; returns (tactic lines, model, whether some clear must fail)."""
    model: list[Local] = []
    lines: list[str] = []
    for kind, name, value in ops:
        if kind == "obtain":
            hname = HYPS[value % 2]
            lines.append(f"obtain ⟨{name}, {hname}⟩ : ∃ x : ℕ, x = {value} := ⟨{value}, rfl⟩")
            model.append(Local(name, True, value=value))
            model.append(Local(hname, False, mentions=len(model) - 1))
        elif kind == "have":
            var = next((i for i in range(len(model) - 1, -1, -1) if model[i].is_var and model[i].name == name), None)
            if var is None:
                continue
            hname = HYPS[value % 2]
            lines.append(f"have {hname} : {name} = {model[var].value} := by assumption")
            model.append(Local(hname, False, mentions=var))
        elif kind == "clear":
            idx = next((i for i in range(len(model) - 1, -1, -1) if model[i].name == name), None)
            if idx is None:
                continue
            if any(loc.mentions == idx for loc in model):
                lines.append(f"clear {name}")
                return lines, model, True
            lines.append(f"clear {name}")
            model.pop(idx)
            model = [Local(loc.name, loc.is_var, None if loc.mentions is None else loc.mentions - (loc.mentions > idx), loc.value)
                     for loc in model]
    return lines, model, False


OPS = st.lists(st.one_of(
    st.tuples(st.sampled_from(["obtain", "obtain", "have"]), st.sampled_from(NAMES), st.integers(0, 3)),
    st.tuples(st.just("clear"), st.sampled_from(NAMES + HYPS), st.just(0))), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_shadowing_matches_lean_and_never_proves_false(ops):
    lines, model, clear_fails = _run(ops)
    body = "\n  ".join(lines)
    # 1. printing and clear: the goal after the ops, as the model says Lean prints it
    res = check_command(f"theorem t : True := by\n  {body}\n  sorry", True, {})
    errors = [m.data for m in res.messages if m.severity == "error"]
    if clear_fails:
        assert any("clear" in e or "depend" in e for e in errors), (lines, errors)
        return
    assert not errors, (lines, errors)
    shown = _display(model)
    expected_hyps = []
    for loc, name in zip(model, shown):
        if loc.is_var:
            expected_hyps.append(f"{name} : ℕ")
        else:
            var = shown[loc.mentions]
            expected_hyps.append(f"{name} : {var} = {model[loc.mentions].value}")
    goal = res.sorries[-1].goal.pretty()
    printed = [ln for ln in goal.splitlines() if not ln.startswith("⊢")]
    # Lean groups consecutive variables of one type (`n m : ℕ`): compare ungrouped
    ungrouped = []
    for line in printed:
        names, ty = line.split(" : ", 1)
        ungrouped.extend(f"{n} : {ty}" for n in names.split())
    assert ungrouped == expected_hyps, (lines, goal)
    # 2. soundness: these hypotheses are consistent, so False must not follow
    for closer in ("omega", "simp_all", "linarith"):
        res = check_command(f"theorem f : False := by\n  {body}\n  {closer}", True, {})
        assert any(m.severity == "error" for m in res.messages), (lines, closer)
