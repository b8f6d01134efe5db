"""Policies: hammer tactic lists, the DeepSeek-Prover prompt, completion cutting, the model
policy against a fake engine with the serving API, mixing, and make_policy."""
import asyncio

import pytest

from lean_env.theorem import Theorem
from lean_env.types import TacticState
from search.policy import (
    Candidate,
    HammerPolicy,
    MixedPolicy,
    ModelPolicy,
    PolicyRequest,
    build_prompt,
    first_tactic,
    hammer_tactics,
    make_policy,
)
from serving import SamplingParams
from serving.sequence import CompletionOutput, RequestOutput

HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n"
THM = Theorem("t", HEADER, "theorem t (a b : ℝ) (h₀ : 0 < a) : a * b ≤ (a ^ 2 + b ^ 2) / 2 := by")
STATE = TacticState(pp="a b : ℝ\nh₀ : 0 < a\n⊢ a * b ≤ (a ^ 2 + b ^ 2) / 2", id=0)


def run(coro):
    return asyncio.run(coro)


def test_hammer_reads_variables_and_hypotheses_and_builds_hints():
    tactics = hammer_tactics(STATE.pp)
    assert tactics[:2] == ["norm_num", "linarith"]
    assert "nlinarith [sq_nonneg (a - b), sq_nonneg (a + b), sq_nonneg a, sq_nonneg b]" in tactics
    assert "norm_num [h₀]" in tactics and "positivity" in tactics
    assert len(tactics) == len(set(tactics))
    assert "intro" not in " ".join(tactics) and "constructor" not in tactics


def test_hammer_adds_structural_tactics_by_the_shape_of_the_first_goal():
    forall = hammer_tactics("f : ℕ → ℕ\n⊢ ∀ x y : ℕ, f x = f y → x = y")
    assert "intro x y" in forall and forall.index("intro x y") < forall.index("omega")
    assert "f" not in " ".join(t for t in forall if t.startswith("nlinarith ["))
    conj = hammer_tactics("x : ℤ\n⊢ x = 1 ∧ x ≠ 2\n\nx : ℤ\n⊢ ∀ y : ℤ, y = y")
    assert "constructor" in conj and not any(t.startswith("intro") for t in conj)  # first goal only
    assert {"left", "right"} <= set(hammer_tactics("⊢ 1 = 1 ∨ 2 = 3"))
    assert "intro h" in hammer_tactics("⊢ ¬ 1 = 2")
    assert all("✝" not in t for t in hammer_tactics("x✝ : ℝ\ny : ℝ\n⊢ y ^ 2 ≥ 0"))
    # objects (complex numbers, functions, sets) are neither hint variables nor hypotheses
    objects = hammer_tactics("z : ℂ\nf : ℕ → ℝ\nS : Finset ℕ\nhp : Nat.Prime 7\n⊢ z = z")
    assert "norm_num [hp]" in objects and not any(t.startswith("nlinarith [") for t in objects)


def test_hammer_is_deterministic_with_log_probs_falling_by_rank():
    req = PolicyRequest(THM, [], STATE)
    a = run(HammerPolicy().propose([req, req], 5))
    b = run(HammerPolicy().propose([req], 5))
    assert a[0] == a[1] == b[0] and len(a[0]) == 5
    logprobs = [c.logprob for c in a[0]]
    assert logprobs == sorted(logprobs, reverse=True) and len(set(logprobs)) == 5


def test_prompt_follows_deepseek_prover_format():
    prompt = build_prompt(THM, ["intro x", "have h : 1 = 1 := by\n  rfl"], STATE)
    assert prompt.startswith("Complete the following Lean 4 code:\n\n```lean4\nimport Mathlib\n")
    assert "open BigOperators Real Nat Topology Rat\n\ntheorem t (a b : ℝ)" in prompt
    assert ":= by\n  intro x\n  have h : 1 = 1 := by\n    rfl\n  /- tactic state:\n    a b : ℝ\n" in prompt
    assert prompt.endswith("    ⊢ a * b ≤ (a ^ 2 + b ^ 2) / 2\n  -/\n")


