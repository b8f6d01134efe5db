"""Tactics of the embedded kernel: script structure, the engine, and the tactics themselves."""


def load_all() -> None:
    """Import every tactic module so that each registers its tactics with the engine."""
    from . import arith_tactics, casts, logic, simp, structured  # noqa: F401


load_all()
