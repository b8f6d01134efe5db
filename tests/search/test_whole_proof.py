"""Whole-proof search: sampling, checking in the session, truncate-and-resume, error feedback,
budgets, the guard and re-verification; one real run on the shipped checkpoint."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from search_fakes import DONE, THEOREM, FakeEnv, FakeWorld, TablePolicy

from search import SearchConfig, aprove
from search.openai_policy import RequestParams
from search.policy import make_search_policy
from search.prompt_formats import get_format
from search.proof_writer import ProofWriter, request_seed
from search.whole_proof import WholeProofPolicy

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Choice:
    text: str
    token_ids: list = field(default_factory=lambda: [0, 0, 0])
    cumulative_logprob: float = -1.0


@dataclass
class Output:
    outputs: list


class ScriptedEngine:
    """Answers by the prompt's last line (completion) or last message (chat); records requests."""

    takes_text = True

    def __init__(self, script, chat: bool = False):
        self.script = script
        self.requests: list[tuple] = []
        if chat:
            self.submit_chat = self._submit_chat

    def _answer(self, key, params):
        for needle, texts in self.script:
            if needle in key:
                return Output([Choice(t) for t in texts[: params.n]])
        return Output([Choice("```")] * params.n)

    async def submit(self, prompt, params):
        self.requests.append(("text", prompt, params))
        return self._answer(prompt, params)

    async def _submit_chat(self, messages, params):
        self.requests.append(("chat", messages, params))
        return self._answer(messages[-1]["content"], params)


WORLD = FakeWorld(root="⊢ s0", moves={("⊢ s0", "step"): "⊢ s1", ("⊢ s1", "finish"): DONE,
                                      ("⊢ s0", "sorry"): DONE})


def _writer(engine, name="deepseek-v1.5"):
    return ProofWriter(engine, get_format(name), sampling_params=RequestParams, max_tokens=64)


def _config(**overrides):
    return SearchConfig.model_validate({"algorithm": "whole-proof", "model_samples": 2, "seed": 7, **overrides})


def test_truncate_and_resume_repairs_a_failed_proof_and_the_proof_is_reverified():
    engine = ScriptedEngine([
        ("tactic state:\n    ⊢ s1", ["  finish\n```"]),                     # the resumed prompt
        (":= by\n", ["  step\n  wrong\n  finish\n```", "  nonsense\n```"]),  # round 0
    ])
    env = FakeEnv(WORLD)
    result = asyncio.run(aprove(THEOREM, env, WholeProofPolicy(_writer(engine)), _config()))
    assert result.status == "proved" and result.proof == "  step\n  finish"
    assert env.verified == ["  step\n  finish"]  # re-verified from scratch by search.prove
    # round 0, then one repair per distinct failure, the one that got furthest first
    (_, first, p0), (_, deepest, p1), (_, other, p2) = engine.requests
    fmt = get_format("deepseek-v1.5")
    assert first == fmt.initial(THEOREM).text
    assert deepest == fmt.resume(THEOREM, ("step",), "⊢ s1").text and other == fmt.resume(THEOREM, (), "⊢ s0").text
    assert (p0.n, p0.seed, p0.stop) == (2, request_seed(7, THEOREM.name, 0, 0), ["```"])
    assert p1.seed == request_seed(7, THEOREM.name, 1, 0) not in (p0.seed, p2.seed)
    assert result.expansions == 3 and result.tokens == 5 * 3  # every sample's tokens, unusable ones too
    assert ("⊢ s0", "step") in env.calls and env.calls.count(("⊢ s0", "step")) == 1  # shared prefix ran once


def test_without_repair_rounds_the_same_answers_fail():
    engine = ScriptedEngine([(":= by\n", ["  step\n  wrong\n```"])])
    result = asyncio.run(aprove(THEOREM, FakeEnv(WORLD), WholeProofPolicy(_writer(engine)), _config(repair_rounds=0)))
    assert result.status == "failed" and result.proof is None and result.stop_reason == "exhausted"
    assert len(engine.requests) == 1


