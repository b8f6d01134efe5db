"""Every result that is not a proof says why the search stopped: a stable code in `stop_reason`
(one of search.result.STOP_REASONS) and one line in `error` with the counts behind it."""
import pytest
from search_fakes import THEOREM, FakeClock, FakeEnv, FakeWorld, TablePolicy, chain_world, endless_world

from lean_env.repl import TheoremStartError
from search import SearchBudget, prove
from search.result import STOP_REASONS
from search.tree import NodeStatus

ALGORITHMS = ["best-first", "rmaxts"]
UNLIMITED = dict(max_expansions=None, time_limit_s=None)


def assert_explained(result, reason: str) -> None:
    assert result.stop_reason == reason and reason in STOP_REASONS, result
    assert result.proof is None and result.error.startswith(f"{reason}: ") and "\n" not in result.error
    assert result.to_json()["stop_reason"] == reason and result.to_json()["error"] == result.error


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_candidate_failing_is_no_candidates_left_with_counts(algorithm):
    world = FakeWorld(root="⊢ r", moves={("⊢ r", "go"): "⊢ s"})  # everything else fails
    policy = TablePolicy({}, default=[("go", -0.1), ("bad1", -0.2), ("sorry", -0.3), ("bad2", -0.4)])
    result = prove(THEOREM, FakeEnv(world), policy, algorithm=algorithm,
                   budget=SearchBudget(max_expansions=None, time_limit_s=30.0))
    assert result.status == "failed"
    assert_explained(result, "no candidates left")
    # root: go -> s, bad1, bad2 fail, sorry refused; s: go, bad1, bad2 fail, sorry refused
    assert result.error.startswith("no candidates left: all 8 tactics tried at 2 states failed or were refused")
    assert "5 failed" in result.error and "2 refused by the guard" in result.error
    assert "1 led to states that failed in turn" in result.error
    assert "of a 30 s budget" in result.error and "6 tactic runs" in result.error


def test_a_policy_with_nothing_to_say_is_no_candidates_left_too():
    result = prove(THEOREM, FakeEnv(chain_world(2)), TablePolicy({}), budget=SearchBudget(**UNLIMITED))
    assert_explained(result, "no candidates left")
    assert "proposed no tactic" in result.error


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_spent_budget_names_its_limit_and_the_knob_to_raise(algorithm):
    policy = TablePolicy({}, default=[("t1", -1.0), ("t2", -1.1)])
    result = prove(THEOREM, FakeEnv(endless_world()), policy, algorithm=algorithm, concurrency=1,
                   budget=SearchBudget(max_expansions=5, time_limit_s=None))
    assert_explained(result, "expansion limit")
    assert "5 of 5 expansions" in result.error and "--max-expansions" in result.error

    result = prove(THEOREM, FakeEnv(endless_world()), policy, algorithm=algorithm,
                   budget=SearchBudget(max_expansions=None, time_limit_s=None, max_env_calls=7))
    assert_explained(result, "env call limit")
    assert "7 of 7 tactic runs" in result.error and "--max-env-calls" in result.error

    costly = TablePolicy({}, default=[("t1", -1.0, 10), ("t2", -1.1, 10)])
    result = prove(THEOREM, FakeEnv(endless_world()), costly, algorithm=algorithm,
                   budget=SearchBudget(max_expansions=None, time_limit_s=None, max_tokens=45))
    assert_explained(result, "token limit")
    assert "of 45 generated tokens" in result.error and "--max-tokens" in result.error
    # candidates the token budget refused do not settle a node: the tree is not "exhausted"
    assert result.tree.root_status is NodeStatus.OPEN

    clock = FakeClock()
    world = endless_world(seconds_per_call=0.5, clock=clock)
    result = prove(THEOREM, FakeEnv(world), policy, algorithm=algorithm, clock=clock, concurrency=1,
                   budget=SearchBudget(max_expansions=None, time_limit_s=3.0))
    assert_explained(result, "time limit")
    assert "3.00 of 3 seconds" in result.error and "--time-limit" in result.error


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_proof_rejected_by_reverification_says_so(algorithm):
    world = chain_world(2)
    world.lie_about = frozenset({"cheat"})
    result = prove(THEOREM, FakeEnv(world), TablePolicy({}, default=[("cheat", -0.1)]), algorithm=algorithm,
                   budget=SearchBudget(max_expansions=5, time_limit_s=None))
    assert result.status == "failed"
    assert_explained(result, "verification failed")
    assert "found 1 proof, but re-verification rejected 1" in result.error and "cheat" in result.error


