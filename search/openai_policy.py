"""A client of any OpenAI-compatible server (vLLM, SGLang, `prover serve-model`) that stands in
for our engine: `--policy-url URL` makes the searches sample from it instead of loading a model.

`OpenAIEngine.submit(prompt, params)` has the engine's shape (a `SamplingParams`-like object in,
an object with `.outputs[i].text / token_ids / logprobs / cumulative_logprob` out), so the
tactic policy (`search.model_policy.ModelPolicy`) and the whole-proof writer run over HTTP
unchanged; `submit_chat(messages, params)` sends a conversation to `/v1/chat/completions`, where
the server applies the model's chat template.

Transport errors, timeouts and the answers that mean "try again" (408, 409, 429, 5xx) are
retried with exponential backoff; any other error answer raises `PolicyServerError` with the
server's own message. A prompt the server finds too long for the model's context raises
`PromptTooLong` (the policy skips that request, the search goes on). Every request reports its
endpoint, outcome, latency and retries to `on_request` (the prover's metrics) and to `stats`.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

log = logging.getLogger(__name__)

RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}
DEFAULT_TIMEOUT_S = 600.0  # one request: a long whole proof from a big model takes minutes
DEFAULT_RETRIES = 3


class PolicyServerError(RuntimeError):
    """The policy server refused or failed a request; the message carries its answer."""


class PromptTooLong(PolicyServerError):
    """The server says the prompt leaves no room in the model's context."""

    prompt_too_long = True


@dataclass
class RequestParams:
    """The sampling settings a request carries (the fields of `serving.SamplingParams` that the
    OpenAI API knows), for callers that do not want to import the engine."""

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    stop: list[str] | str | None = None
    seed: int | None = None
    logprobs: int | None = None
    top_k: int = -1


@dataclass
class Sample:
    """One choice, shaped like `serving.CompletionOutput`. `token_ids` holds the ids when the
    server returns them (ours does), else one placeholder (-1) per generated token, so token
    counts hold either way; `text_offsets[i]` is where token i starts in `text`."""

    index: int
    text: str
    token_ids: list[int]
    cumulative_logprob: float
    logprobs: list[float] | None
    finish_reason: str | None
    text_offsets: list[int] | None = None


@dataclass
class Generation:
    """A request's answer, shaped like `serving.RequestOutput`."""

    request_id: str
    outputs: list[Sample]
    prompt_tokens: int = 0


@dataclass
class ClientStats:
    requests: int = 0
    failures: int = 0
    retries: int = 0
    latency_s: float = 0.0
    completion_tokens: int = 0

    def to_json(self) -> dict[str, Any]:
        mean = self.latency_s / self.requests if self.requests else 0.0
        return {"requests": self.requests, "failures": self.failures, "retries": self.retries,
                "mean_latency_s": round(mean, 4), "completion_tokens": self.completion_tokens}


RequestHook = Callable[[str, str, float, int], None]  # (endpoint, "ok" | "error", latency s, retries)