def test_error_feedback_for_a_chat_format_sends_the_error_and_goal_back():
    block = "```lean4\ntheorem fake_thm : True := by\n  step\n  {}\n```"
    engine = ScriptedEngine([("The proof is not correct", ["fixed:\n" + block.format("finish")]),
                             ("Complete the following", ["plan\n" + block.format("oops")])], chat=True)
    result = asyncio.run(aprove(THEOREM, FakeEnv(WORLD), WholeProofPolicy(_writer(engine, "deepseek-v2")),
                                _config(model_samples=1)))
    assert result.status == "proved" and result.proof == "  step\n  finish"
    kind, messages, _ = engine.requests[1]
    assert kind == "chat" and [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"].startswith("plan")
    assert "`oops` failed" in messages[2]["content"] and "unknown tactic 'oops'" in messages[2]["content"]
    assert "⊢ s1" in messages[2]["content"]


def test_answers_without_a_proof_are_asked_again():
    # completion format: resumed from the goal at the start
    engine = ScriptedEngine([("tactic state:\n    ⊢ s0", ["  step\n  finish\n```"]), (":= by\n", ["```", "   \n"])])
    result = asyncio.run(aprove(THEOREM, FakeEnv(WORLD), WholeProofPolicy(_writer(engine)), _config()))
    assert result.status == "proved" and result.proof == "  step\n  finish" and len(engine.requests) == 2
    # chat format: told that the answer held no proof, in the same conversation
    block = "```lean4\ntheorem fake_thm : True := by\n  step\n  finish\n```"
    chat = ScriptedEngine([("no complete Lean 4 proof", [block]), ("Complete the following", ["I ran out of"])],
                          chat=True)
    result = asyncio.run(aprove(THEOREM, FakeEnv(WORLD), WholeProofPolicy(_writer(chat, "deepseek-v2")),
                                _config(model_samples=1)))
    assert result.status == "proved" and chat.requests[1][1][1] == {"role": "assistant", "content": "I ran out of"}


def test_the_guard_and_reverification_decide_not_the_session():
    # `sorry` is refused before it runs; `cheat` the session accepts but verify rejects
    world = FakeWorld(root=WORLD.root, moves=WORLD.moves, lie_about=frozenset({"cheat"}))
    engine = ScriptedEngine([(":= by\n", ["  sorry\n```", "  cheat\n```"])])
    env = FakeEnv(world)
    result = asyncio.run(aprove(THEOREM, env, WholeProofPolicy(_writer(engine)), _config(repair_rounds=0)))
    assert result.status == "failed" and result.proof is None
    assert ("⊢ s0", "sorry") not in env.calls and env.verified == ["  cheat"]
    assert result.verify_failures and "cheat" in result.verify_failures[0]


def test_budgets_stop_the_search():
    engine = ScriptedEngine([(":= by\n", ["  step\n  wrong\n```"])])
    one_request = _config(budget={"max_expansions": 1, "time_limit_s": None})
    result = asyncio.run(aprove(THEOREM, FakeEnv(WORLD), WholeProofPolicy(_writer(engine)), one_request))
    assert result.status == "failed" and result.stop_reason == "expansion limit" and len(engine.requests) == 1
    few_tokens = _config(budget={"max_tokens": 2, "time_limit_s": None})
    result = asyncio.run(aprove(THEOREM, FakeEnv(WORLD), WholeProofPolicy(_writer(engine)), few_tokens))
    assert result.status == "failed" and result.stop_reason == "token limit" and result.tokens == 0
    one_call = _config(budget={"max_env_calls": 1, "time_limit_s": None})
    env = FakeEnv(WORLD)
    result = asyncio.run(aprove(THEOREM, env, WholeProofPolicy(_writer(engine)), one_call))
    assert result.stop_reason == "env call limit" and len(env.calls) == 1


def test_a_slow_model_does_not_outlive_the_time_limit():
    class SlowEngine(ScriptedEngine):
        async def submit(self, prompt, params):
            await asyncio.sleep(30)

    config = _config(budget={"time_limit_s": 0.3})
    result = asyncio.run(aprove(THEOREM, FakeEnv(WORLD), WholeProofPolicy(_writer(SlowEngine([]))), config))
    assert result.status == "failed" and result.stop_reason == "time limit" and result.time_s < 5


def test_mixed_tries_the_hammer_one_liners_first():
    hammer = TablePolicy({"⊢ s0": [("nope", -1.0), ("step", -2.0)]})
    engine = ScriptedEngine([("tactic state:\n    ⊢ s1", ["  finish\n```"])])
    env = FakeEnv(WORLD)
    result = asyncio.run(aprove(THEOREM, env, WholeProofPolicy(_writer(engine), hammer), _config()))
    # the hammer's `step` left ⊢ s1 open: that failure was resumed by the model
    assert result.status == "proved" and result.proof == "  step\n  finish"
    assert env.calls[:2] == [("⊢ s0", "nope"), ("⊢ s0", "step")]
    assert [r[1] for r in engine.requests][0] == get_format("deepseek-v1.5").initial(THEOREM).text


def test_make_search_policy_wires_formats_and_refuses_what_cannot_work():
    engine, chat_engine = ScriptedEngine([]), ScriptedEngine([], chat=True)
    policy = make_search_policy("model", _config(), engine=chat_engine, model_name="AI-MO/Kimina-Prover-RL-1.7B",
                                sampling_params=RequestParams)
    assert isinstance(policy, WholeProofPolicy) and policy.writer.format.name == "kimina"
    assert policy.tactic_policy is None
    assert make_search_policy("mixed", _config(prompt_format="deepseek-v2"), engine=chat_engine).tactic_policy
    with pytest.raises(ValueError, match="chat template"):
        make_search_policy("model", _config(prompt_format="goedel-v2"), engine=engine)
    with pytest.raises(ValueError, match="needs a model"):
        make_search_policy("model", _config(), engine=None)
    assert not isinstance(make_search_policy("hammer", _config()), WholeProofPolicy)


@pytest.fixture(scope="module")
def shipped_engine():
    import torch

    from model.loader import load_model
    from model.tokenizer import load_tokenizer
    from serving import AsyncEngine

    torch.set_num_threads(1)
    directory = REPO / "checkpoints" / "policy"
    engine = AsyncEngine(load_model(directory), load_tokenizer(directory))
    yield engine
    engine.shutdown()


def test_real_run_on_the_shipped_checkpoint(shipped_engine):
    """The tiny checkpoint writes `norm_num` for a numeral goal outright; for a linear equation its
    whole proofs fail and resuming from the goal (the V1.5 tactic-state prompt) proves it."""
    from lean_env import open_env
    from lean_env.theorem import parse_lean_file

    sites = {s.theorem.name: s.theorem for s in parse_lean_file((REPO / "examples" / "demo.lean").read_text()).sites}
    env = open_env("embedded", pool_size=1)
    try:
        def run(name, **overrides):
            config = _config(model_samples=4, seed=3, **overrides)
            policy = make_search_policy("model", config, engine=shipped_engine,
                                        model_name=str(REPO / "checkpoints" / "policy"))
            return asyncio.run(aprove(sites[name], env, policy, config))

        numerals = run("demo_numerals", repair_rounds=0)
        assert numerals.status == "proved" and numerals.proof == "  norm_num" and numerals.expansions == 1
        assert run("demo_linear_equation", repair_rounds=0).status == "failed"
        repaired = run("demo_linear_equation", repair_rounds=1)
        assert repaired.status == "proved" and repaired.backend == "embedded kernel"
        assert repaired.expansions >= 2  # round 0, then at least one repair request (one per distinct failure)
        again = run("demo_linear_equation", repair_rounds=1)
        assert (again.proof, again.tokens) == (repaired.proof, repaired.tokens)  # same seed, same samples
    finally:
        env.close()
