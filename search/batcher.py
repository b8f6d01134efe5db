"""Gathers single policy requests from concurrent coroutines into one `propose` call.

RMaxTS runs many rollouts at once, each asking for one state at a time; the batcher sends all
requests that arrive in the same event-loop turn together, so a model policy still sees batches.
"""
from __future__ import annotations

import asyncio

from search.candidates import Candidate, Policy, PolicyRequest


class PolicyBatcher:
    def __init__(self, policy: Policy, k: int, max_batch: int = 64):
        self.policy = policy
        self.k = k
        self.max_batch = max(1, max_batch)
        self._pending: list[tuple[PolicyRequest, asyncio.Future]] = []
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task] = set()
        self.batch_sizes: list[int] = []

    async def ask(self, request: PolicyRequest) -> list[Candidate]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._pending.append((request, future))
        if len(self._pending) >= self.max_batch:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._flush_scheduled = False
        batch, self._pending = self._pending, []
        batch = [(r, f) for r, f in batch if not f.done()]  # skip callers that were cancelled
        if not batch:
            return
        self.batch_sizes.append(len(batch))
        task = asyncio.ensure_future(self._send(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[PolicyRequest, asyncio.Future]]) -> None:
        try:
            answers = await self.policy.propose([r for r, _ in batch], self.k)
            if not isinstance(answers, list) or len(answers) != len(batch):
                raise ValueError(f"policy {type(self.policy).__name__} returned a wrong number of answers "
                                 f"for {len(batch)} requests; propose must return one list per request")
        except BaseException as exc:  # hand the failure to every waiting caller
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), answer in zip(batch, answers):
            if not future.done():
                future.set_result(answer)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
