"""RMaxTS: discounted UCB, virtual loss, rollouts with truncate-and-resume, budgets."""
import asyncio
import math

import pytest
from search_fakes import DONE, HANG, THEOREM, FakeEnv, FakeWorld, TablePolicy, chain_world, endless_world

from search import SearchBudget, prove
from search.batcher import PolicyBatcher
from search.candidates import Candidate, PolicyRequest
from search.rmaxts import GAMMA, UcbStats, ucb_score
from search.tree import NodeStatus


def test_discounted_update_and_ucb_follow_the_formula():
    s = UcbStats()
    assert ucb_score(s, total=5, exploration=1.0) == math.inf
    s.update(1.0)
    s.update(0.0)
    assert s.reward == pytest.approx(GAMMA * 1.0)
    assert s.visits == pytest.approx(GAMMA + 1.0)
    expected = s.reward / s.visits + math.sqrt(2 * math.log(10) / s.visits)
    assert ucb_score(s, total=10, exploration=1.0) == pytest.approx(expected)
    s.in_flight = 2  # virtual loss: more visits, no reward, lower score
    assert ucb_score(s, total=10, exploration=1.0) < expected


def test_rollouts_go_several_steps_and_keep_every_surviving_step():
    env = FakeEnv(chain_world(4))
    policy = TablePolicy({}, default=[("step", -0.1), ("finish", -0.1)])
    result = prove(THEOREM, env, policy, algorithm="rmaxts", concurrency=1, rollout_depth=8,
                   budget=SearchBudget(max_expansions=None, time_limit_s=None))
    assert result.status == "proved" and result.proof == "  step\n  step\n  step\n  finish"
    assert result.tree.check_consistency() == [] and result.algorithm == "rmaxts"


def test_a_rollout_stops_at_the_first_failing_tactic():
    # Only "bad" is proposed from the root: each rollout is one failing call, then truncated.
    env = FakeEnv(FakeWorld(root="⊢ r"))
    policy = TablePolicy({}, default=[("bad1", -0.1), ("bad2", -0.2)])
    result = prove(THEOREM, env, policy, algorithm="rmaxts", concurrency=1, rollout_depth=8,
                   budget=SearchBudget(max_expansions=None, time_limit_s=None))
    assert [t for _, t in env.calls] in (["bad1", "bad2"], ["bad2", "bad1"])
    assert result.status == "failed" and result.stop_reason == "no candidates left"
    assert result.tree.root_status is NodeStatus.FAILED
    assert result.expansions == 3  # two one-step rollouts, then one that finds nothing untried


@pytest.mark.parametrize("concurrency", [1, 4])
def test_budgets_are_exact_for_rollouts_and_env_calls(concurrency):
    policy = TablePolicy({}, default=[(f"t{i}", -0.1 * i) for i in range(6)])
    env = FakeEnv(endless_world())
    result = prove(THEOREM, env, policy, algorithm="rmaxts", concurrency=concurrency,
                   budget=SearchBudget(max_expansions=None, time_limit_s=None, max_env_calls=11))
    assert result.status == "failed" and result.env_calls == 11 == len(env.calls)
    assert result.stop_reason == "env call limit"

    env = FakeEnv(endless_world())
    result = prove(THEOREM, env, TablePolicy({}, default=[("t1", -0.1), ("t2", -0.2)]),
                   algorithm="rmaxts", concurrency=concurrency, rollout_depth=3,
                   budget=SearchBudget(max_expansions=7, time_limit_s=None))
    assert result.expansions == 7 and result.stop_reason == "expansion limit"
    assert len(env.calls) <= 7 * 3
    assert result.tree.check_consistency() == []


def test_intrinsic_reward_spreads_rollouts_over_new_nodes():
    # Every tactic makes a new state, so every rollout is rewarded; the tree must grow wide, not
    # only deep, once the discounted visits pile up.
    env = FakeEnv(endless_world())
    policy = TablePolicy({}, default=[(f"t{i}", -0.1 * i) for i in range(4)])
    result = prove(THEOREM, env, policy, algorithm="rmaxts", concurrency=1, rollout_depth=2,
                   budget=SearchBudget(max_expansions=30, time_limit_s=None))
    tree = result.tree
    assert tree.graph.out_degree(tree.root) >= 3
    assert max(d["depth"] for _, d in tree.graph.nodes(data=True)) >= 3
    root = tree.graph.nodes[tree.root]  # the discounted statistics are left on the tree
    assert 0 < root["rmaxts_stay_reward"] <= root["rmaxts_stay_visits"]
    from search.tree import ProofTree
    assert ProofTree.from_json(tree.to_json()).graph.nodes[tree.root]["rmaxts_stay_visits"] == root["rmaxts_stay_visits"]


