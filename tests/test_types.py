"""The result types follow LeanDojo's conventions that the search relies on."""
from lean_env.types import LeanError, TacticState


def test_tactic_states_are_equal_by_pretty_print_only():
    a = TacticState(pp="x : ℕ\n⊢ x = x", id=3, num_goals=1)
    b = TacticState(pp="x : ℕ\n⊢ x = x", id=7, num_goals=1)
    c = TacticState(pp="x : ℤ\n⊢ x = x", id=3, num_goals=1)
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert len({a, b, c}) == 2


def test_lean_error_carries_the_message():
    assert LeanError("linarith failed").error == "linarith failed"
