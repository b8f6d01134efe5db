"""The OpenAI-compatible server over our engine, spoken to by the stock `openai` client, and the
`--policy-url` client (search.openai_policy) against it and against a flaky server."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import openai
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from prover.openai_server import ModelBackend, build_model_app
from search.openai_policy import OpenAIEngine, PolicyServerError, PromptTooLong, RequestParams

REPO = Path(__file__).resolve().parents[2]
CHECKPOINT = REPO / "checkpoints" / "policy"
TEMPLATE = "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}" \
           "{% if add_generation_prompt %}[assistant]{% endif %}"
PROMPT = ("Complete the following Lean 4 code:\n\n```lean4\nimport Mathlib\n\n"
          "theorem t (x y : ℝ) : 2 * x * y ≤ x ^ 2 + y ^ 2 := by\n  /- tactic state:\n    x y : ℝ\n"
          "    ⊢ 2 * x * y ≤ x ^ 2 + y ^ 2\n  -/\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(app: FastAPI):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def backend():
    import torch

    torch.set_num_threads(1)
    backend = ModelBackend.load(CHECKPOINT, chat_template=TEMPLATE)
    yield backend
    backend.engine.shutdown()


@pytest.fixture(scope="module")
def base_url(backend):
    with serving(build_model_app(backend)) as url:
        yield url


@pytest.fixture
def client(base_url):
    return openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)


def test_models_lists_the_served_checkpoint(client, backend):
    (model,) = client.models.list().data
    assert model.id == "policy" == backend.name and model.owned_by == "lean-prover"


def test_completions_n_stop_seed(client):
    def ask(seed):
        return client.completions.create(model="policy", prompt=PROMPT, n=4, max_tokens=24, temperature=1.0,
                                         top_p=0.95, stop=["\n"], seed=seed)

    first = ask(11)
    assert [c.index for c in first.choices] == [0, 1, 2, 3]
    assert all("\n" not in c.text for c in first.choices)
    assert {c.finish_reason for c in first.choices} <= {"stop", "length"}
    assert [c.text for c in ask(11).choices] == [c.text for c in first.choices]  # same seed, same samples
    others = {tuple(c.text for c in ask(seed).choices) for seed in (12, 13, 14)}
    assert others - {tuple(c.text for c in first.choices)}  # other seeds draw other samples
    assert first.usage.completion_tokens == sum(len(c.model_extra["token_ids"]) for c in first.choices)
    assert first.usage.prompt_tokens > 40


def test_completion_logprobs_are_consistent(client, backend):
    answer = client.completions.create(model="policy", prompt=PROMPT, max_tokens=12, temperature=0, logprobs=3,
                                       seed=1)
    (choice,) = answer.choices
    lp = choice.logprobs
    ids = choice.model_extra["token_ids"]
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset) == len(ids) > 2
    assert "".join(lp.tokens).startswith(choice.text) and backend.tokenizer.decode(ids).startswith(choice.text)
    assert lp.text_offset == [len("".join(lp.tokens[:i])) for i in range(len(ids))]
    for token, value, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs):
        assert value <= 0 and len(top) <= 3
        assert top[token] == pytest.approx(value) and value == pytest.approx(max(top.values()))  # greedy


def test_batch_of_prompts_and_token_id_prompts(client, backend):
    ids = backend.tokenizer.encode(PROMPT)
    by_text = client.completions.create(model="policy", prompt=[PROMPT, "theorem"], n=2, max_tokens=6, seed=5)
    assert [c.index for c in by_text.choices] == [0, 1, 2, 3]
    by_ids = client.completions.create(model="policy", prompt=ids, n=2, max_tokens=6, seed=5)
    assert [c.text for c in by_ids.choices] == [c.text for c in by_text.choices[:2]]


def test_chat_is_the_template_then_a_completion(client, backend):
    messages = [{"role": "system", "content": "You prove theorems."}, {"role": "user", "content": PROMPT}]
    chat = client.chat.completions.create(model="policy", messages=messages, n=2, max_tokens=10, seed=3,
                                          logprobs=True, top_logprobs=2)
    rendered = backend.chat_template.render(messages)
    assert rendered.startswith("<|bos|>[system] You prove theorems.\n[user] ") and rendered.endswith("[assistant]")
    ids = backend.tokenizer.encode(rendered, add_bos=False)
    plain = client.completions.create(model="policy", prompt=ids, n=2, max_tokens=10, seed=3)
    assert [c.message.content for c in chat.choices] == [c.text for c in plain.choices]
    assert all(c.message.role == "assistant" for c in chat.choices)
    content = chat.choices[0].logprobs.content
    assert content and all(len(item.top_logprobs) <= 2 and item.logprob <= 0 for item in content)


def test_streaming_gives_the_same_text(client):
    plain = client.completions.create(model="policy", prompt=PROMPT, n=2, max_tokens=8, seed=9)
    chunks = list(client.completions.create(model="policy", prompt=PROMPT, n=2, max_tokens=8, seed=9, stream=True))
    streamed = {c.choices[0].index: c.choices[0].text for c in chunks}
    assert streamed == {c.index: c.text for c in plain.choices}
    chat = list(client.chat.completions.create(model="policy", messages=[{"role": "user", "content": "x"}],
                                               max_tokens=5, seed=2, stream=True))
    assert chat[-1].choices[0].finish_reason in ("stop", "length")
    text = "".join(c.choices[0].delta.content or "" for c in chat)
    again = client.chat.completions.create(model="policy", messages=[{"role": "user", "content": "x"}],
                                           max_tokens=5, seed=2)
    assert text == again.choices[0].message.content


def test_errors_are_openai_style(client, base_url):
    import httpx

    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.completions.create(model="other", prompt="x", max_tokens=2)
    with pytest.raises(openai.BadRequestError, match="temperature"):
        client.completions.create(model="policy", prompt="x", max_tokens=2, temperature=-1)
    with pytest.raises(openai.BadRequestError, match="maximum context length"):
        client.completions.create(model="policy", prompt="x " * 1500, max_tokens=2)
    with pytest.raises(openai.BadRequestError, match="not supported"):
        client.completions.create(model="policy", prompt="x", max_tokens=2, echo=True)
    body = httpx.post(f"{base_url}/completions", json={"model": "policy", "prompt": "x", "n": 0}).json()
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["param"] == "n"


def test_chat_without_a_template_says_why(backend):
    bare = ModelBackend(backend.engine, backend.tokenizer, "bare", None, backend.max_model_len)
    with serving(build_model_app(bare)) as url:
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
        with pytest.raises(openai.BadRequestError, match="no chat template"):
            client.chat.completions.create(model="bare", messages=[{"role": "user", "content": "x"}])


def test_concurrent_callers_are_batched(client, backend):
    steps_before = backend.engine.stats.num_steps
    sizes_before = len(backend.engine.stats.batch_sizes)

    def call(i):
        return client.completions.create(model="policy", prompt=PROMPT + "  " * i, max_tokens=16, seed=i,
                                         extra_body={"ignore_eos": True})

    threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sizes = list(backend.engine.stats.batch_sizes)[sizes_before:]
    assert backend.engine.stats.num_steps > steps_before and max(sizes) > 1


# ---------------------------------------------------------------------------- the --policy-url client


def test_policy_client_matches_the_engine_in_process(base_url, backend):
    from serving import SamplingParams

    events = []
    engine = OpenAIEngine(base_url, on_request=lambda *event: events.append(event))

    async def both():
        try:
            remote = await engine.submit(PROMPT, RequestParams(n=3, temperature=1.0, top_p=0.95, max_tokens=20,
                                                               stop=["```"], seed=21, logprobs=0))
        finally:
            await engine.aclose()
        local = await backend.engine.submit(PROMPT, SamplingParams(n=3, temperature=1.0, top_p=0.95, max_tokens=20,
                                                                   stop=["```"], seed=21, logprobs=0))
        return remote, local

    remote, local = asyncio.run(both())
    assert engine.model == "policy"  # asked the server which model it serves
    for r, loc in zip(remote.outputs, local.outputs):
        assert (r.text, r.token_ids) == (loc.text, loc.token_ids)
        assert r.cumulative_logprob == pytest.approx(loc.cumulative_logprob, abs=1e-4)
        assert r.text_offsets[0] == 0 and len(r.text_offsets) == len(r.token_ids)
    assert [e[:2] for e in events] == [("/models", "ok"), ("/completions", "ok")]
    assert engine.stats.requests == 2 and engine.stats.failures == 0


def test_policy_client_retries_then_reports_errors():
    app = FastAPI()
    calls = {"n": 0}

    @app.get("/v1/models")
    def models():
        return {"object": "list", "data": [{"id": "m", "object": "model"}]}

    @app.post("/v1/completions")
    def completions(body: dict):
        calls["n"] += 1
        if body["prompt"] == "busy" and calls["n"] < 3:
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=503)
        if body["prompt"] == "long":
            return JSONResponse({"error": {"message": "This model's maximum context length is 8 tokens"}}, 400)
        if body["prompt"] == "bad":
            return JSONResponse({"error": {"message": "top_p must be in (0, 1]"}}, 400)
        if body["prompt"] == "down":
            return JSONResponse({"error": {"message": "still down"}}, 503)
        return {"id": "x", "choices": [{"index": 0, "text": "ok", "finish_reason": "stop",
                                        "logprobs": {"tokens": ["o", "k"], "token_logprobs": [-0.5, -0.25]}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 2}}

    events = []
    with serving(app) as url:
        engine = OpenAIEngine(url, "m", max_retries=2, backoff_s=0.01, on_request=lambda *e: events.append(e))

        async def run(prompt):
            return await engine.submit(prompt, RequestParams(max_tokens=2, logprobs=0))

        async def scenario():
            try:
                busy = await run("busy")
                errors = []
                for prompt in ("long", "bad", "down"):
                    try:
                        await run(prompt)
                    except PolicyServerError as exc:
                        errors.append(exc)
                return busy, errors
            finally:
                await engine.aclose()

        busy, (long, bad, down) = asyncio.run(scenario())
    (sample,) = busy.outputs
    assert sample.text == "ok" and sample.token_ids == [-1, -1] and sample.cumulative_logprob == -0.75
    assert sample.text_offsets == [0, 1]
    assert isinstance(long, PromptTooLong) and not isinstance(bad, PromptTooLong) and "top_p" in str(bad)
    assert "after 3 tries" in str(down) and "still down" in str(down)
    assert [(e[1], e[3]) for e in events] == [("ok", 2), ("error", 0), ("error", 0), ("error", 2)]
    assert engine.stats.retries == 4 and engine.stats.failures == 3

    unreachable = OpenAIEngine(f"http://127.0.0.1:{free_port()}/v1", "m", max_retries=1, backoff_s=0.01)
    with pytest.raises(PolicyServerError, match="Is the server running"):
        asyncio.run(unreachable.submit("x", RequestParams()))


def test_tactic_policy_over_the_server_equals_the_policy_in_process(base_url, backend):
    """Best-first and RMaxTS ask `ModelPolicy`; over --policy-url it gets the same candidates
    (greedy here, so both sides sample the same), log-probs aligned by the server's offsets."""
    from lean_env.theorem import Theorem
    from lean_env.types import TacticState
    from search.candidates import PolicyRequest
    from search.model_policy import ModelPolicy

    theorem = Theorem("t", "import Mathlib\n", "theorem t (x : ℝ) (h₀ : 3 * x + 7 = 22) : x = 5 := by")
    request = PolicyRequest(theorem, [], TacticState("x : ℝ\nh₀ : 3 * x + 7 = 22\n⊢ x = 5", 0))
    remote_engine = OpenAIEngine(base_url, "policy")

    async def both():
        remote = ModelPolicy(remote_engine, samples=2, temperature=0, sampling_params=RequestParams)
        local = ModelPolicy(backend.engine, samples=2, temperature=0)
        try:
            return await remote.propose([request], 4), await local.propose([request], 4)
        finally:
            await remote_engine.aclose()

    (remote,), (local,) = asyncio.run(both())
    assert remote and [c.tactic for c in remote] == [c.tactic for c in local]
    assert [c.tokens for c in remote] == [c.tokens for c in local]
    for r, loc in zip(remote, local):
        assert r.logprob == pytest.approx(loc.logprob, abs=1e-3) and r.continuation == loc.continuation


