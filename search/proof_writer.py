"""The whole-proof writer: a prompt format over a generation engine.

`ProofWriter.sample(prompt, n, seed)` sends one request of `n` samples and returns the answers'
text with their token counts and log-probabilities. The engine is ours (`serving.AsyncEngine`,
in this process or behind Ray) or an OpenAI-compatible server (`search.openai_policy`). A chat
prompt goes to the server's chat endpoint when there is one; for our engine it is rendered here
with the checkpoint's chat template. Same prompt, same seed, same engine weights: same samples,
whichever way the request travels.
"""
from __future__ import annotations

import hashlib
import inspect
import logging
from dataclasses import dataclass
from typing import Any, Callable

from search.chat_template import ChatTemplate, ChatTemplateError
from search.prompt_formats import Prompt, PromptFormat

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    text: str
    tokens: int
    logprob: float


def request_seed(seed: int | None, *parts: object) -> int | None:
    """A request's seed from the run's seed and where the request stands (theorem, round, index):
    stable across processes and runs, distinct per request."""
    if seed is None:
        return None
    digest = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def _serving_params(**kwargs: Any) -> Any:
    from serving import SamplingParams  # on first use: an HTTP-only run need not load torch

    return SamplingParams(**kwargs)


class ProofWriter:
    """Samples whole proofs (or proof continuations) in one prompt format."""

    def __init__(self, engine: Any, prompt_format: PromptFormat, *, temperature: float = 1.0, top_p: float = 0.95,
                 max_tokens: int = 1024, chat_template: ChatTemplate | None = None, tokenizer: Any = None,
                 sampling_params: Callable[..., Any] | None = None):
        if engine is None:
            raise ValueError("ProofWriter needs an engine (serving.AsyncEngine or search.openai_policy.OpenAIEngine)")
        self.engine = engine
        self.format = prompt_format
        self.temperature = temperature
        self.top_p = top_p
        self.max_tokens = max_tokens
        self.chat_template = chat_template
        inner = getattr(engine, "engine", None)
        self.tokenizer = tokenizer or getattr(engine, "tokenizer", None) or getattr(inner, "tokenizer", None)
        self._make_params = sampling_params or _serving_params

    def _params(self, n: int, seed: int | None) -> Any:
        stop = list(self.format.stop) or None
        return self._make_params(n=n, temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens,
                                 stop=stop, seed=seed, logprobs=0)

    async def sample(self, prompt: Prompt, n: int, seed: int | None = None) -> list[Answer]:
        params = self._params(n, seed)
        if prompt.is_chat and hasattr(self.engine, "submit_chat"):
            output = self.engine.submit_chat(list(prompt.messages or ()), params)
        else:
            output = self.engine.submit(self._as_engine_input(prompt), params)
        if inspect.isawaitable(output):
            output = await output
        answers = []
        for completion in output.outputs:
            text = completion.text
            if not text and completion.token_ids and self.tokenizer is not None and not getattr(self.engine, "takes_text", False):
                text = self.tokenizer.decode(list(completion.token_ids))
            answers.append(Answer(text, len(completion.token_ids), float(completion.cumulative_logprob)))
        return answers

    def _as_engine_input(self, prompt: Prompt) -> Any:
        if not prompt.is_chat:
            if getattr(self.engine, "takes_text", False) or self._engine_tokenizes():
                return prompt.text
            if self.tokenizer is None:
                raise ValueError("ProofWriter needs a tokenizer: the engine takes token ids and has none")
            return list(self.tokenizer.encode(prompt.text))
        if self.chat_template is None:
            raise ChatTemplateError(
                f"prompt format {self.format.name!r} is a chat format and no chat template was loaded; "
                "use a checkpoint with one, or --prompt-format deepseek-v1.5")
        if self.tokenizer is None:
            raise ValueError("ProofWriter needs the model's tokenizer to encode a chat prompt")
        text = self.chat_template.render(list(prompt.messages or ()), add_generation_prompt=True)
        # the template wrote its own bos token: encode without adding another (as transformers does)
        return list(self.tokenizer.encode(text, add_bos=False))

    def _engine_tokenizes(self) -> bool:
        inner = getattr(self.engine, "engine", None)
        return getattr(self.engine, "tokenizer", None) is not None or getattr(inner, "tokenizer", None) is not None