def test_a_proof_rejected_by_the_guard_says_so(monkeypatch):
    import sys

    # The guard runs on each tactic before it is tried, so a proof it rejects as a whole can only
    # come from a guard rule about whole proofs: stand one in.
    monkeypatch.setattr(sys.modules["search.prove"], "check_proof", lambda proof: ["no proofs ending in finish today"])
    result = prove(THEOREM, FakeEnv(chain_world(2)), TablePolicy({}, default=[("step", -0.1), ("finish", -0.2)]),
                   budget=SearchBudget(**UNLIMITED))
    assert_explained(result, "verification failed")
    assert "the guard rejected 1" in result.error and "re-verification" not in result.error
    assert "no proofs ending in finish today" in result.error


@pytest.mark.parametrize("error, reason, words", [
    (TheoremStartError("the statement of t does not elaborate:\n1:27: error: embedded kernel: "
                       "unsupported construct: Function.Injective"),
     "outside fragment", "unsupported construct: Function.Injective"),
    (TheoremStartError("the statement of t does not elaborate:\n1:0: error: embedded kernel: the statement is "
                       "outside the trusted core's fragment: nested binders"),
     "outside fragment", "nested binders"),
    (TheoremStartError("the statement of t does not elaborate:\n1:25: error: unknown identifier 'foo'"),
     "statement rejected", "unknown identifier 'foo'"),
    (RuntimeError("the REPL process died"), "backend error", "could not start a proof session"),
])
def test_a_session_that_cannot_start_says_whose_fault_it_is(error, reason, words):
    result = prove(THEOREM, FakeEnv(chain_world(2), start_error=error), TablePolicy({}))
    assert result.status == "error" and result.env_calls == 0
    assert_explained(result, reason)
    assert words in result.error


def test_a_start_error_caused_by_a_crash_is_the_backends_fault():
    try:
        try:
            raise ConnectionError("pipe closed")
        except ConnectionError as crash:
            raise TheoremStartError("could not open t: pipe closed") from crash
    except TheoremStartError as error:
        result = prove(THEOREM, FakeEnv(chain_world(2), start_error=error), TablePolicy({}))
    assert_explained(result, "backend error")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_backend_failing_on_every_tactic_is_a_backend_error_not_a_hard_theorem(algorithm):
    def broken(pp, tactic):
        raise OSError("lean went away")

    result = prove(THEOREM, FakeEnv(FakeWorld(root="⊢ r", generator=broken)),
                   TablePolicy({}, default=[("a", -0.1), ("b", -0.2)]), algorithm=algorithm,
                   budget=SearchBudget(**UNLIMITED))
    assert result.status == "error"
    assert_explained(result, "backend error")
    assert "failed on all 2 tactic runs" in result.error


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_policy_that_raises_is_a_search_error(algorithm):
    class Broken:
        async def propose(self, requests, k):
            raise RuntimeError("engine fell over\nwith a traceback")

    result = prove(THEOREM, FakeEnv(chain_world(2)), Broken(), algorithm=algorithm)
    assert result.status == "error"
    assert_explained(result, "search error")
    assert "engine fell over with a traceback" in result.error


def test_a_proof_has_no_error_and_the_proved_code():
    result = prove(THEOREM, FakeEnv(chain_world(2)), TablePolicy({}, default=[("step", -0.1), ("finish", -0.2)]),
                   budget=SearchBudget(**UNLIMITED))
    assert result.status == "proved" and result.stop_reason == "proved" and result.error is None



@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_tactic_cut_short_by_the_time_limit_is_the_time_limit_not_a_failed_tactic(algorithm):
    from search_fakes import HANG

    clock = FakeClock()
    world = FakeWorld(root="⊢ r", moves={("⊢ r", "slow"): HANG}, seconds_per_call=2.0, clock=clock)
    policy = TablePolicy({}, default=[("slow", -0.1)])
    # 3 s left when the tactic starts, less than its own 10 s timeout: the search's clock cut it
    cut = prove(THEOREM, FakeEnv(world), policy, algorithm=algorithm, clock=clock,
                budget=SearchBudget(max_expansions=None, time_limit_s=3.0, tactic_timeout_s=10.0))
    assert_explained(cut, "time limit")
    assert cut.tree.root_status is NodeStatus.OPEN and cut.tree.graph.nodes["⊢ r"]["failures"] == []

    # the tactic's own timeout: a failed tactic like any other
    clock.now = 0.0
    own = prove(THEOREM, FakeEnv(world), policy, algorithm=algorithm, clock=clock,
                budget=SearchBudget(max_expansions=None, time_limit_s=60.0, tactic_timeout_s=1.0))
    assert_explained(own, "no candidates left")
    assert "1 timed out" in own.error
