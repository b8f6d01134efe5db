"""Policies and environments that misbehave: the search ends FAILED (or "error"), never raises,
never reports a proof that re-verification or the guard rejects."""
import pytest
from search_fakes import GIVE_UP, HANG, THEOREM, FakeEnv, FakeWorld, TablePolicy, chain_world

from search import SearchBudget, prove
from search.candidates import Candidate
from search.tree import NodeStatus

ALGORITHMS = ["best-first", "rmaxts"]


def adversarial_world() -> FakeWorld:
    root = "x : ℕ\n⊢ x = x + 1"
    moves = {(root, "hang"): HANG, (root, "give_up"): GIVE_UP, (root, "same"): root,
             (root, "go"): "⊢ deeper", ("⊢ deeper", "back"): root, ("⊢ deeper", "hang"): HANG,
             ("⊢ deeper", "same"): "⊢ deeper"}
    return FakeWorld(root=root, moves=moves)


ADVERSARIAL = [("sorry", -0.1), ("admit", -0.2), ("garbage )))", -0.3), ("hang", -0.4),
               ("give_up", -0.5), ("same", -0.6), ("go", -0.7), ("back", -0.8),
               ("native_decide", -0.9), ("theorem x : False := sorry", -1.0)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_adversarial_policy_ends_failed_within_budget(algorithm):
    env = FakeEnv(adversarial_world())
    result = prove(THEOREM, env, TablePolicy({}, default=ADVERSARIAL), algorithm=algorithm,
                   budget=SearchBudget(max_expansions=40, time_limit_s=None, max_env_calls=60))
    assert result.status == "failed" and result.proof is None and result.stop_reason == "no candidates left"
    assert result.error.startswith(result.stop_reason + ":")
    assert result.env_calls <= 60 and result.expansions <= 40
    tactics_run = {t for _, t in env.calls}
    assert not tactics_run & {"sorry", "admit", "native_decide", "theorem x : False := sorry"}
    assert result.tree.check_consistency() == []
    assert result.tree.num_states == 2 and env.verified == []


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_same_state_forever_does_not_loop(algorithm):
    world = FakeWorld(root="⊢ a", moves={("⊢ a", "same"): "⊢ a"})
    result = prove(THEOREM, FakeEnv(world), TablePolicy({}, default=[("same", -0.1)]),
                   algorithm=algorithm, budget=SearchBudget(max_expansions=None, time_limit_s=None))
    assert result.status == "failed" and result.stop_reason == "no candidates left"
    assert result.tree.root_status is NodeStatus.FAILED


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_an_env_that_lies_about_a_proof_is_caught_by_reverification(algorithm):
    world = chain_world(2)
    world.lie_about = frozenset({"cheat"})
    env = FakeEnv(world)
    result = prove(THEOREM, env, TablePolicy({}, default=[("cheat", -0.1)]), algorithm=algorithm,
                   budget=SearchBudget(max_expansions=5, time_limit_s=None))
    assert result.status == "failed" and result.proof is None
    assert result.stop_reason == "verification failed"
    assert env.verified == ["  cheat"] and "re-verification rejected" in result.verify_failures[0]


def test_a_policy_that_raises_gives_an_error_result_not_an_exception():
    class Broken:
        async def propose(self, requests, k):
            raise RuntimeError("engine fell over")

    for algorithm in ALGORITHMS:
        env = FakeEnv(chain_world(2))
        result = prove(THEOREM, env, Broken(), algorithm=algorithm)
        assert result.status == "error" and "engine fell over" in result.error
        assert all(s.closed for s in env.sessions)


def test_a_policy_returning_the_wrong_shape_is_an_error_that_says_so():
    class WrongShape:
        async def propose(self, requests, k):
            return [[("step", -1.0)]] * len(requests)  # tuples, not Candidates

    class TooFew:
        async def propose(self, requests, k):
            return []

    for policy, words in ((WrongShape(), "expected search.policy.Candidate"), (TooFew(), "answers")):
        for algorithm in ALGORITHMS:
            result = prove(THEOREM, FakeEnv(chain_world(2)), policy, algorithm=algorithm)
            assert result.status == "error" and words in result.error, (algorithm, result.error)


def test_an_env_that_cannot_start_gives_an_error_result():
    env = FakeEnv(chain_world(2), start_error=RuntimeError("unsupported construct at 1:5"))
    result = prove(THEOREM, env, TablePolicy({}))
    assert result.status == "error" and "unsupported construct" in result.error
    assert result.env_calls == 0


def test_a_hanging_policy_is_cut_by_the_time_limit():
    import asyncio

    class Sleeper:
        async def propose(self, requests, k):
            await asyncio.sleep(30)
            return [[Candidate("step", -1.0)] for _ in requests]

    for algorithm in ALGORITHMS:
        result = prove(THEOREM, FakeEnv(chain_world(2)), Sleeper(), algorithm=algorithm,
                       budget=SearchBudget(time_limit_s=0.2))
        assert result.status == "failed" and result.stop_reason == "time limit"


def test_unknown_algorithm_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match="best-first, rmaxts"):
        prove(THEOREM, FakeEnv(chain_world(2)), TablePolicy({}), algorithm="dfs")
