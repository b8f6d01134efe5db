"""Running tactics for a search: the budget first, then the backend in a thread (the search runs
the guard, `lean_env.guard.check_proof`, before it asks).

`run_tac` blocks on subprocess I/O, so it runs in a worker thread and the event loop stays free
for the policy (and for other searches). Calls on one session take turns (an asyncio lock): a
backend session is one Lean process, and its protocol is one request at a time.
"""
from __future__ import annotations

import asyncio
import logging

from lean_env.env import ProofSession
from lean_env.types import LeanError, TacticResult, TacticState, TacticTimeout
from search.budget import TIME_LIMIT, BudgetMeter

log = logging.getLogger(__name__)


class TacticRunner:
    def __init__(self, session: ProofSession, meter: BudgetMeter):
        self.session = session
        self.meter = meter
        self._turn = asyncio.Lock()
        self._in_flight: asyncio.Future | None = None
        self._stopped = False
        self.backend_errors = 0

    async def run(self, state: TacticState, tactic: str) -> TacticResult | None:
        """The tactic's result, or None when the budget refused the call, the search was
        stopped (nothing was run), or the time budget ran out while the tactic ran.

        The budget is charged and the tactic timeout computed only once this call has the
        session, so waiting behind other calls can neither overspend nor overrun the clock."""
        async with self._turn:
            if self._stopped or not self.meter.try_env_call():
                return None
            timeout = self.meter.tactic_timeout()
            # A thread cannot be cancelled: if our caller is, the call still finishes, and
            # `drain` lets the owner wait for it before closing the session.
            self._in_flight = asyncio.ensure_future(asyncio.to_thread(self._run, state, tactic, timeout))
            result = await asyncio.shield(self._in_flight)
        if isinstance(result, TacticTimeout) and timeout < self.meter.budget.tactic_timeout_s:
            # Cut short by the search's time limit, not by its own: that is no failure of the
            # tactic (recording one could settle the tree as "no candidates left"); the time is up.
            self.meter.exhausted_reason = self.meter.exhausted_reason or TIME_LIMIT
            return None
        return result

    def stop(self) -> None:
        """Refuse (without charging) every call not yet started: the search is settled."""
        self._stopped = True

    async def drain(self) -> None:
        """Wait for a backend call that is still running (after a cancellation)."""
        if self._in_flight is not None and not self._in_flight.done():
            await asyncio.wait([self._in_flight])

    def _run(self, state: TacticState, tactic: str, timeout: float) -> TacticResult:
        try:
            return self.session.run_tac(state, tactic, timeout=timeout)
        except Exception as exc:  # a backend fault is this tactic's failure, not the search's
            self.backend_errors += 1
            log.warning("backend error on tactic %r: %s: %s", tactic, type(exc).__name__, exc)
            return LeanError(f"backend error: {type(exc).__name__}: {exc}")
