"""The synchronous engine: requests in, one batched model step at a time, RequestOutputs out.

Typical use:
    engine = Engine(model, tokenizer, EngineConfig(cache_memory_bytes=1 << 30))
    outs = engine.generate(["theorem foo ..."], SamplingParams(n=16, temperature=1.0, max_tokens=64))

The engine owns the latent pool, the block manager (with the radix prefix cache), the scheduler
and the model runner. It is not thread-safe: AsyncEngine drives one from its own thread.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol
from typing import Sequence as Seq

import torch

from serving.attention import gqa_decode_source, mla_decode_source
from serving.block_manager import BlockManager
from serving.cache import num_blocks_for_budget
from serving.decode_graph import DecodeGraphs
from serving.kv_cache import cache_bytes_per_token, is_dense, make_cache_pool
from serving.model_runner import ModelRunner
from serving.params import EngineConfig, PromptTooLongError, SamplingParams
from serving.radix import PrefixCacheStats
from serving.sampler import SeedStream, draw_inputs, sample
from serving.scheduler import ScheduledSeq, Scheduler
from serving.sequence import Request, RequestOutput, Sequence
from serving.weight_layout import use_decode_weight_layout

Prompt = str | list[int]


class Tokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...

    def decode(self, token_ids: list[int]) -> str: ...


@dataclass
class EngineStats:
    num_steps: int = 0
    num_computed_tokens: int = 0  # tokens fed through the model (prefill + decode + recompute)
    num_generated_tokens: int = 0
    batch_sizes: deque = field(default_factory=deque)  # sequences per step, most recent last
    batch_tokens: deque = field(default_factory=deque)  # tokens per step
    # wall seconds spent in each part of the steps so far (schedule, forward, sample, bookkeeping)
    seconds: dict = field(default_factory=lambda: dict.fromkeys(STEP_PARTS, 0.0))


STEP_PARTS = ("schedule", "forward", "sample", "bookkeeping")


class RequestFailedError(RuntimeError):
    """One request's step raised: that request is failed, the engine goes on with the others."""

    def __init__(self, request_id: str, cause: BaseException) -> None:
        super().__init__(
            f"request {request_id!r} failed inside the engine step: {type(cause).__name__}: {cause}. "
            "Other requests were not affected; resubmitting this one will likely fail the same way."
        )
        self.request_id = request_id
        self.cause = cause


