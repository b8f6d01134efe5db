"""AsyncEngine: many concurrent callers, one step loop.

Callers (asyncio tasks on any event loop, plain threads, Ray actor methods) call
`await engine.submit(prompt, params)` or the blocking `engine.submit_sync(...)`. Inputs are
checked in the caller (a bad request raises ValueError there and never reaches the loop). A
single background thread owns the Engine: between steps it takes in new requests, runs one
batched step over everything in flight, and hands finished results back. So batch size grows
with the number of concurrent callers (continuous batching).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import queue
import threading

import torch

from serving.engine import Engine, Prompt, Tokenizer
from serving.params import EngineConfig, SamplingParams
from serving.sequence import RequestOutput


class AsyncEngine:
    def __init__(self, model: torch.nn.Module, tokenizer: Tokenizer | None = None, config: EngineConfig | None = None) -> None:
        self.engine = Engine(model, tokenizer, config)
        self._inbox: queue.Queue = queue.Queue()
        self._pending: dict[str, concurrent.futures.Future] = {}
        self._ids = itertools.count()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="engine-step-loop", daemon=True)
        self._thread.start()

    # ---- callers ----

    def submit_future(self, prompt: Prompt, params: SamplingParams | None = None) -> concurrent.futures.Future:
        if self._stopped.is_set():
            raise RuntimeError("AsyncEngine is shut down; create a new one")
        params = params or SamplingParams()
        text, ids = self.engine.validate(prompt, params)  # ValueError goes to this caller only
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._inbox.put((f"async-{next(self._ids)}", text, ids, params, future))
        return future

    async def submit(self, prompt: Prompt, params: SamplingParams | None = None) -> RequestOutput:
        return await asyncio.wrap_future(self.submit_future(prompt, params))

    def submit_sync(self, prompt: Prompt, params: SamplingParams | None = None, timeout: float | None = None) -> RequestOutput:
        return self.submit_future(prompt, params).result(timeout)

    def flush(self) -> None:
        """Drop the prefix cache, from inside the loop (between two steps)."""
        done: concurrent.futures.Future = concurrent.futures.Future()
        self._inbox.put(("flush", done))
        done.result()

    def shutdown(self) -> None:
        self._stopped.set()
        self._inbox.put(("stop",))
        self._thread.join()

    @property
    def stats(self):
        return self.engine.stats

    # ---- the loop thread ----

    def _take_inbox(self, block: bool) -> None:
        try:
            item = self._inbox.get(block=block)
        except queue.Empty:
            return
        while True:
            self._accept(item)
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return

    def _accept(self, item: tuple) -> None:
        if item[0] == "stop":
            return
        if item[0] == "flush":
            self.engine.flush()
            item[1].set_result(None)
            return
        request_id, text, ids, params, future = item
        try:
            self.engine.add_validated(text, ids, params, request_id)
        except Exception as e:  # noqa: BLE001 - the caller gets it; the loop goes on
            future.set_exception(e)
            return
        self._pending[request_id] = future

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self._take_inbox(block=not self.engine.has_unfinished_requests())
            if not self.engine.has_unfinished_requests():
                continue
            try:
                finished = self.engine.step()
            except Exception as e:  # noqa: BLE001 - a bug outside any one request: fail what was in flight, keep serving
                for request_id in self.engine.abort_all():
                    future = self._pending.pop(request_id, None)
                    if future is not None:
                        future.set_exception(RuntimeError(f"engine step failed: {e!r}"))
                continue
            # a request whose own step raised fails alone (Engine isolates it); the rest go on
            for failure in self.engine.take_failures():
                future = self._pending.pop(failure.request_id, None)
                if future is not None:
                    future.set_exception(failure)
            for out in finished:
                future = self._pending.pop(out.request_id, None)
                if future is not None:
                    future.set_result(out)
        for future in self._pending.values():
            future.set_exception(RuntimeError("AsyncEngine was shut down before this request finished"))
        self._pending.clear()
