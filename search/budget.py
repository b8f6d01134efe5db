"""The meter that enforces a `SearchBudget` (search.config) exactly.

Every costly step reserves its unit *before* it happens (`try_expansion`, `try_env_call`,
`try_tokens`), so no limit is ever exceeded, not even by one, whatever the concurrency.
Results already paid for are always kept: a proof found by the call that used the last unit
counts (ReProver's discard-at-the-limit bug cannot happen here).
"""
from __future__ import annotations

import time
from typing import Callable

from search.config import SearchBudget

# Which limit said no: the search's stop reasons for a spent budget (search.result re-exports them).
EXPANSION_LIMIT = "expansion limit"
TIME_LIMIT = "time limit"
ENV_CALL_LIMIT = "env call limit"
TOKEN_LIMIT = "token limit"


class BudgetMeter:
    """Counts what the search used and says no once a limit would be crossed."""

    def __init__(self, budget: SearchBudget, clock: Callable[[], float] = time.monotonic):
        self.budget = budget
        self._clock = clock
        self.started = clock()
        self.expansions = 0
        self.env_calls = 0
        self.tokens = 0
        self.exhausted_reason: str | None = None

    def elapsed(self) -> float:
        return self._clock() - self.started

    def time_left(self) -> float | None:
        if self.budget.time_limit_s is None:
            return None
        return self.budget.time_limit_s - self.elapsed()

    def _refuse(self, reason: str) -> bool:
        if self.exhausted_reason is None:
            self.exhausted_reason = reason
        return False

    def _time_ok(self) -> bool:
        left = self.time_left()
        return left is None or left > 0 or self._refuse(TIME_LIMIT)

    def _within(self, limit: int | None, used: int, reason: str) -> bool:
        return limit is None or used < limit or self._refuse(reason)

    def try_expansion(self) -> bool:
        if not (self._time_ok() and self._within(self.budget.max_expansions, self.expansions, EXPANSION_LIMIT)):
            return False
        self.expansions += 1
        return True

    def try_env_call(self) -> bool:
        if not (self._time_ok() and self._within(self.budget.max_env_calls, self.env_calls, ENV_CALL_LIMIT)):
            return False
        self.env_calls += 1
        return True

    def try_tokens(self, count: int) -> bool:
        limit = self.budget.max_tokens
        if limit is not None and self.tokens + count > limit:
            return self._refuse(TOKEN_LIMIT)
        self.tokens += count
        return True

    def can_continue(self) -> bool:
        """False once time, expansions or env calls are spent (tokens are checked per candidate)."""
        # Tokens are not checked here: a policy that generates none (the hammer) never runs out.
        return (self._time_ok()
                and self._within(self.budget.max_expansions, self.expansions, EXPANSION_LIMIT)
                and self._within(self.budget.max_env_calls, self.env_calls, ENV_CALL_LIMIT))

    def tactic_timeout(self) -> float:
        left = self.time_left()
        timeout = self.budget.tactic_timeout_s
        return timeout if left is None else max(0.001, min(timeout, left))