class Engine:
    def __init__(self, model: torch.nn.Module, tokenizer: Tokenizer | None = None, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.model = model.eval()
        use_decode_weight_layout(model)  # CPU: weights stored for fast few-row products
        self.tokenizer = tokenizer
        mc = model.config
        param = next(model.parameters())
        self.device, self.dtype = param.device, param.dtype
        self.vocab_size: int = mc.vocab_size
        self.max_model_len: int = self.config.max_model_len or mc.max_position_embeddings
        eos = mc.eos_token_id
        self.eos_token_ids: set[int] = set() if eos is None else set(eos if isinstance(eos, (list, tuple)) else [eos])
        tokenizer_eos = getattr(tokenizer, "eos_token_id", None)
        if isinstance(tokenizer_eos, int):
            self.eos_token_ids.add(tokenizer_eos)

        # dense models (GQA) cache keys and values per head; DeepSeek's MLA caches the latent
        bytes_per_token = cache_bytes_per_token(mc, self.dtype)
        num_blocks = self.config.num_blocks or num_blocks_for_budget(
            self.config.cache_memory_bytes, self.config.block_size, bytes_per_token
        )
        self.pool = make_cache_pool(mc, num_blocks, self.config.block_size, self.dtype, self.device)
        self.block_manager = BlockManager(num_blocks, self.config.block_size, self.config.enable_prefix_caching)
        self.scheduler = Scheduler(self.block_manager, self.config.max_num_seqs, self.config.max_num_batched_tokens)
        self.decode_graphs = DecodeGraphs(
            model, self.pool, self.device, self.config.decode_mode, self.config.max_num_seqs,
            max_blocks_per_seq=self.block_manager.blocks_for(self.max_model_len),
        )
        self.runner = ModelRunner(model, self.pool, self.device, self.decode_graphs)
        # which decode attention runs (for reports); the name predates dense models
        self.mla_decode_source = (gqa_decode_source if is_dense(mc) else mla_decode_source)(self.device)
        self.stats = EngineStats(
            batch_sizes=deque(maxlen=self.config.record_batch_sizes),
            batch_tokens=deque(maxlen=self.config.record_batch_sizes),
        )
        self._requests: dict[str, Request] = {}
        self._failures: list[RequestFailedError] = []  # failed requests not yet taken (take_failures)
        self._request_counter = itertools.count()
        self._arrivals = itertools.count()
        self._seed_source = random.Random(self.config.seed)

    # ---- input checking (pure: safe to call from any thread) ----

    def validate(self, prompt: Prompt, params: SamplingParams) -> tuple[str | None, list[int]]:
        """(prompt text, prompt token ids), or ValueError naming the bad field."""
        if not isinstance(params, SamplingParams):
            raise ValueError(f"params: expected SamplingParams, got {type(params).__name__}")
        params.check_against_model(self.vocab_size, self.tokenizer is not None)
        if isinstance(prompt, str):
            if not prompt:
                raise ValueError("prompt: is empty; give at least one token")
            if self.tokenizer is None:
                raise ValueError("prompt: text prompts need a tokenizer; pass tokenizer= to the Engine or give token ids")
            text, ids = prompt, list(self.tokenizer.encode(prompt))
        elif isinstance(prompt, (list, tuple)) and all(isinstance(t, int) and not isinstance(t, bool) for t in prompt):
            text, ids = None, list(prompt)
        else:
            raise ValueError(f"prompt: expected a string or a list of token ids, got {type(prompt).__name__}")
        if not ids:
            raise ValueError("prompt: is empty; give at least one token")
        bad = [t for t in ids if not 0 <= t < self.vocab_size]
        if bad:
            raise ValueError(f"prompt: token ids {bad[:5]} are outside the vocabulary [0, {self.vocab_size})")
        if len(ids) >= self.max_model_len:
            raise PromptTooLongError(
                f"prompt: {len(ids)} tokens leave no room to generate within the model's context of "
                f"{self.max_model_len} tokens; shorten the prompt"
            )
        longest = min(len(ids) + params.max_tokens, self.max_model_len)
        need = self.block_manager.blocks_for(longest)
        if need > self.block_manager.num_blocks:
            raise ValueError(
                f"max_tokens: a sample of this request may reach {longest} tokens = {need} blocks, but the latent "
                f"pool has only {self.block_manager.num_blocks}; lower max_tokens or raise EngineConfig.cache_memory_bytes"
            )
        return text, ids

    # ---- requests ----

    def add_request(self, prompt: Prompt, params: SamplingParams | None = None, request_id: str | None = None) -> str:
        params = params or SamplingParams()
        text, ids = self.validate(prompt, params)
        return self.add_validated(text, ids, params, request_id)

    def add_validated(self, text: str | None, ids: list[int], params: SamplingParams, request_id: str | None = None) -> str:
        request_id = request_id if request_id is not None else f"req-{next(self._request_counter)}"
        if request_id in self._requests:
            raise ValueError(f"request_id: {request_id!r} is already in flight")
        request = Request(request_id, text, ids, params, arrival=next(self._arrivals))
        seq = self._new_sequence(request, 0, list(ids))
        self._requests[request_id] = request
        self.scheduler.add(seq)
        return request_id

    def _new_sequence(self, request: Request, index: int, token_ids: list[int]) -> Sequence:
        seed = request.params.seed
        key = (seed * 0x9E3779B1 + index) % (1 << 63) if seed is not None else self._seed_source.getrandbits(63)
        seq = Sequence(request=request, index=index, token_ids=token_ids, generator=SeedStream(key))
        request.sequences.append(seq)
        return seq

    def has_unfinished_requests(self) -> bool:
        return bool(self._requests)

    def abort(self, request_id: str) -> None:
        request = self._requests.pop(request_id, None)
        if request is None:
            return
        for seq in request.sequences:
            if not seq.finished:
                self.scheduler.finish(seq)

    def take_failures(self) -> list[RequestFailedError]:
        """Requests failed by the steps since the last call (each removed from the engine)."""
        failures, self._failures = self._failures, []
        return failures

    def _fail(self, request: Request, cause: BaseException) -> None:
        if self._requests.pop(request.request_id, None) is None:
            return
        for seq in request.sequences:
            if not seq.finished:
                seq.finish_reason = "error"
                self.scheduler.finish(seq)
        self._failures.append(RequestFailedError(request.request_id, cause))

    def _isolate_failed_step(self, batch: list[ScheduledSeq], error: BaseException) -> None:
        """The batch's forward raised: run each request's part of it alone and fail the requests
        whose part raises again; the others are untouched (nothing was committed) and run in the
        next step. If no part fails alone, the failure needs the whole batch: fail all of it."""
        parts: dict[int, list[ScheduledSeq]] = {}
        for item in batch:
            parts.setdefault(id(item.seq.request), []).append(item)
        culprits = []
        for part in parts.values():
            try:
                self.runner.run(part)
            except Exception as e:  # noqa: BLE001 - this request's own failure
                culprits.append((part[0].seq.request, e))
        if not culprits:
            culprits = [(part[0].seq.request, error) for part in parts.values()]
        for request, cause in culprits:
            self._fail(request, cause)

    def abort_all(self) -> list[str]:
        ids = list(self._requests)
        for request_id in ids:
            self.abort(request_id)
        return ids

    # ---- the step ----

    def step(self) -> list[RequestOutput]:
        """Run one batched forward; returns the requests that finished in it."""
        started = time.perf_counter()
        batch = self.scheduler.schedule()
        scheduled = time.perf_counter()
        if not batch:
            if self.scheduler.has_work():
                raise RuntimeError("scheduler made no progress with work pending; this is an engine bug")
            return []
        draw = None
        if self.decode_graphs.draws_with_step and all(item.num_new_tokens == 1 for item in batch):
            # a decode-only step: every row samples, so the compiled step can draw as well (and if it
            # does not run, sample() still takes these inputs)
            draw = draw_inputs([item.seq.params for item in batch], [item.seq.generator for item in batch], self.device)
        try:
            logits, drawn = self.runner.run_and_draw(batch, draw)
        except Exception as e:  # noqa: BLE001 - fail only the requests that cause it
            self._isolate_failed_step(batch, e)
            return []
        forwarded = time.perf_counter()
        self.stats.num_steps += 1
        self.stats.batch_sizes.append(len(batch))
        self.stats.batch_tokens.append(sum(item.num_new_tokens for item in batch))
        self.stats.num_computed_tokens += self.stats.batch_tokens[-1]

        to_sample: list[Sequence] = []
        rows: list[int] = []
        for row, item in enumerate(batch):
            seq = item.seq
            seq.num_computed_tokens += item.num_new_tokens
            self.block_manager.cache_full_blocks(seq)
            if seq.num_computed_tokens < len(seq.token_ids):
                continue  # a prompt chunk: no token to sample yet
            to_sample.append(seq)
            rows.append(row)
            request = seq.request
            if request.params.n > 1 and not request.forked:
                for child in self._fork(seq):
                    to_sample.append(child)
                    rows.append(row)
        if not to_sample:
            self._account(started, scheduled, forwarded, forwarded, time.perf_counter())
            return []

        before_sampling = time.perf_counter()
        with torch.inference_mode():  # an inference tensor either way, as the compiled sampler expects
            picked = logits if len(rows) == logits.shape[0] and rows == list(range(len(rows))) else logits[rows]
        same_rows = picked is logits  # the draw inputs (and a compiled draw) were built for these rows
        sampled = sample(picked, [s.params for s in to_sample], [s.generator for s in to_sample], self.decode_graphs.drawer,
                         inputs=draw if same_rows else None, drawn=drawn if same_rows else None)
        sampled_at = time.perf_counter()
        finished: list[RequestOutput] = []
        for seq, token in zip(to_sample, sampled):
            if seq.request.request_id not in self._requests:
                continue  # failed earlier in this loop
            try:
                self._append_token(seq, token.token_id, token.logprob, token.top_logprobs)
            except Exception as e:  # noqa: BLE001 - e.g. the tokenizer fails on this output
                self._fail(seq.request, e)
                continue
            if seq.finished and seq.request.finished:
                finished.append(RequestOutput.from_request(seq.request))
                del self._requests[seq.request.request_id]
        self._account(started, scheduled, forwarded, sampled_at, time.perf_counter(), before_sampling)
        return finished

    def _account(self, started, scheduled, forwarded, sampled, ended, before_sampling=None) -> None:
        seconds = self.stats.seconds
        seconds["schedule"] += scheduled - started
        seconds["forward"] += forwarded - scheduled
        sampling = sampled - (before_sampling if before_sampling is not None else sampled)
        seconds["sample"] += sampling
        seconds["bookkeeping"] += ended - forwarded - sampling

    def _fork(self, parent: Sequence) -> list[Sequence]:
        """Create samples 1..n-1 of parent's request, sharing its computed prompt."""
        request = parent.request
        request.forked = True
        children = []
        for index in range(1, request.params.n):
            child = self._new_sequence(request, index, list(parent.token_ids))
            if len(self.scheduler.running) < self.config.max_num_seqs and self.block_manager.fork(
                parent, child, self.pool.copy_block
            ):
                self.scheduler.add_running(child)
            else:
                self.scheduler.add(child)  # recomputed later; the prompt's full blocks will be cache hits
            children.append(child)
        return children

    def _append_token(self, seq: Sequence, token_id: int, logprob: float, top: dict[int, float] | None) -> None:
        params = seq.params
        seq.token_ids.append(token_id)
        seq.cumulative_logprob += logprob
        if params.logprobs is not None:
            seq.logprobs.append(logprob)
            seq.top_logprobs.append(top or {})
        self.stats.num_generated_tokens += 1

        reason = None
        if (token_id in self.eos_token_ids and not params.ignore_eos) or token_id in params.stop_token_ids:
            reason = "stop"
        if self.tokenizer is not None:
            previous = len(seq.text)
            seq.text = self.tokenizer.decode(seq.output_token_ids)
            if reason is None and params.stop:
                cut = self._find_stop(seq.text, params.stop, previous)
                if cut is not None:
                    seq.text = seq.text[:cut]
                    reason = "stop"
        if reason is None and (
            len(seq.token_ids) - seq.num_prompt_tokens >= params.max_tokens or len(seq.token_ids) >= self.max_model_len
        ):
            reason = "length"
        if reason is not None:
            seq.finish_reason = reason
            self.scheduler.finish(seq)

    @staticmethod
    def _find_stop(text: str, stops: list[str], previous_len: int) -> int | None:
        """Earliest start of a stop string that ends in the newly decoded tail."""
        best = None
        for stop in stops:
            pos = text.find(stop, max(0, previous_len - len(stop) + 1))
            if pos != -1 and (best is None or pos < best):
                best = pos
        return best

    # ---- convenience ----

    def generate(
        self, prompts: Prompt | Seq[Prompt], params: SamplingParams | Seq[SamplingParams] | None = None
    ) -> list[RequestOutput]:
        """Run prompts to completion; outputs in prompt order. All inputs are checked before any
        runs, so a ValueError (naming the field and the prompt's index) leaves the engine as it was."""
        if isinstance(prompts, str) or (isinstance(prompts, (list, tuple)) and prompts and isinstance(prompts[0], int)):
            prompts = [prompts]
        prompts = list(prompts)
        if params is None or isinstance(params, SamplingParams):
            params_list = [params or SamplingParams()] * len(prompts)
        else:
            params_list = list(params)
            if len(params_list) != len(prompts):
                raise ValueError(f"params: got {len(params_list)} SamplingParams for {len(prompts)} prompts")
        checked = []
        for i, (prompt, p) in enumerate(zip(prompts, params_list)):
            try:
                checked.append(self.validate(prompt, p))
            except ValueError as e:
                raise ValueError(f"{e} (prompt #{i})") from None
        ids = [self.add_validated(text, tokens, p) for (text, tokens), p in zip(checked, params_list)]
        wanted = set(ids)
        results: dict[str, RequestOutput] = {}
        while wanted - results.keys():
            for out in self.step():
                if out.request_id in wanted:
                    results[out.request_id] = out
            for failure in self.take_failures():
                if failure.request_id in wanted:
                    for request_id in wanted - results.keys() - {failure.request_id}:
                        self.abort(request_id)
                    raise failure
        return [results[i] for i in ids]

    def flush(self) -> None:
        """Forget every cached prefix (call after changing the model's weights)."""
        if self.block_manager.prefix_cache is not None:
            self.block_manager.prefix_cache.flush()

    @property
    def prefix_cache_stats(self) -> PrefixCacheStats:
        pc = self.block_manager.prefix_cache
        return pc.stats if pc is not None else PrefixCacheStats()

    @property
    def num_preemptions(self) -> int:
        return self.scheduler.num_preemptions

    @property
    def num_blocks(self) -> int:
        return self.block_manager.num_blocks