@pytest.mark.parametrize("completion, expected", [
    ("  nlinarith [sq_nonneg (a - b)]\n  linarith\n```", "nlinarith [sq_nonneg (a - b)]"),
    ("\n  -- square is nonneg\n  positivity", "positivity"),
    ("  /- tactic state:\n  ⊢ x\n  -/\n  simp\n", "simp"),
    ("  have h : 0 ≤ (a - b) ^ 2 := by\n    positivity\n  linarith", "have h : 0 ≤ (a - b) ^ 2 := by\n  positivity"),
    ("```\n  linarith", None),
    ("theorem foo : 1 = 1 := by rfl", None),
    ("   \n", None),
])
def test_first_tactic_of_a_completion(completion, expected):
    assert first_tactic(completion) == expected


class FakeEngine:
    """Same surface as serving.AsyncEngine: async submit(prompt, SamplingParams)."""

    def __init__(self, texts, tokenizer=object()):
        self.texts = texts
        self.tokenizer = tokenizer
        self.calls = []

    async def submit(self, prompt, params):
        assert isinstance(params, SamplingParams)
        self.calls.append((prompt, params))
        await asyncio.sleep(0)
        outs = [CompletionOutput(i, text, list(range(ntok)), lp, None, None, "stop")
                for i, (text, lp, ntok) in enumerate(self.texts[: params.n])]
        return RequestOutput(f"r{len(self.calls)}", prompt if isinstance(prompt, str) else None,
                             [], outs, True)


def test_model_policy_samples_cuts_dedupes_guards_and_counts_tokens():
    texts = [("  linarith\n  norm_num", -1.5, 5), ("  nlinarith [sq_nonneg (a - b)]", -2.0, 9),
             ("  linarith", -0.5, 3), ("  sorry", -0.1, 2), ("```", -0.2, 1), ("  positivity", -3.0, 4)]
    engine = FakeEngine(texts)
    policy = ModelPolicy(engine, samples=6, temperature=0.7, top_p=0.9, max_tokens=64)
    reqs = [PolicyRequest(THM, [], STATE), PolicyRequest(THM, ["nlinarith"], STATE)]
    out = run(policy.propose(reqs, k=2))
    assert len(engine.calls) == 2
    prompt, params = engine.calls[0]
    assert prompt == build_prompt(THM, [], STATE)
    assert (params.n, params.temperature, params.top_p, params.max_tokens, params.stop) == (6, 0.7, 0.9, 64, ["```"])
    assert [c.tactic for c in out[0]] == ["linarith", "nlinarith [sq_nonneg (a - b)]"]
    assert out[0][0].logprob == -0.5
    assert out[0][0].continuation == () and out[1][0].continuation == ()
    # the kept "linarith" is the best-scored sample (the one without a continuation)
    assert sum(c.tokens for c in out[0]) == 5 + 9 + 3 + 2 + 1 + 4  # every generated token is charged


def test_model_policy_keeps_the_rest_of_the_sampled_proof_up_to_a_guard_failure():
    engine = FakeEngine([("  intro x\n  have h : 0 ≤ x ^ 2 := by\n    positivity\n  sorry\n  simp", -1.0, 7),
                         ("  constructor\n  · linarith\n```\n  junk", -2.0, 5)])
    out = run(ModelPolicy(engine, samples=2).propose([PolicyRequest(THM, [], STATE)], k=2))[0]
    assert out[0] == Candidate("intro x", -1.0, 7, ("have h : 0 ≤ x ^ 2 := by\n  positivity",))
    assert out[1] == Candidate("constructor", -2.0, 5, ("· linarith",))


