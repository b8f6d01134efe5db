"""Errors the embedded kernel raises; each carries a source position when it has one."""
from __future__ import annotations


class KernelError(Exception):
    """Base of every embedded-kernel error. `pos` is a character offset into the source, or None."""

    def __init__(self, message: str, pos: int | None = None):
        super().__init__(message)
        self.message = message
        self.pos = pos


class Unsupported(KernelError):
    """The text uses a construct outside the embedded fragment (names the construct)."""

    def __init__(self, construct: str, pos: int | None = None):
        super().__init__(f"embedded kernel: unsupported construct: {construct}", pos)
        self.construct = construct


class ParseError(KernelError):
    """The text is not well-formed in the fragment's grammar."""


class ElabError(KernelError):
    """The text parses but does not type-check (Lean would reject it too)."""


class TacticFailed(KernelError):
    """A tactic failed; `message` is Lean-like ("linarith failed", "unknown tactic", ...)."""
