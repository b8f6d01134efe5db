"""A deterministic fake ProofEnv and scripted policies for the search tests.

The fake world is a table: (state pp, tactic) -> next state pp, DONE, or a scripted failure.
`verify` replays the proof text through the same table from the root, so a proof the search
reports must really be a path in the world.
"""
from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from lean_env.theorem import Theorem
from lean_env.types import LeanError, ProofFinished, ProofGivenUp, TacticState, TacticTimeout, Verdict
from search.candidates import Candidate, PolicyRequest

DONE = "<done>"
HANG = "<hang>"          # sleeps (briefly) and returns TacticTimeout
GIVE_UP = "<give up>"    # ProofGivenUp
THEOREM = Theorem(name="fake_thm", header="import Mathlib\n", statement="theorem fake_thm : True := by")


class FakeClock:
    """Time that moves only when the fake session says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeWorld:
    root: str
    moves: dict[tuple[str, str], str] = field(default_factory=dict)
    # states not in `moves` for a tactic: a function may generate them (infinite worlds)
    generator: Callable[[str, str], str | None] | None = None
    lie_about: frozenset[str] = frozenset()  # tactics the session claims finish, verify disagrees
    seconds_per_call: float = 0.0            # advances the FakeClock
    clock: FakeClock | None = None

    def step(self, pp: str, tactic: str) -> str | None:
        if (pp, tactic) in self.moves:
            return self.moves[(pp, tactic)]
        if self.generator is not None:
            return self.generator(pp, tactic)
        return None


class FakeSession:
    def __init__(self, world: FakeWorld, env: "FakeEnv"):
        self.world = world
        self.env = env
        self.theorem = THEOREM
        self.ids = itertools.count(1)
        self.closed = False

    def run_tac(self, state: TacticState, tactic: str, timeout: float | None = None):
        assert not self.closed, "run_tac on a closed session"
        with self.env.lock:
            self.env.calls.append((state.pp, tactic))
            self.env.timeouts.append(timeout)
            self.env.active += 1
            self.env.max_active = max(self.env.max_active, self.env.active)
        try:
            if self.world.clock is not None:
                self.world.clock.now += self.world.seconds_per_call
            if tactic in self.world.lie_about:
                return ProofFinished(tactic_state_id=next(self.ids))
            nxt = self.world.step(state.pp, tactic)
            if nxt is None:
                return LeanError(f"unknown tactic {tactic!r}")
            if nxt == DONE:
                return ProofFinished(tactic_state_id=next(self.ids))
            if nxt == HANG:
                time.sleep(0.01)
                return TacticTimeout()
            if nxt == GIVE_UP:
                return ProofGivenUp()
            return TacticState(pp=nxt, id=next(self.ids), num_goals=1)
        finally:
            with self.env.lock:
                self.env.active -= 1

    def close(self) -> None:
        self.closed = True


class FakeEnv:
    backend = "fake kernel"

    def __init__(self, world: FakeWorld, start_error: Exception | None = None):
        self.world = world
        self.start_error = start_error
        self.lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []
        self.timeouts: list[float | None] = []
        self.verified: list[str] = []
        self.sessions: list[FakeSession] = []
        self.active = 0
        self.max_active = 0

    def start(self, theorem: Theorem):
        if self.start_error is not None:
            raise self.start_error
        session = FakeSession(self.world, self)
        self.sessions.append(session)
        return session, TacticState(pp=self.world.root, id=0, num_goals=1)

    def verify(self, theorem: Theorem, proof: str) -> Verdict:
        self.verified.append(proof)
        state = self.world.root
        for line in proof.splitlines():
            if not line.startswith("  ") or line.startswith("   "):
                return Verdict(False, self.backend, (f"bad indentation: {line!r}",))
            nxt = self.world.step(state, line.strip())
            if nxt is None or nxt in (HANG, GIVE_UP):
                return Verdict(False, self.backend, (f"tactic {line.strip()!r} fails",))
            if nxt == DONE:
                return Verdict(True, self.backend) if line == proof.splitlines()[-1] else \
                    Verdict(False, self.backend, ("tactics after the proof finished",))
            state = nxt
        return Verdict(False, self.backend, ("unsolved goals",))

    def close(self) -> None:
        pass


class TablePolicy:
    """Proposes scripted (tactic, logprob[, tokens]) lists by state pp; records every batch."""

    def __init__(self, table: dict[str, list[tuple]], default: list[tuple] | None = None):
        self.table = table
        self.default = default or []
        self.batches: list[list[str]] = []

    async def propose(self, requests: list[PolicyRequest], k: int) -> list[list[Candidate]]:
        self.batches.append([r.state.pp for r in requests])
        out = []
        for r in requests:
            rows = self.table.get(r.state.pp, self.default)
            out.append([Candidate(*row) for row in rows][:k])
        return out


def chain_world(length: int) -> FakeWorld:
    """s0 -step-> s1 -step-> ... s{length-1} -finish-> DONE; other tactics fail."""
    moves = {(f"⊢ s{i}", "step"): f"⊢ s{i + 1}" for i in range(length - 1)}
    moves[(f"⊢ s{length - 1}", "finish")] = DONE
    return FakeWorld(root="⊢ s0", moves=moves)


def endless_world(**kwargs) -> FakeWorld:
    """Every tactic ``t<j>`` from ``⊢ n`` leads to a fresh state; nothing ever finishes."""
    def generate(pp: str, tactic: str) -> str | None:
        if tactic.startswith("t"):
            return f"{pp}.{tactic[1:]}"
        return None
    return FakeWorld(root="⊢ 0", generator=generate, **kwargs)