@dataclass
class OpenAIEngine:
    """`base_url` ends in `/v1` (as the `openai` package takes it); `model` defaults to the first
    model the server lists."""

    base_url: str
    model: str | None = None
    api_key: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_RETRIES
    backoff_s: float = 0.5
    on_request: RequestHook | None = None
    stats: ClientStats = field(default_factory=ClientStats)
    takes_text = True  # the server tokenizes: send prompts as text (ModelPolicy reads this)
    tokenizer = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"--policy-url {self.base_url}: expected an http(s) URL such as http://127.0.0.1:8000/v1")
        self._clients: dict[int, Any] = {}

    # ---- the engine's interface -------------------------------------------------------
    async def submit(self, prompt: str | Sequence[int], params: Any) -> Generation:
        body = {"model": await self.model_name(), "prompt": prompt if isinstance(prompt, str) else list(prompt),
                **_sampling_fields(params)}
        if getattr(params, "logprobs", None) is not None:
            body["logprobs"] = params.logprobs
        answer = await self._post("/completions", body)
        return Generation(answer.get("id", ""), [_completion_choice(c) for c in answer.get("choices", [])],
                          (answer.get("usage") or {}).get("prompt_tokens", 0))

    async def submit_chat(self, messages: Sequence[dict], params: Any) -> Generation:
        body = {"model": await self.model_name(), "messages": [dict(m) for m in messages], **_sampling_fields(params)}
        if getattr(params, "logprobs", None) is not None:
            body["logprobs"] = True
            body["top_logprobs"] = params.logprobs
        answer = await self._post("/chat/completions", body)
        return Generation(answer.get("id", ""), [_chat_choice(c) for c in answer.get("choices", [])],
                          (answer.get("usage") or {}).get("prompt_tokens", 0))

    async def model_name(self) -> str:
        if self.model is None:
            listed = await self.models()
            if not listed:
                raise PolicyServerError(f"{self.base_url}/models lists no model; pass --policy-model NAME")
            self.model = listed[0]
        return self.model

    async def models(self) -> list[str]:
        answer = await self._request("GET", "/models", None)
        return [m.get("id") for m in answer.get("data", []) if isinstance(m, dict) and m.get("id")]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    # ---- HTTP -------------------------------------------------------------------------
    def _client(self) -> Any:
        import httpx

        loop = id(asyncio.get_running_loop())  # an httpx client's connections belong to one loop
        client = self._clients.get(loop)
        if client is None:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s)),
                                       headers=headers)
            self._clients[loop] = client
        return client

    async def _post(self, path: str, body: dict) -> dict:
        return await self._request("POST", path, body)

    async def _request(self, method: str, path: str, body: dict | None) -> dict:
        import httpx

        url = self.base_url + path
        started = time.monotonic()
        retries = 0
        while True:
            problem: str
            try:
                response = await self._client().request(method, url, json=body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    self._record(path, "ok", started, retries)
                    answer = response.json()
                    self.stats.completion_tokens += (answer.get("usage") or {}).get("completion_tokens", 0) or 0
                    return answer
                message = _error_message(response)
                if response.status_code not in RETRY_STATUSES:
                    self._record(path, "error", started, retries)
                    error_type = PromptTooLong if _is_context_error(message) else PolicyServerError
                    raise error_type(f"{method} {url} answered {response.status_code}: {message}")
                problem = f"HTTP {response.status_code}: {message}"
            if retries >= self.max_retries:
                self._record(path, "error", started, retries)
                raise PolicyServerError(f"{method} {url} failed after {retries + 1} tries: {problem}. Is the server "
                                        "running and reachable (check --policy-url)?")
            delay = self.backoff_s * (2 ** retries) * (0.5 + random.random())
            log.warning("policy server %s: %s; retrying in %.1f s", url, problem, delay)
            retries += 1
            await asyncio.sleep(delay)

    def _record(self, endpoint: str, outcome: str, started: float, retries: int) -> None:
        latency = time.monotonic() - started
        self.stats.requests += 1
        self.stats.retries += retries
        self.stats.latency_s += latency
        if outcome != "ok":
            self.stats.failures += 1
        if self.on_request is not None:
            self.on_request(endpoint, outcome, latency, retries)

    def __getstate__(self) -> dict:  # clients are per process and loop: never pickled
        state = dict(self.__dict__)
        state["_clients"] = {}
        state["on_request"] = None
        return state


def _sampling_fields(params: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "n": params.n, "temperature": params.temperature, "top_p": params.top_p, "max_tokens": params.max_tokens,
    }
    stop = params.stop
    if stop:
        fields["stop"] = [stop] if isinstance(stop, str) else list(stop)
    if getattr(params, "seed", None) is not None:
        fields["seed"] = params.seed
    top_k = getattr(params, "top_k", -1)
    if isinstance(top_k, int) and top_k > 0:
        fields["top_k"] = top_k  # vLLM and SGLang take it as an extra field
    return fields


def _offsets(pieces: list[str]) -> list[int]:
    offsets, pos = [], 0
    for piece in pieces:
        offsets.append(pos)
        pos += len(piece)
    return offsets


def _completion_choice(choice: dict) -> Sample:
    text = choice.get("text") or ""
    logprobs = choice.get("logprobs") or {}
    values = logprobs.get("token_logprobs")
    pieces = logprobs.get("tokens")
    return _sample(choice, text, values, pieces)


def _chat_choice(choice: dict) -> Sample:
    text = (choice.get("message") or {}).get("content") or ""
    content = (choice.get("logprobs") or {}).get("content")
    values = [item.get("logprob", 0.0) for item in content] if content else None
    pieces = [item.get("token", "") for item in content] if content else None
    return _sample(choice, text, values, pieces)


def _sample(choice: dict, text: str, values: list | None, pieces: list | None) -> Sample:
    ids = choice.get("token_ids")
    count = len(ids) if isinstance(ids, list) else len(values) if values else 0
    token_ids = list(ids) if isinstance(ids, list) else [-1] * count
    logprobs = [float(v) if v is not None else 0.0 for v in values] if values else None
    return Sample(index=choice.get("index", 0), text=text, token_ids=token_ids,
                  cumulative_logprob=float(sum(logprobs)) if logprobs else 0.0, logprobs=logprobs,
                  finish_reason=choice.get("finish_reason"),
                  text_offsets=_offsets(pieces) if pieces and len(pieces) == count else None)


def _error_message(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:1000]
        if isinstance(error, str):
            return error[:1000]
        if data.get("message") or data.get("detail"):
            return str(data.get("message") or data.get("detail"))[:1000]
    return str(data)[:500]


def _is_context_error(message: str) -> bool:
    text = message.lower()
    return "context length" in text or "context window" in text or "leave no room" in text or \
        "too long" in text and "prompt" in text
