"""OpenAI-compatible serving of our engine: `prover serve-model --model DIR`.

    GET  /v1/models             the one served model (its name: --served-model-name, default the directory's name)
    POST /v1/completions        prompt (text, token ids, or a list of either), n, temperature, top_p, top_k,
                                max_tokens, stop, seed, logprobs (0-20), stream, ignore_eos
    POST /v1/chat/completions   messages rendered with the checkpoint's chat template (or --chat-template),
                                n, temperature, top_p, max_tokens / max_completion_tokens, stop, seed,
                                logprobs + top_logprobs, stream, chat_template_kwargs
    GET  /health

What a stock `openai` client, vLLM's clients and `--policy-url` expect: the same request and
answer shapes, and errors as `{"error": {"message", "type", "param", "code"}}` with 400 for a
bad request (a prompt longer than the context says "maximum context length", as vLLM does),
404 for an unknown model, 500 for an engine failure. Each choice also carries `token_ids` (as
vLLM's `return_token_ids` does), so a client can count and align tokens exactly.

Every request goes to one `AsyncEngine`, whose step loop batches all callers in flight
(continuous batching); `n` samples of a prompt share its prefix in the cache. `seed` makes a
request's samples reproducible whatever else is in the batch. Streaming (`stream: true`) is
answered as server-sent events in the OpenAI chunk format, one chunk per finished choice then
`[DONE]`: the engine hands a request back when it is done, not token by token.

On Ray Serve by default (one replica owning the model; `prover serve-model`), bound to
127.0.0.1: there is no authentication, so expose it only on a trusted network.
`build_model_app(ModelBackend(...))` gives the same app without Ray (tests, embedding).
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

_BACKEND_LOCK = threading.RLock()
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8100
MAX_N = 256
MAX_LOGPROBS = 20
MAX_PROMPTS_PER_REQUEST = 256


# ---------------------------------------------------------------------------- the model behind


@dataclass
class ModelBackend:
    """What the app serves: an engine with `async submit(prompt, params)`, its tokenizer, the
    name clients ask for, and the chat template (None: chat requests are refused)."""

    engine: Any
    tokenizer: Any
    name: str
    chat_template: Any = None
    max_model_len: int | None = None
    created: int = 0

    @classmethod
    def load(cls, model_dir: str | Path, *, name: str | None = None, chat_template: str | None = None) -> "ModelBackend":
        from prover.agent import load_local_engine
        from search.chat_template import ChatTemplate, ChatTemplateError

        engine = load_local_engine(Path(model_dir))
        try:
            template = ChatTemplate.from_dir(model_dir, chat_template)
        except ChatTemplateError:
            if chat_template is not None:
                raise
            template = None  # a completion-only model: /v1/chat/completions answers with why not
        inner = getattr(engine, "engine", engine)
        return cls(engine, inner.tokenizer, name or Path(model_dir).resolve().name, template,
                   getattr(inner, "max_model_len", None), int(time.time()))


@dataclass
class BackendFactory:
    """Builds the backend inside the Serve replica (picklable: holds only settings)."""

    model_dir: str
    name: str | None = None
    chat_template: str | None = None

    def __call__(self) -> ModelBackend:
        """Loaded once per process (the Serve replica loads it when it starts, before it is
        marked ready; requests then find it here)."""
        key = (self.model_dir, self.name, self.chat_template)
        with _BACKEND_LOCK:
            if key not in _LOADED:
                _LOADED[key] = ModelBackend.load(self.model_dir, name=self.name, chat_template=self.chat_template)
            return _LOADED[key]


_LOADED: dict[tuple, ModelBackend] = {}


# ---------------------------------------------------------------------------- request bodies

StopField = str | list[str] | None


class _Sampling(BaseModel):
    model_config = ConfigDict(extra="ignore")  # clients send fields we do not use (user, …)

    model: str | None = None
    n: int = Field(1, ge=1, le=MAX_N)
    temperature: float | None = Field(1.0, ge=0, le=2)
    top_p: float | None = Field(1.0, gt=0, le=1)
    top_k: int | None = Field(-1)
    stop: StopField = None
    seed: int | None = None
    stream: bool = False
    ignore_eos: bool = False
    presence_penalty: float | None = 0.0
    frequency_penalty: float | None = 0.0


class CompletionRequest(_Sampling):
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int | None = Field(16, ge=1)
    logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)
    echo: bool = False
    best_of: int | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(_Sampling):
    messages: list[ChatMessage] = Field(..., min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)
    add_generation_prompt: bool = True
    chat_template_kwargs: dict[str, Any] | None = None  # vLLM's: extra template variables (enable_thinking, …)


class OpenAIError(Exception):
    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code

    def response(self) -> JSONResponse:
        return JSONResponse({"error": {"message": self.message, "type": self.type, "param": self.param,
                                       "code": self.code}}, status_code=self.status)


# ---------------------------------------------------------------------------- the app


def build_model_app(backend: ModelBackend | Callable[[], ModelBackend]) -> FastAPI:
    """The OpenAI-compatible app over `backend` (or a factory, called on first use)."""
    app = FastAPI(title="Lean prover model server (OpenAI-compatible)", version="0.1.0")
    app.state.backend = backend if isinstance(backend, ModelBackend) else None
    app.state.backend_factory = None if isinstance(backend, ModelBackend) else backend

    def get_backend() -> ModelBackend:
        with _BACKEND_LOCK:
            if app.state.backend is None:
                app.state.backend = app.state.backend_factory()
        return app.state.backend

    @app.exception_handler(OpenAIError)
    async def _openai_error(request: Request, exc: OpenAIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}"
                            for e in exc.errors()) or "invalid request"
        return OpenAIError(400, message, param=where or None).response()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        backend = get_backend()
        return {"object": "list", "data": [{"id": backend.name, "object": "model", "created": backend.created,
                                            "owned_by": "lean-prover", "max_model_len": backend.max_model_len}]}

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest) -> Any:
        backend = get_backend()
        _check_common(backend, body)
        if body.echo:
            raise OpenAIError(400, "echo is not supported by this server", param="echo")
        if body.best_of is not None and body.best_of != body.n:
            raise OpenAIError(400, "best_of is not supported by this server (ask for n samples)", param="best_of")
        prompts = _prompts(body.prompt)
        params = _params(body, body.max_tokens or 16, body.logprobs)
        outputs = await _generate(backend, prompts, params)
        choices, usage = [], _usage()
        for p_index, output in enumerate(outputs):
            _count(usage, output)
            for sample in output.outputs:
                choices.append({"index": p_index * body.n + sample.index, "text": sample.text,
                                "logprobs": _completion_logprobs(backend, sample) if body.logprobs is not None else None,
                                "finish_reason": sample.finish_reason, "token_ids": list(sample.token_ids)})
        answer = {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()),
                  "model": backend.name, "choices": choices, "usage": usage}
        return _stream_completion(answer) if body.stream else answer

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest) -> Any:
        backend = get_backend()
        _check_common(backend, body)
        if backend.chat_template is None:
            raise OpenAIError(400, f"model {backend.name!r} has no chat template (none in its tokenizer_config.json); "
                                   "use /v1/completions, or start the server with --chat-template FILE",
                              param="messages")
        from search.chat_template import ChatTemplateError

        messages = [{"role": m.role, "content": _text_content(m.content)} for m in body.messages]
        try:
            extra = {k: v for k, v in (body.chat_template_kwargs or {}).items() if k not in ("messages",)}
            text = backend.chat_template.render(messages, add_generation_prompt=body.add_generation_prompt, **extra)
        except ChatTemplateError as exc:
            raise OpenAIError(400, str(exc), param="messages") from None
        ids = list(backend.tokenizer.encode(text, add_bos=False))  # the template wrote its bos
        top = body.top_logprobs if body.top_logprobs is not None else 0
        params = _params(body, body.max_completion_tokens or body.max_tokens or _room(backend, ids),
                         top if body.logprobs else None)
        (output,) = await _generate(backend, [ids], params)
        usage = _count(_usage(), output)
        choices = [{"index": s.index, "message": {"role": "assistant", "content": s.text},
                    "logprobs": _chat_logprobs(backend, s) if body.logprobs else None,
                    "finish_reason": s.finish_reason, "token_ids": list(s.token_ids)} for s in output.outputs]
        answer = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                  "model": backend.name, "choices": choices, "usage": usage}
        return _stream_chat(answer) if body.stream else answer

    return app


def _check_common(backend: ModelBackend, body: _Sampling) -> None:
    if body.model is not None and body.model != backend.name:
        raise OpenAIError(404, f"The model `{body.model}` does not exist; this server serves `{backend.name}`.",
                          type="NotFoundError", param="model", code="model_not_found")
    if body.presence_penalty or body.frequency_penalty:
        raise OpenAIError(400, "presence_penalty and frequency_penalty are not supported by this server",
                          param="presence_penalty" if body.presence_penalty else "frequency_penalty")


def _prompts(prompt: Any) -> list[Any]:
    if isinstance(prompt, str):
        prompts: list[Any] = [prompt]
    elif prompt and all(isinstance(p, int) for p in prompt):
        prompts = [list(prompt)]
    else:
        prompts = list(prompt)
    if not prompts:
        raise OpenAIError(400, "prompt is empty", param="prompt")
    if len(prompts) > MAX_PROMPTS_PER_REQUEST:
        raise OpenAIError(400, f"{len(prompts)} prompts in one request; at most {MAX_PROMPTS_PER_REQUEST}", param="prompt")
    return prompts


def _params(body: _Sampling, max_tokens: int, logprobs: int | None) -> Any:
    from serving import SamplingParams

    try:
        return SamplingParams(n=body.n, temperature=1.0 if body.temperature is None else body.temperature,
                              top_p=1.0 if body.top_p is None else body.top_p,
                              top_k=-1 if body.top_k is None else body.top_k, max_tokens=max_tokens,
                              stop=body.stop, seed=body.seed, logprobs=logprobs, ignore_eos=body.ignore_eos)
    except ValueError as exc:
        raise _as_openai_error(exc) from None


def _room(backend: ModelBackend, ids: list[int]) -> int:
    """Chat without max_tokens: generate up to the end of the context (as vLLM does)."""
    limit = backend.max_model_len or (len(ids) + 16)
    return max(1, limit - len(ids))


async def _generate(backend: ModelBackend, prompts: list[Any], params: Any) -> list[Any]:
    import asyncio

    from serving import PromptTooLongError

    try:
        return list(await asyncio.gather(*(backend.engine.submit(p, params) for p in prompts)))
    except PromptTooLongError as exc:
        raise OpenAIError(400, f"This model's maximum context length is {backend.max_model_len} tokens; {exc}",
                          param="prompt", code="context_length_exceeded") from None
    except ValueError as exc:
        raise _as_openai_error(exc) from None
    except Exception as exc:  # the engine failed this request; the server goes on
        raise OpenAIError(500, f"generation failed: {type(exc).__name__}: {exc}", type="server_error") from None


def _as_openai_error(exc: ValueError) -> OpenAIError:
    """The engine's ValueErrors start with the offending field: `max_tokens: …`."""
    message = str(exc)
    field = message.split(":", 1)[0] if ":" in message and " " not in message.split(":", 1)[0] else None
    return OpenAIError(400, message, param=field)