def test_concurrent_rollouts_reach_the_policy_as_batches():
    policy = TablePolicy({}, default=[(f"t{i}", -0.1 * i) for i in range(8)])
    result = prove(THEOREM, FakeEnv(endless_world()), policy, algorithm="rmaxts", concurrency=4,
                   budget=SearchBudget(max_expansions=20, time_limit_s=None))
    assert result.expansions == 20
    assert max(len(b) for b in policy.batches) > 1


def test_the_batcher_sends_same_turn_requests_together():
    seen = []

    class Echo:
        async def propose(self, requests, k):
            seen.append(len(requests))
            return [[Candidate(r.state.pp, -1.0)] for r in requests]

    async def main():
        from lean_env.types import TacticState
        batcher = PolicyBatcher(Echo(), k=2, max_batch=3)
        reqs = [PolicyRequest(THEOREM, [], TacticState(pp=f"⊢ {i}", id=i)) for i in range(5)]
        answers = await asyncio.gather(*(batcher.ask(r) for r in reqs))
        await batcher.aclose()
        return answers

    answers = asyncio.run(main())
    assert [a[0].tactic for a in answers] == [f"⊢ {i}" for i in range(5)]
    assert seen == [3, 2]


def test_a_shared_state_is_merged_and_the_proof_still_verifies():
    world = FakeWorld(root="⊢ r", moves={("⊢ r", "a"): "⊢ m", ("⊢ r", "b"): "⊢ x", ("⊢ x", "c"): "⊢ m",
                                         ("⊢ m", "fin"): DONE})
    policy = TablePolicy({"⊢ r": [("b", -0.1), ("a", -0.2)], "⊢ x": [("c", -0.1)], "⊢ m": [("fin", -0.1)]})
    result = prove(THEOREM, FakeEnv(world), policy, algorithm="rmaxts", concurrency=2,
                   budget=SearchBudget(max_expansions=20, time_limit_s=None))
    assert result.status == "proved" and result.proof in ("  a\n  fin", "  b\n  c\n  fin")


def test_a_sampled_proof_continuation_is_rolled_out_without_asking_again():
    env = FakeEnv(chain_world(4))
    policy = TablePolicy({"⊢ s0": [("step", -0.5, 10, ("step", "step", "finish"))]})
    result = prove(THEOREM, env, policy, algorithm="rmaxts", concurrency=1, rollout_depth=1,
                   budget=SearchBudget(max_expansions=None, time_limit_s=None))
    assert result.status == "proved" and result.proof == "  step\n  step\n  step\n  finish"
    assert len(policy.batches) == 1 and result.expansions == 1 and result.tokens == 10


def test_a_continuation_is_truncated_at_its_first_failing_tactic_and_the_prefix_kept():
    env = FakeEnv(chain_world(4))
    policy = TablePolicy({"⊢ s0": [("step", -0.5, 0, ("step", "oops", "step"))]})
    result = prove(THEOREM, env, policy, algorithm="rmaxts", concurrency=1, rollout_depth=1,
                   budget=SearchBudget(max_expansions=1, time_limit_s=None))
    assert [t for _, t in env.calls] == ["step", "step", "oops"]
    assert {"⊢ s1", "⊢ s2"} <= set(result.tree.graph.nodes) and "⊢ s3" not in result.tree.graph


def test_concurrent_rollouts_wait_for_running_tactics_instead_of_spinning():
    # Two slow failing tactics; four rollout workers. Once both are taken, the others must wait
    # for them (not burn rollouts asking again), then the root is FAILED.
    world = FakeWorld(root="⊢ r", moves={("⊢ r", "slow1"): HANG, ("⊢ r", "slow2"): HANG})
    policy = TablePolicy({}, default=[("slow1", -0.1), ("slow2", -0.2)])
    result = prove(THEOREM, FakeEnv(world), policy, algorithm="rmaxts", concurrency=4,
                   budget=SearchBudget(max_expansions=50, time_limit_s=None))
    assert result.status == "failed" and result.stop_reason == "no candidates left"
    assert result.env_calls == 2 and result.expansions <= 2 + 4
    assert result.tree.root_status is NodeStatus.FAILED and result.tree.check_consistency() == []
