"""The model policy: prompts in DeepSeek-Prover-V1.5's format, completed by our engine.

Each request becomes one `engine.submit(prompt, SamplingParams(n=samples, …))`; all requests
of a `propose` call are submitted at once so the engine batches them (and its radix cache
shares their common prefix). Completions are cut to their first tactic, deduplicated, and
dropped when the guard objects (a `sorry` is never proposed). The tactics the model wrote
after the first ride along as `Candidate.continuation` (RMaxTS rolls them out).
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Callable

from lean_env.guard import check_proof
from search.candidates import Candidate, PolicyRequest, dedupe_best_first
from search.prompt import build_prompt, first_tactic_span, split_tactics

log = logging.getLogger(__name__)


def _default_sampling_params(**kwargs: Any) -> Any:
    # Imported on first use (likewise below): a hammer-only search never loads torch.
    from serving import SamplingParams

    return SamplingParams(**kwargs)


def _concise(exc: BaseException) -> str:
    """The error's own first line: a Ray-wrapped error (`RayTaskError`, with `.cause`) carries
    the remote stack trace in its text, which an expected condition must not print."""
    cause = getattr(exc, "cause", None)
    text = str(cause if isinstance(cause, BaseException) else exc).strip()
    return next((line for line in text.splitlines() if line.strip()), type(exc).__name__)[:300]


def _is_prompt_too_long(exc: BaseException) -> bool:
    """The engine's "prompt leaves no room in the context" error (also when re-raised by Ray),
    or a policy server's (search.openai_policy.PromptTooLong)."""
    if getattr(exc, "prompt_too_long", False):
        return True
    from serving import PromptTooLongError

    return isinstance(exc, PromptTooLongError)


