"""Best-first search on the fake world: order, batching, budgets, ReProver's bug, failures."""
import pytest
from search_fakes import DONE, THEOREM, FakeClock, FakeEnv, FakeWorld, TablePolicy, chain_world, endless_world

from search import SearchBudget, prove
from search.tree import NodeStatus

UNLIMITED = dict(max_expansions=None, time_limit_s=None)


def test_finds_a_chain_proof_renders_it_and_reverifies_it():
    env = FakeEnv(chain_world(4))
    policy = TablePolicy({}, default=[("noise", -0.1), ("step", -0.5), ("finish", -0.7)])
    result = prove(THEOREM, env, policy, budget=SearchBudget(**UNLIMITED))
    assert result.status == "proved", result
    assert result.proof == "  step\n  step\n  step\n  finish"
    assert env.verified == [result.proof]
    assert result.backend == "fake kernel" and result.error is None
    assert result.tree.root_status is NodeStatus.PROVED and result.tree.check_consistency() == []
    assert result.env_calls == len(env.calls) and result.expansions == 4
    assert all(s.closed for s in env.sessions)
    assert result.to_json()["proof"] == result.proof and "tree" not in result.to_json()


def test_expands_the_most_likely_node_first_and_length_normalisation_changes_that():
    # From the root: "a" (-1.0) leads to a one-step node A; "b" (-1.5) to B. From A the next
    # state A2 costs -1.0 more (total -2.0, avg -1.0); B's child finishes.
    world = FakeWorld(root="⊢ r", moves={("⊢ r", "a"): "⊢ A", ("⊢ r", "b"): "⊢ B",
                                         ("⊢ A", "a2"): "⊢ A2", ("⊢ A2", "a3"): "⊢ A3",
                                         ("⊢ B", "fin"): DONE})
    table = {"⊢ r": [("a", -1.0), ("b", -1.5)], "⊢ A": [("a2", -0.1)], "⊢ A2": [("a3", -0.1)],
             "⊢ A3": [], "⊢ B": [("fin", -0.1)]}
    policy = TablePolicy(table)
    result = prove(THEOREM, FakeEnv(world), policy, budget=SearchBudget(**UNLIMITED), concurrency=1)
    assert result.status == "proved" and result.proof == "  b\n  fin"
    assert [b[0] for b in policy.batches] == ["⊢ r", "⊢ A", "⊢ A2", "⊢ A3", "⊢ B"]

    # Normalised by depth: A2 = -1.1/2, A3 = -1.2/3 stays ahead of B = -1.5/1 ... all of A first.
    policy = TablePolicy(table)
    result = prove(THEOREM, FakeEnv(world), policy, budget=SearchBudget(**UNLIMITED), concurrency=1,
                   length_normalized=True)
    assert result.status == "proved"
    assert [b[0] for b in policy.batches] == ["⊢ r", "⊢ A", "⊢ A2", "⊢ A3", "⊢ B"]

    # Tokens as the length: B's path is long in tokens (cheap per token), A's path is short.
    table_tok = {"⊢ r": [("a", -1.0, 1), ("b", -1.5, 30)], "⊢ A": [("a2", -0.1, 1)],
                 "⊢ A2": [("a3", -0.1, 1)], "⊢ A3": [], "⊢ B": [("fin", -0.1, 1)]}
    plain, normalised = TablePolicy(table_tok), TablePolicy(table_tok)
    prove(THEOREM, FakeEnv(world), plain, budget=SearchBudget(**UNLIMITED), concurrency=1)
    prove(THEOREM, FakeEnv(world), normalised, budget=SearchBudget(**UNLIMITED), concurrency=1,
          length_normalized=True)
    assert [b[0] for b in plain.batches][:2] == ["⊢ r", "⊢ A"]
    assert [b[0] for b in normalised.batches][:2] == ["⊢ r", "⊢ B"]


def test_several_nodes_go_to_the_policy_in_one_batch():
    policy = TablePolicy({}, default=[("t1", -1.0), ("t2", -1.1), ("t3", -1.2)])
    result = prove(THEOREM, FakeEnv(endless_world()), policy, concurrency=4,
                   budget=SearchBudget(max_expansions=9, time_limit_s=None))
    assert result.status == "failed" and result.stop_reason == "expansion limit"
    assert [len(b) for b in policy.batches] == [1, 3, 4, 1]
    assert result.expansions == 9