def test_model_policy_encodes_and_decodes_itself_when_the_engine_has_no_tokenizer():
    class CharTokenizer:
        def encode(self, text):
            return [ord(c) for c in text]

        def decode(self, ids):
            return "".join(chr(i) for i in ids)

    class IdEngine(FakeEngine):
        async def submit(self, prompt, params):
            self.calls.append((prompt, params))
            ids = [ord(c) for c in "  omega\n  rfl"]
            return RequestOutput("r", None, prompt, [CompletionOutput(0, "", ids, -1.0, None, None, "length")], True)

    engine = IdEngine([], tokenizer=None)
    policy = ModelPolicy(engine, tokenizer=CharTokenizer(), samples=1)
    out = run(policy.propose([PolicyRequest(THM, [], STATE)], k=4))
    assert out == [[Candidate("omega", -1.0, len("  omega\n  rfl"), ("rfl",))]]
    assert isinstance(engine.calls[0][0], list) and engine.calls[0][1].stop == []
    with pytest.raises(ValueError, match="needs a tokenizer"):
        ModelPolicy(FakeEngine([], tokenizer=None))


def test_mixed_policy_merges_by_weighted_score():
    engine = FakeEngine([("  linarith", -0.05, 1), ("  ring", -0.1, 1)])
    mixed = MixedPolicy([ModelPolicy(engine, samples=2), HammerPolicy()], weights=[3.0, 1.0])
    out = run(mixed.propose([PolicyRequest(THM, [], STATE)], k=4))[0]
    tactics = [c.tactic for c in out]
    assert tactics[0] == "linarith" and "ring" in tactics and "norm_num" in tactics
    assert len(tactics) == len(set(tactics)) == 4
    assert [c.logprob for c in out] == sorted((c.logprob for c in out), reverse=True)
    with pytest.raises(ValueError, match="one positive number per policy"):
        MixedPolicy([HammerPolicy()], weights=[1.0, 2.0])


def test_make_policy_names_and_errors():
    assert isinstance(make_policy("hammer"), HammerPolicy)
    assert isinstance(make_policy("model", engine=FakeEngine([])), ModelPolicy)
    assert isinstance(make_policy("mixed", engine=FakeEngine([])), MixedPolicy)
    with pytest.raises(ValueError, match="needs a serving engine"):
        make_policy("model")
    with pytest.raises(ValueError, match="hammer, model, mixed"):
        make_policy("oracle")


def test_model_policy_scores_only_the_tokens_of_the_first_tactic():
    class CharTokenizer:
        def encode(self, text):
            return [ord(c) for c in text]

        def decode(self, ids):
            return "".join(chr(i) for i in ids)

    class LogprobEngine(FakeEngine):
        async def submit(self, prompt, params):
            self.calls.append((prompt, params))
            text = "  linarith\n  norm_num"
            ids = [ord(c) for c in text]
            out = CompletionOutput(0, text, ids, -0.1 * len(ids), [-0.1] * len(ids), None, "stop")
            return RequestOutput("r", prompt, [], [out], True)

    engine = LogprobEngine([], tokenizer=CharTokenizer())
    out = run(ModelPolicy(engine, samples=1).propose([PolicyRequest(THM, [], STATE)], k=2))
    assert engine.calls[0][1].logprobs == 0
    assert out[0][0].tactic == "linarith"
    assert out[0][0].logprob == pytest.approx(-1.0)  # "  linarith" = 10 tokens, not all 21
    assert out[0][0].tokens == len("  linarith\n  norm_num")