class ModelPolicy:
    """Samples `samples` completions per request from `engine` and keeps distinct first tactics."""

    def __init__(self, engine: Any, *, tokenizer: Any = None, samples: int = 8,
                 temperature: float = 1.0, top_p: float = 0.95, max_tokens: int = 128,
                 sampling_params: Callable[..., Any] | None = None, seed: int | None = None):
        if engine is None:
            raise ValueError("ModelPolicy needs an engine (serving.AsyncEngine); got None")
        if samples < 1:
            raise ValueError(f"ModelPolicy samples must be >= 1, got {samples}")
        self.engine = engine
        self.tokenizer = tokenizer
        # The engine turns text into tokens and back only if it was given a tokenizer (or is a
        # server, `takes_text`); then it also honours the stop string. Otherwise we encode/decode
        # here, without a stop.
        inner = getattr(engine, "engine", None)
        self._engine_has_tokenizer = (getattr(engine, "takes_text", False)
                                      or getattr(engine, "tokenizer", None) is not None
                                      or getattr(inner, "tokenizer", None) is not None)
        if not self._engine_has_tokenizer and tokenizer is None:
            raise ValueError("ModelPolicy needs a tokenizer: the engine has none, so pass tokenizer= "
                             "(model.tokenizer) to ModelPolicy or to the engine")
        self.samples = samples
        self.temperature = temperature
        self.top_p = top_p
        self.max_tokens = max_tokens
        # With a seed, each request's seed comes from (theorem, proof so far, state): the same
        # request samples the same tactics, in-process or over --policy-url, in any order.
        self.seed = seed
        self._make_params = sampling_params or _default_sampling_params
        self._too_long_reported: set[str] = set()  # theorems whose prompt outgrew the context (logged once)

    def _params(self, request: PolicyRequest | None = None) -> Any:
        stop = ["```"] if self._engine_has_tokenizer else None
        seed = None
        if self.seed is not None and request is not None:
            from search.proof_writer import request_seed

            seed = request_seed(self.seed, request.theorem.name, tuple(request.proof_so_far), request.state.pp)
        # logprobs=0: the log-probability of each sampled token, to score the first tactic alone
        return self._make_params(n=self.samples, temperature=self.temperature, top_p=self.top_p,
                                 max_tokens=self.max_tokens, stop=stop, logprobs=0, seed=seed)

    async def propose(self, requests: list[PolicyRequest], k: int) -> list[list[Candidate]]:
        return list(await asyncio.gather(*(self._propose_one(r, k) for r in requests)))

    async def _propose_one(self, request: PolicyRequest, k: int) -> list[Candidate]:
        prompt = build_prompt(request.theorem, request.proof_so_far, request.state)
        to_send: Any = prompt if self._engine_has_tokenizer else list(self.tokenizer.encode(prompt))
        try:
            output = self.engine.submit(to_send, self._params(request))
            if inspect.isawaitable(output):
                output = await output
        except Exception as exc:
            if not _is_prompt_too_long(exc):
                raise
            # A deep state of a long theorem can outgrow the model's context: this request gets
            # no model candidates (a mixed policy still has the hammer's), the search goes on.
            # Expected, not a fault: one line per theorem (not per request, never a stack trace).
            name = request.theorem.name
            if name not in self._too_long_reported:
                self._too_long_reported.add(name)
                log.warning("%s: prompt too long for the model's context, no model candidates for that state "
                            "(said once per theorem): %s", name, _concise(exc))
            else:
                log.debug("%s: prompt too long for the model: %s", name, _concise(exc))
            return []
        raw: list[Candidate] = []
        unusable_tokens = 0
        for completion in output.outputs:
            tokens = len(completion.token_ids)
            text = completion.text if self._engine_has_tokenizer else self._decode(completion.token_ids)
            found = first_tactic_span(text)
            if found is None:
                unusable_tokens += tokens
                continue
            tactic, end = found
            reasons = check_proof(tactic)
            if reasons:
                log.debug("dropped candidate %r: %s", tactic, "; ".join(reasons))
                unusable_tokens += tokens
                continue
            raw.append(Candidate(tactic, self._tactic_logprob(completion, end), tokens,
                                 self._continuation(text[end:])))
        # the wasted samples are charged too, so the token budget sees everything generated
        return dedupe_best_first(raw, k, extra_tokens=unusable_tokens)

    def _continuation(self, rest: str) -> tuple[str, ...]:
        """The tactics after the first one, up to the first the guard rejects."""
        kept: list[str] = []
        for tactic in split_tactics(rest):
            if check_proof(tactic):
                break
            kept.append(tactic)
        return tuple(kept)

    def _decode(self, token_ids: Any) -> str:
        tokenizer = self.tokenizer or getattr(getattr(self.engine, "engine", self.engine), "tokenizer", None)
        return tokenizer.decode(list(token_ids))

    def _tactic_logprob(self, completion: Any, end: int) -> float:
        """Log-prob of the tokens that spell the first tactic (the rest of the sampled proof
        would otherwise penalise it). Falls back to the whole completion's log-prob when the
        engine gave no per-token log-probs or no tokenizer is at hand to align them."""
        token_logprobs = getattr(completion, "logprobs", None)
        offsets = getattr(completion, "text_offsets", None)
        if token_logprobs and offsets and len(offsets) == len(token_logprobs):
            # a server's answer says where each token starts: the tokens that start before `end`
            return float(sum(lp for lp, start in zip(token_logprobs, offsets) if start < end))
        tokenizer = self.tokenizer or getattr(getattr(self.engine, "engine", self.engine), "tokenizer", None)
        ids = list(completion.token_ids)
        if not token_logprobs or tokenizer is None or len(token_logprobs) != len(ids):
            return float(completion.cumulative_logprob)
        low, high = 1, len(ids)  # fewest tokens whose text reaches `end` (binary search)
        while low < high:
            mid = (low + high) // 2
            if len(tokenizer.decode(ids[:mid])) >= end:
                high = mid
            else:
                low = mid + 1
        return float(sum(token_logprobs[:low]))
