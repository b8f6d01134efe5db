"""Requests, the sequences (samples) they hold, and the results handed back to callers."""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field

import torch

from serving.params import SamplingParams
from serving.sampler import SeedStream


class SequenceStatus(enum.Enum):
    WAITING = "waiting"  # no blocks; (re)computed from scratch (with prefix-cache hits) when admitted
    RUNNING = "running"
    FINISHED = "finished"


_seq_ids = itertools.count()


@dataclass(eq=False)
class Sequence:
    """One sample of a request: its tokens, where their latents live, and what it has produced.

    token_ids = prompt + generated tokens. num_computed_tokens counts the leading tokens whose
    latents are in the pool (block_table); the tokens after that are fed at the next step. When
    all tokens are computed, the step's last logits give the next token (prefill and decode are
    the same thing, which is also how a preempted sequence is recomputed).
    """

    request: Request
    index: int
    token_ids: list[int]
    generator: SeedStream | torch.Generator  # the sample's randomness (serving.sampler)
    seq_id: int = field(default_factory=lambda: next(_seq_ids))
    status: SequenceStatus = SequenceStatus.WAITING
    block_table: list[int] = field(default_factory=list)
    num_computed_tokens: int = 0
    num_blocks_in_prefix_cache: int = 0
    prefix_cache_generation: int = -1
    logprobs: list[float] = field(default_factory=list)
    top_logprobs: list[dict[int, float]] = field(default_factory=list)
    cumulative_logprob: float = 0.0
    finish_reason: str | None = None
    text: str = ""

    @property
    def params(self) -> SamplingParams:
        return self.request.params

    @property
    def num_prompt_tokens(self) -> int:
        return len(self.request.prompt_token_ids)

    @property
    def output_token_ids(self) -> list[int]:
        return self.token_ids[self.num_prompt_tokens :]

    @property
    def num_uncomputed_tokens(self) -> int:
        return len(self.token_ids) - self.num_computed_tokens

    @property
    def finished(self) -> bool:
        return self.status is SequenceStatus.FINISHED


@dataclass(eq=False)
class Request:
    """A prompt and its n samples. Only sample 0 exists until the prompt is computed; the other
    n-1 are forked from it then, sharing the prompt's blocks."""

    request_id: str
    prompt: str | None
    prompt_token_ids: list[int]
    params: SamplingParams
    arrival: int
    sequences: list[Sequence] = field(default_factory=list)
    forked: bool = False
    num_cached_prompt_tokens: int = 0

    @property
    def finished(self) -> bool:
        return len(self.sequences) == self.params.n and all(s.finished for s in self.sequences)


@dataclass
class CompletionOutput:
    """One sample. logprobs[i] is the raw log-probability of token_ids[i]; top_logprobs[i] maps the
    k most likely token ids at that position to theirs (both None unless SamplingParams.logprobs)."""

    index: int
    text: str
    token_ids: list[int]
    cumulative_logprob: float
    logprobs: list[float] | None
    top_logprobs: list[dict[int, float]] | None
    finish_reason: str | None  # "stop" (eos, stop token or stop string) or "length"


@dataclass
class RequestOutput:
    request_id: str
    prompt: str | None
    prompt_token_ids: list[int]
    outputs: list[CompletionOutput]
    finished: bool
    num_cached_tokens: int = 0  # prompt tokens served from the prefix cache when the prompt was computed

    @classmethod
    def from_request(cls, request: Request) -> RequestOutput:
        want_logprobs = request.params.logprobs is not None
        outputs = [
            CompletionOutput(
                index=s.index,
                text=s.text,
                token_ids=list(s.output_token_ids),
                cumulative_logprob=s.cumulative_logprob,
                logprobs=list(s.logprobs) if want_logprobs else None,
                top_logprobs=list(s.top_logprobs) if want_logprobs else None,
                finish_reason=s.finish_reason,
            )
            for s in sorted(request.sequences, key=lambda s: s.index)
        ]
        return cls(
            request_id=request.request_id,
            prompt=request.prompt,
            prompt_token_ids=list(request.prompt_token_ids),
            outputs=outputs,
            finished=request.finished,
            num_cached_tokens=request.num_cached_prompt_tokens,
        )