@pytest.mark.parametrize("concurrency", [1, 3])
def test_env_call_and_expansion_budgets_are_exact(concurrency):
    policy = TablePolicy({}, default=[("t1", -1.0), ("t2", -1.1), ("t3", -1.2)])
    env = FakeEnv(endless_world())
    result = prove(THEOREM, env, policy, concurrency=concurrency,
                   budget=SearchBudget(max_expansions=None, time_limit_s=None, max_env_calls=7))
    assert result.status == "failed" and result.stop_reason == "env call limit"
    assert result.env_calls == 7 and len(env.calls) == 7

    policy = TablePolicy({}, default=[("t1", -1.0), ("t2", -1.1)])
    result = prove(THEOREM, FakeEnv(endless_world()), policy, concurrency=concurrency,
                   budget=SearchBudget(max_expansions=5, time_limit_s=None))
    assert result.expansions == 5 and sum(len(b) for b in policy.batches) == 5
    assert result.tree.check_consistency() == []


def test_token_budget_is_exact_and_candidates_over_it_are_not_run():
    policy = TablePolicy({}, default=[("t1", -1.0, 4), ("t2", -1.1, 4), ("t3", -1.2, 4)])
    env = FakeEnv(endless_world())
    result = prove(THEOREM, env, policy, budget=SearchBudget(max_expansions=None, time_limit_s=None, max_tokens=30))
    assert result.status == "failed" and result.stop_reason == "token limit"
    assert result.tokens == 28 and len(env.calls) == 7


def test_time_budget_with_a_fake_clock_and_tactic_timeouts_cut_to_the_time_left():
    clock = FakeClock()
    world = endless_world(seconds_per_call=1.0, clock=clock)
    env = FakeEnv(world)
    policy = TablePolicy({}, default=[("t1", -1.0), ("t2", -1.1)])
    result = prove(THEOREM, env, policy, clock=clock,
                   budget=SearchBudget(max_expansions=None, time_limit_s=5.5, tactic_timeout_s=3.0))
    assert result.status == "failed" and result.stop_reason == "time limit"
    assert len(env.calls) == 6
    assert env.timeouts == [3.0, 3.0, 3.0, 2.5, 1.5, 0.5]


def test_a_proof_found_by_the_last_allowed_call_is_kept():
    # ReProver's bug: the proof found in the step that trips a limit was thrown away.
    # chain of 3 with candidates [step, finish] everywhere: s0 step ok, finish fails; s1 the
    # same; s2 step fails, finish finishes: 6 env calls and 3 expansions exactly.
    world = chain_world(3)
    only = [("step", -1.0), ("finish", -1.0)]
    for budget in (SearchBudget(max_expansions=None, time_limit_s=None, max_env_calls=6),
                   SearchBudget(max_expansions=3, time_limit_s=None)):
        result = prove(THEOREM, FakeEnv(world), TablePolicy({}, default=only), budget=budget)
        assert result.status == "proved", (budget, result)
        assert (result.env_calls, result.expansions) == (6, 3)
    for budget in (SearchBudget(max_expansions=None, time_limit_s=None, max_env_calls=5),
                   SearchBudget(max_expansions=2, time_limit_s=None)):
        result = prove(THEOREM, FakeEnv(world), TablePolicy({}, default=only), budget=budget)
        assert result.status == "failed", (budget, result)
    # The time limit passes during the finishing call: the proof still counts.
    clock = FakeClock()
    world = chain_world(3)
    world.clock, world.seconds_per_call = clock, 1.0
    policy = TablePolicy({"⊢ s0": [("step", -1.0)], "⊢ s1": [("step", -1.0)], "⊢ s2": [("finish", -1.0)]})
    result = prove(THEOREM, FakeEnv(world), policy, clock=clock,
                   budget=SearchBudget(max_expansions=None, time_limit_s=2.5))
    assert result.status == "proved" and result.time_s == 3.0


def test_exhausting_the_tree_ends_the_search_as_failed():
    world = FakeWorld(root="⊢ r", moves={("⊢ r", "a"): "⊢ A"})
    result = prove(THEOREM, FakeEnv(world), TablePolicy({}, default=[("a", -1.0), ("b", -2.0)]),
                   budget=SearchBudget(**UNLIMITED))
    assert result.status == "failed" and result.stop_reason == "no candidates left"
    assert result.tree.root_status is NodeStatus.FAILED and result.tree.check_consistency() == []