def test_a_prompt_too_long_for_the_model_gives_no_model_candidates_and_mixed_keeps_the_hammer():
    from serving import PromptTooLongError

    class ShortContextEngine(FakeEngine):
        async def submit(self, prompt, params):
            if "∧ True ∧ True" in prompt:
                raise PromptTooLongError("prompt: 900 tokens leave no room to generate within the model's context")
            return await super().submit(prompt, params)

    long_thm = Theorem("long_one", THM.header, THM.statement.replace(":= by", "") + " ∧ True" * 40 + " := by")
    engine = ShortContextEngine([("  linarith", -0.5, 3)])
    model = ModelPolicy(engine, samples=1)
    short, long = run(model.propose([PolicyRequest(THM, [], STATE), PolicyRequest(long_thm, [], STATE)], k=4))
    assert [c.tactic for c in short] == ["linarith"] and long == []
    mixed = run(MixedPolicy([model, HammerPolicy()]).propose([PolicyRequest(long_thm, [], STATE)], k=4))[0]
    hammer = run(HammerPolicy().propose([PolicyRequest(long_thm, [], STATE)], k=4))[0]
    assert mixed and [c.tactic for c in mixed] == [c.tactic for c in hammer]

    class BrokenEngine(FakeEngine):
        async def submit(self, prompt, params):
            raise RuntimeError("engine crashed")

    with pytest.raises(RuntimeError, match="engine crashed"):  # other failures still surface
        run(ModelPolicy(BrokenEngine([]), samples=1).propose([PolicyRequest(THM, [], STATE)], k=4))


def test_tokens_of_samples_that_gave_no_candidate_are_still_charged():
    from search.best_first import affordable
    from search.budget import BudgetMeter
    from search.candidates import Candidate, dedupe_best_first, unusable_tokens
    from search.config import SearchBudget

    none_kept = dedupe_best_first([], 4, extra_tokens=30)
    assert none_kept == [] and unusable_tokens(none_kept) == 30
    meter = BudgetMeter(SearchBudget(max_tokens=100, time_limit_s=None))
    assert affordable(none_kept, meter) == ([], True) and meter.tokens == 30
    some = dedupe_best_first([Candidate("simp", -1.0, 5)], 4, extra_tokens=30)
    assert some[0].tokens == 35 and unusable_tokens(some) == 0
    assert affordable(dedupe_best_first([], 4, extra_tokens=80), meter) == ([], False)  # 30 + 80 > 100


def test_prompt_too_long_through_ray_is_one_concise_line_per_theorem(caplog):
    """Ray re-raises the policy server's PromptTooLongError as a RayTaskError whose text holds the
    remote stack trace: the expected condition is logged once per theorem, as one line, no trace."""
    import logging
    import traceback

    from ray.exceptions import RayTaskError

    from serving import PromptTooLongError

    class RemoteShortContextEngine(FakeEngine):
        async def submit(self, prompt, params):
            try:
                raise PromptTooLongError("prompt: 900 tokens leave no room to generate within the model's context")
            except PromptTooLongError as cause:  # what `await actor.submit.remote(...)` raises
                raise RayTaskError("PolicyServer.submit", traceback.format_exc(), cause).as_instanceof_cause() from None

    other = Theorem("other_one", THM.header, THM.statement)
    model = ModelPolicy(RemoteShortContextEngine([]), samples=1)
    with caplog.at_level(logging.DEBUG, logger="search.model_policy"):
        for _ in range(3):
            assert run(model.propose([PolicyRequest(THM, [], STATE), PolicyRequest(other, [], STATE)], k=4)) == [[], []]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and {w.split(":")[0] for w in warnings} == {THM.name, "other_one"}
    for message in [r.getMessage() for r in caplog.records]:
        assert "\n" not in message and "Traceback" not in message and 'File "' not in message, message
        assert "900 tokens leave no room" in message
    assert all(r.exc_info is None for r in caplog.records)

    class BrokenRemoteEngine(FakeEngine):  # a real error still shows its cause
        async def submit(self, prompt, params):
            try:
                raise ValueError("max_tokens: the latent pool has only 4 blocks")
            except ValueError as cause:
                raise RayTaskError("PolicyServer.submit", traceback.format_exc(), cause).as_instanceof_cause() from None

    with pytest.raises(ValueError, match="latent pool has only 4 blocks"):
        run(ModelPolicy(BrokenRemoteEngine([]), samples=1).propose([PolicyRequest(THM, [], STATE)], k=4))