class _Recorder:
    def __init__(self):
        self.events = []

    def inc(self, value=1.0, tags=None):
        self.events.append((value, tags))

    def observe(self, value, tags=None):
        self.events.append((value, tags))

    def set(self, value, tags=None):
        self.events.append((value, tags))


def test_agent_with_policy_url_proves_and_meters_its_requests(base_url):
    from lean_env.theorem import parse_lean_file
    from prover.agent import AgentSolver
    from prover.config import ProverConfig
    from prover.metrics import ProverMetrics

    config = ProverConfig.build(policy="model", policy_url=base_url, search_options={
        "algorithm": "whole-proof", "seed": 2, "model_samples": 2, "budget": {"time_limit_s": 60}})
    assert config.policy.model_dir is None  # the server has the model: nothing is loaded here
    metrics = ProverMetrics(*[_Recorder() for _ in ProverMetrics.__dataclass_fields__])
    solver = AgentSolver(config)
    solver.attach_metrics(metrics)
    theorem = next(s.theorem for s in parse_lean_file((REPO / "examples" / "demo.lean").read_text()).sites
                   if s.theorem.name == "demo_numerals")
    try:
        record = solver.solve(theorem)
    finally:
        solver.close()
    assert record.status == "proved" and record.proof == "norm_num"  # stored dedented
    assert ({"endpoint": "/completions", "outcome": "ok"}) in [tags for _, tags in metrics.policy_requests.events]
    latencies = [value for value, tags in metrics.policy_request_latency_s.events if tags == {"endpoint": "/completions"}]
    assert latencies and all(0 < value < 60 for value in latencies)