def _text_content(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if part.get("type") != "text":
            raise OpenAIError(400, f"content parts of type {part.get('type')!r} are not supported (text only)",
                              param="messages")
        parts.append(str(part.get("text", "")))
    return "".join(parts)


def _usage() -> dict[str, int]:
    return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def _count(usage: dict[str, int], output: Any) -> dict[str, int]:
    prompt = len(output.prompt_token_ids)
    generated = sum(len(s.token_ids) for s in output.outputs)
    usage["prompt_tokens"] += prompt
    usage["completion_tokens"] += generated
    usage["total_tokens"] += prompt + generated
    return usage


def _token_text(backend: ModelBackend, token_id: int) -> str:
    return backend.tokenizer.decode([token_id], skip_special_tokens=False)


def _completion_logprobs(backend: ModelBackend, sample: Any) -> dict[str, Any]:
    tokens = [_token_text(backend, t) for t in sample.token_ids]
    offsets, pos = [], 0
    for piece in tokens:
        offsets.append(pos)
        pos += len(piece)
    top = [{_token_text(backend, t): lp for t, lp in alternatives.items()} for alternatives in (sample.top_logprobs or [])]
    return {"tokens": tokens, "token_logprobs": list(sample.logprobs or []), "top_logprobs": top or None,
            "text_offset": offsets}


def _chat_logprobs(backend: ModelBackend, sample: Any) -> dict[str, Any]:
    content = []
    for i, (token_id, logprob) in enumerate(zip(sample.token_ids, sample.logprobs or [])):
        text = _token_text(backend, token_id)
        alternatives = (sample.top_logprobs or [{}] * (i + 1))[i] if sample.top_logprobs else {}
        content.append({"token": text, "logprob": logprob, "bytes": list(text.encode()),
                        "top_logprobs": [{"token": _token_text(backend, t), "logprob": lp,
                                          "bytes": list(_token_text(backend, t).encode())}
                                         for t, lp in alternatives.items()]})
    return {"content": content}


def _sse(chunks: list[dict[str, Any]]) -> StreamingResponse:
    def events() -> Any:
        for chunk in chunks:
            yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


def _stream_completion(answer: dict[str, Any]) -> StreamingResponse:
    head = {k: answer[k] for k in ("id", "object", "created", "model")}
    return _sse([{**head, "choices": [choice]} for choice in answer["choices"]])


def _stream_chat(answer: dict[str, Any]) -> StreamingResponse:
    head = {"id": answer["id"], "object": "chat.completion.chunk", "created": answer["created"], "model": answer["model"]}
    chunks = []
    for choice in answer["choices"]:
        chunks.append({**head, "choices": [{"index": choice["index"], "logprobs": choice["logprobs"],
                                            "delta": {"role": "assistant", "content": choice["message"]["content"]},
                                            "finish_reason": None}]})
        chunks.append({**head, "choices": [{"index": choice["index"], "delta": {},
                                            "finish_reason": choice["finish_reason"]}]})
    return _sse(chunks)


# ---------------------------------------------------------------------------- Ray Serve


def deploy_model_server(model_dir: str | Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                        name: str | None = None, chat_template: str | None = None, num_gpus: float = 0.0,
                        app_name: str = "model-server", blocking: bool = False) -> str:
    """Serve the model on Ray Serve (Ray must be initialised); returns the base URL (…/v1)."""
    from ray import serve

    factory = BackendFactory(str(Path(model_dir).resolve()), name, chat_template)
    app = build_model_app(factory)

    @serve.deployment(name="OpenAIModelServer", num_replicas=1, max_ongoing_requests=1024,
                      ray_actor_options={"num_cpus": 0, "num_gpus": num_gpus})
    @serve.ingress(app)
    class OpenAIModelServer:
        """One replica owns the engine; its step loop batches every request in flight."""

        def __init__(self) -> None:
            factory()  # load the model now: the replica is ready only once it can answer

    serve.start(http_options={"host": host, "port": port})
    serve.run(OpenAIModelServer.bind(), name=app_name, route_prefix="/", blocking=blocking)
    return f"http://{host}:{port}/v1"
