"""The proof tree: merging by pp, cycles refused, status propagation, extraction, export."""
import json

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from lean_env.types import LeanError, ProofFinished, ProofGivenUp, TacticState, TacticTimeout
from search.tree import QED, NodeStatus, Outcome, ProofTree


def st(pp: str, i: int = 0) -> TacticState:
    return TacticState(pp=pp, id=i, num_goals=1)


def test_states_with_the_same_pp_share_one_node_and_keep_the_better_tactic():
    tree = ProofTree(st("⊢ a"))
    tree.add_result("⊢ a", "t1", -1.0, st("⊢ b", 1))
    tree.add_result("⊢ a", "t2", -2.0, st("⊢ c", 2))
    tree.add_result("⊢ b", "u", -0.5, st("⊢ d", 3))
    merged = tree.add_result("⊢ c", "v", -0.5, st("⊢ d", 4))
    assert merged.outcome is Outcome.STATE and not merged.is_new
    assert tree.num_states == 4
    assert tree.graph.in_degree("⊢ d") == 2
    again = tree.add_result("⊢ a", "t1bis", -0.1, st("⊢ b", 5))  # same pair, better tactic
    assert not again.is_new
    assert tree.graph.edges["⊢ a", "⊢ b"]["tactic"] == "t1bis"
    assert tree.graph.edges["⊢ a", "⊢ b"]["alternatives"] == 1
    assert tree.state("⊢ d").id == 3  # the first live state is the one kept


def test_a_tactic_back_to_an_ancestor_or_to_the_same_state_adds_no_edge():
    tree = ProofTree(st("⊢ a"))
    tree.add_result("⊢ a", "t", -1.0, st("⊢ b"))
    back = tree.add_result("⊢ b", "undo", -1.0, st("⊢ a"))
    same = tree.add_result("⊢ b", "skip", -1.0, st("⊢ b"))
    assert back.outcome is Outcome.CYCLE and same.outcome is Outcome.NO_PROGRESS
    assert nx.is_directed_acyclic_graph(tree.graph)
    outcomes = [f["outcome"] for f in tree.graph.nodes["⊢ b"]["failures"]]
    assert outcomes == ["cycle", "no_progress"]


def test_failures_are_recorded_on_the_node_with_their_outcome():
    tree = ProofTree(st("⊢ a"))
    tree.add_result("⊢ a", "bad", -1.0, LeanError("unknown tactic"))
    tree.add_result("⊢ a", "sorry", -1.0, ProofGivenUp())
    tree.add_result("⊢ a", "slow", -1.0, TacticTimeout())
    assert [f["outcome"] for f in tree.graph.nodes["⊢ a"]["failures"]] == ["error", "given_up", "timeout"]
    assert tree.graph.out_degree("⊢ a") == 0


def test_failed_needs_full_expansion_and_all_children_failed_and_proved_goes_up():
    tree = ProofTree(st("⊢ a"))
    tree.add_result("⊢ a", "x", -1.0, st("⊢ b"))
    tree.add_result("⊢ a", "y", -1.0, st("⊢ c"))
    tree.mark_expanded("⊢ b")                     # no children at all: FAILED
    assert tree.status("⊢ b") is NodeStatus.FAILED
    assert tree.root_status is NodeStatus.OPEN    # root not expanded yet
    tree.mark_expanded("⊢ a")
    assert tree.root_status is NodeStatus.OPEN    # ⊢ c still open
    tree.add_result("⊢ c", "z", -1.0, st("⊢ d"))
    tree.add_result("⊢ d", "done", -1.0, ProofFinished(9))
    assert [tree.status(n) for n in ("⊢ d", "⊢ c", "⊢ a")] == [NodeStatus.PROVED] * 3
    assert tree.check_consistency() == []
    assert tree.proof_tactics() == ["y", "z", "done"]
    assert tree.proof_text() == "  y\n  z\n  done"