def test_chat_format_whole_proofs_are_the_same_in_process_and_over_http(base_url, backend):
    """A chat prompt format in-process (our template rendering + our engine) and over
    --policy-url (the server's chat endpoint) samples the same answers for the same seed."""
    from lean_env.theorem import Theorem
    from search.prompt_formats import get_format
    from search.proof_writer import ProofWriter

    theorem = Theorem("t", "import Mathlib\n", "theorem t (x : ℝ) (h₀ : 3 * x + 7 = 22) : x = 5 := by")
    fmt = get_format("kimina")
    prompt = fmt.initial(theorem)
    remote_engine = OpenAIEngine(base_url, "policy")

    async def both():
        local = ProofWriter(backend.engine, fmt, chat_template=backend.chat_template, max_tokens=24)
        remote = ProofWriter(remote_engine, fmt, max_tokens=24, sampling_params=RequestParams)
        try:
            return await local.sample(prompt, 3, seed=8), await remote.sample(prompt, 3, seed=8)
        finally:
            await remote_engine.aclose()

    local, remote = asyncio.run(both())
    assert [(a.text, a.tokens) for a in local] == [(a.text, a.tokens) for a in remote]
    assert local[0].logprob == pytest.approx(remote[0].logprob, abs=1e-3)


def test_chat_template_kwargs_reach_the_template(backend):
    from search.chat_template import ChatTemplate

    templated = ModelBackend(backend.engine, backend.tokenizer, "think",
                             ChatTemplate("{{ bos_token }}{% if enable_thinking is defined and not enable_thinking %}"
                                          "NOTHINK{% endif %}{{ messages[0]['content'] }}", {"bos_token": "<|bos|>"}),
                             backend.max_model_len)
    with serving(build_model_app(templated)) as url:
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
        messages = [{"role": "user", "content": "theorem"}]
        plain = client.chat.completions.create(model="think", messages=messages, max_tokens=4, seed=1)
        off = client.chat.completions.create(model="think", messages=messages, max_tokens=4, seed=1,
                                             extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    assert off.usage.prompt_tokens > plain.usage.prompt_tokens  # NOTHINK was rendered into the prompt


def test_best_first_with_a_seed_is_the_same_over_http_and_in_process(base_url, backend):
    from lean_env import open_env
    from lean_env.theorem import parse_lean_file
    from search import SearchConfig, aprove
    from search.policy import make_search_policy

    theorems = {s.theorem.name: s.theorem for s in parse_lean_file((REPO / "examples" / "demo.lean").read_text()).sites}
    config = SearchConfig.model_validate({"algorithm": "best-first", "seed": 4, "model_samples": 4,
                                          "budget": {"max_expansions": 6, "time_limit_s": 120}})
    remote_engine = OpenAIEngine(base_url, "policy")
    env = open_env("embedded", pool_size=1)

    async def run(engine, **options):
        policy = make_search_policy("model", config, engine=engine, **options)
        try:
            return [await aprove(theorems[name], env, policy, config) for name in ("demo_conjunction", "demo_remainder")]
        finally:
            if engine is remote_engine:
                await remote_engine.aclose()

    try:
        remote = asyncio.run(run(remote_engine, sampling_params=RequestParams))
        local = asyncio.run(run(backend.engine))
    finally:
        env.close()
    assert [(r.status, r.proof, r.tokens, r.expansions) for r in remote] == \
        [(r.status, r.proof, r.tokens, r.expansions) for r in local]
    assert any(r.status == "proved" for r in remote)
