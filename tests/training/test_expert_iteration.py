"""Expert iteration: only re-verified proofs become training steps; a real round on the embedded kernel."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from lean_env.theorem import Theorem
from lean_env.types import ProofFinished, TacticState
from model.loader import load_model
from search import SearchBudget, SearchConfig
from search.policy import make_policy
from search.result import SearchResult
from search.tree import ProofTree
from training.curriculum import MINIF2F_HEADER, generate
from training.examples import read_examples, replay_proof
from training.expert_iteration import ExpertIterationConfig, Problem, run_round, verified_steps


def hammer_factory(checkpoint):
    """A policy factory for rounds that need no model (the hammer), closing nothing."""
    return make_policy("hammer"), lambda: None


THEOREM = Theorem("t", MINIF2F_HEADER, "theorem t (x : ℝ) (h₀ : x + 1 = 3) : x = 2 := by")


def _two_step_tree() -> ProofTree:
    root = TacticState("x : ℝ\nh₀ : x + 1 = 3\n⊢ x = 2", 0)
    middle = TacticState("x : ℝ\nh₀ : x = 2\n⊢ x = 2", 1)
    tree = ProofTree(root)
    tree.add_result(root.pp, "simp at h₀", -0.5, middle)
    tree.add_result(middle.pp, "exact h₀", -0.1, ProofFinished(2))
    return tree


def _result(status: str, proof: str | None, tree: ProofTree) -> SearchResult:
    return SearchResult(name="t", status=status, proof=proof, time_s=0.1, expansions=2, env_calls=2, tokens=0,
                        backend="test", tree=tree)


def test_steps_come_only_from_the_reverified_proof():
    tree = _two_step_tree()
    steps = verified_steps(_result("proved", "  simp at h₀\n  exact h₀", tree), THEOREM)
    assert [(s.state, s.proof_so_far, s.tactic) for s in steps] == [
        ("x : ℝ\nh₀ : x + 1 = 3\n⊢ x = 2", (), "simp at h₀"),
        ("x : ℝ\nh₀ : x = 2\n⊢ x = 2", ("simp at h₀",), "exact h₀"),
    ]
    # The tree holds a proof, but re-verification rejected it: nothing is kept.
    assert verified_steps(_result("failed", None, tree), THEOREM) == []
    # A "proved" result whose proof is not a path of the tree keeps nothing either.
    assert verified_steps(_result("proved", "  linarith", tree), THEOREM) == []


def test_one_round_on_the_embedded_kernel(tmp_path, tokenizer_dir, tiny_config, embedded_env):
    """Real search (hammer policy, embedded kernel), step extraction and a (tiny) retrain."""
    items = generate(seed=3, split="train", per_family=1,
                     families=["linear_equation", "modular_arithmetic", "closed_computation"])
    problems = [Problem(Theorem(i.name, i.header, i.formal_statement), "curriculum") for i in items]
    false = Theorem("false_claim", MINIF2F_HEADER, "theorem false_claim (x : ℝ) (h₀ : 2 * x = 4) : x = 3 := by")
    problems.append(Problem(false, "curriculum"))
    config = ExpertIterationConfig(out_dir=tmp_path / "ei", rounds=1, policy="hammer",
                                   search=SearchConfig(budget=SearchBudget(max_expansions=4, time_limit_s=60)),
                                   include_minif2f_valid=False, parallel_theorems=1,
                                   base=tiny_config(tmp_path / "unused", tokenizer_dir, steps=2))

    report, steps = run_round(1, tokenizer_dir, problems, embedded_env, hammer_factory, config)
    assert report.proved == 3 and report.proved_by_source == {"curriculum": 3}
    assert {s.name for s in steps} == {i.name for i in items}          # nothing from the false claim
    assert read_examples(tmp_path / "ei" / "round_1" / "steps.jsonl") == steps
    by_name = {i.name: i for i in items}
    for step in steps:                                                  # each kept path proves its theorem
        item = by_name[step.name]
        assert replay_proof(embedded_env, item.name, item.header, item.formal_statement,
                            [*step.proof_so_far, step.tactic]) is not None
    rows = [json.loads(line) for line in (tmp_path / "ei" / "round_1" / "search.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["proved", "proved", "proved", "failed"]
    assert report.train is not None and len(report.train.losses) == 2
    assert load_model(report.checkpoint) is not None


def test_a_continued_round_starts_from_the_round_checkpoint(tmp_path, tokenizer_dir, tiny_config, embedded_env):
    """retrain_steps > 0: the next model is the current one trained further, not a fresh init."""
    import torch

    items = generate(seed=4, split="train", per_family=1, families=["closed_computation"])
    problems = [Problem(Theorem(i.name, i.header, i.formal_statement), "curriculum") for i in items]
    base = tiny_config(tmp_path / "unused", tokenizer_dir, steps=2)
    scratch = ExpertIterationConfig(out_dir=tmp_path / "ei", rounds=1, policy="hammer",
                                    search=SearchConfig(budget=SearchBudget(max_expansions=4, time_limit_s=30)),
                                    include_minif2f_valid=False, parallel_theorems=1, base=base)

    first, steps = run_round(1, tokenizer_dir, problems, embedded_env, hammer_factory, scratch)
    continued = replace(scratch, retrain_steps=1, retrain_learning_rate=1e-9)
    second, _ = run_round(2, first.checkpoint, problems, embedded_env, hammer_factory, continued, previous_steps=steps)
    log = json.loads((second.checkpoint / "training_log.json").read_text())
    assert log["config"]["init_checkpoint"] == str(first.checkpoint)
    assert log["config"]["steps"] == 1 and len(second.train.losses) == 1
    # One step at a negligible learning rate keeps the weights of round 1 (a fresh init would not).
    before, after = load_model(first.checkpoint), load_model(second.checkpoint)
    name, weight = next((n, p) for n, p in before.named_parameters() if p.dim() == 2)
    assert torch.allclose(weight, dict(after.named_parameters())[name], atol=1e-5)
    with pytest.raises(ValueError, match="retrain_steps"):
        ExpertIterationConfig(retrain_steps=-1)