def test_render_proof_indents_multi_line_tactics_as_a_block():
    from search.tree import render_proof
    assert render_proof(["intro x", "have h : 0 ≤ x ^ 2 := by\n  positivity", "linarith"]) == \
        "  intro x\n  have h : 0 ≤ x ^ 2 := by\n    positivity\n  linarith"
    with pytest.raises(ValueError, match="empty"):
        render_proof([])


def test_all_children_failed_makes_the_root_failed():
    tree = ProofTree(st("⊢ a"))
    tree.add_result("⊢ a", "x", -1.0, st("⊢ b"))
    tree.mark_expanded("⊢ a")
    assert tree.root_status is NodeStatus.OPEN
    tree.mark_expanded("⊢ b")
    assert tree.root_status is NodeStatus.FAILED
    assert tree.check_consistency() == []
    assert tree.proof_tactics() is None


def test_proofs_are_listed_shortest_first_and_distinct():
    tree = ProofTree(st("⊢ a"))
    tree.add_result("⊢ a", "long1", -1.0, st("⊢ b"))
    tree.add_result("⊢ b", "long2", -1.0, ProofFinished(1))
    tree.add_result("⊢ a", "short", -3.0, ProofFinished(2))
    assert list(tree.proofs(limit=5)) == [["short"], ["long1", "long2"]]


def test_json_round_trip_keeps_everything_and_dot_names_every_node():
    tree = ProofTree(st("x : ℕ\n⊢ x = \"q\""))
    root = tree.root
    tree.add_result(root, "intro h", -0.5, st("⊢ b"), tokens=3)
    tree.add_result("⊢ b", "bad", -1.0, LeanError("nope"))
    tree.add_result("⊢ b", "done", -0.25, ProofFinished(1))
    data = json.loads(json.dumps(tree.to_json()))
    again = ProofTree.from_json(data)
    assert again.to_json() == tree.to_json()
    assert again.root_status is NodeStatus.PROVED and again.check_consistency() == []
    assert again.proof_tactics() == ["intro h", "done"]
    with pytest.raises(KeyError, match="no live tactic state"):
        again.state(root)
    dot = tree.to_dot()
    assert dot.startswith("digraph") and dot.count("->") == 2
    assert '\\"q\\"' in dot and "QED" in dot


def test_from_json_rejects_a_document_that_is_not_a_tree():
    with pytest.raises(ValueError, match="not a proof-tree"):
        ProofTree.from_json({"nodes": []})


def test_unknown_parent_is_an_error_with_the_node_named():
    tree = ProofTree(st("⊢ a"))
    with pytest.raises(KeyError, match="unknown parent"):
        tree.add_result("⊢ zzz", "t", 0.0, st("⊢ b"))
    assert QED in tree.graph


_STEP = hs.tuples(hs.integers(0, 7), hs.integers(0, 8), hs.sampled_from(["state", "done", "error", "expand"]))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(hs.lists(_STEP, min_size=1, max_size=40))
def test_random_operation_sequences_keep_the_tree_consistent(steps):
    tree = ProofTree(st("⊢ 0"))
    for parent_i, child_i, kind in steps:
        parent = f"⊢ {parent_i}"
        if parent not in tree.graph:
            continue
        if kind == "state":
            tree.add_result(parent, f"to{child_i}", -1.0, st(f"⊢ {child_i}"))
        elif kind == "done":
            tree.add_result(parent, "fin", -1.0, ProofFinished(1))
        elif kind == "error":
            tree.add_result(parent, "bad", -1.0, LeanError("x"))
        else:
            tree.mark_expanded(parent)
        assert tree.check_consistency() == []
    for tactics in tree.proofs(limit=3):  # every extracted proof is a real path to QED
        node = tree.root
        for tactic in tactics[:-1]:
            node = next(c for c in tree.graph.successors(node) if tree.graph.edges[node, c]["tactic"] == tactic)
        assert tree.graph.has_edge(node, QED) and tactics[-1] == "fin"
