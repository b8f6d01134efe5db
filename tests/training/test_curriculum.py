"""The theorem generator: deterministic, true by exact checks, parseable by the embedded kernel."""
from __future__ import annotations

import json
import re
from collections import Counter
from fractions import Fraction

import pytest

from lean_env.datasets import minif2f_dir
from lean_env.embedded.statement import elaborate_theorem
from prover.evaluate import load_problems
from training import curriculum
from training.curriculum import (
    FAMILIES,
    MINIF2F_HEADER,
    CurriculumError,
    generate,
    holds,
    read_jsonl,
    split_of,
    write_jsonl,
)

MINIF2F = minif2f_dir()


@pytest.fixture(scope="module")
def train_items():
    return generate(seed=0, split="train", per_family=8)


@pytest.fixture(scope="module")
def heldout_items():
    return generate(seed=0, split="heldout", per_family=8)


def test_same_seed_same_items_other_seed_other_items(train_items):
    again = generate(seed=0, split="train", per_family=8)
    assert [i.to_json() for i in again] == [i.to_json() for i in train_items]
    other = generate(seed=1, split="train", per_family=8)
    assert {i.formal_statement.split(" ", 2)[2] for i in other} != {
        i.formal_statement.split(" ", 2)[2] for i in train_items}


def test_heldout_is_disjoint_from_train_across_seeds_and_sizes(train_items, heldout_items):
    def body(item):
        return item.formal_statement.split(" ", 2)[2]

    train_bodies = {body(i) for i in train_items} | {body(i) for i in generate(seed=1, split="train", per_family=20)}
    assert heldout_items, "the held-out split is empty"
    assert all(body(i) not in train_bodies for i in heldout_items)
    assert all(split_of(i.formal_statement) == "heldout" for i in heldout_items)
    assert all(split_of(i.formal_statement) == "train" for i in train_items)
    assert all(i.name.startswith("curriculum_heldout_") and i.split == "heldout" for i in heldout_items)
    assert not {i.name for i in train_items} & {i.name for i in heldout_items}


def test_every_family_and_all_difficulties_appear(train_items):
    families = Counter(i.family for i in train_items)
    assert set(families) == set(FAMILIES) and all(n == 8 for n in families.values())
    assert {i.difficulty for i in train_items} == {1, 2, 3}
    for item in train_items:
        assert item.header == MINIF2F_HEADER
        assert item.formal_statement.startswith(f"theorem {item.name} ")
        assert item.formal_statement.endswith(" := by")
        assert item.tactics and all(t.strip() for t in item.tactics)
        assert item.truth_check


def test_header_is_minif2f_header():
    with (MINIF2F / "valid.jsonl").open(encoding="utf-8") as f:
        first = json.loads(f.readline())
    assert first["header"] == MINIF2F_HEADER


def test_every_theorem_parses_with_the_embedded_kernel(train_items, heldout_items):
    for item in [*train_items, *heldout_items]:
        elaborated = elaborate_theorem(item.formal_statement)
        assert elaborated.name == item.name
        state = elaborated.goal.pretty()
        assert "⊢" in state, f"{item.name}: no target in {state!r}"


def test_exact_evaluator_follows_lean_semantics():
    assert holds("3 * 3 + 2 = 11", {}, "ℝ")
    assert not holds("3 * 3 + 2 = 12", {}, "ℝ")
    assert holds("(2 - 5 : ℕ) = 0", {}, "ℕ")          # truncated subtraction
    assert holds("(2 - 5 : ℤ) = -3", {}, "ℤ")
    assert holds("(7 / 2 : ℕ) = 3", {}, "ℕ")          # floor division
    assert holds("(7 / 2 : ℝ) = 7 / 2", {}, "ℝ")
    assert holds("x / 0 = 0", {"x": Fraction(5)}, "ℝ")
    assert holds("-2 ^ 2 = -4", {}, "ℤ")              # ^ binds tighter than unary minus
    assert holds("2 ^ 3 ^ 2 = 512", {}, "ℕ")          # ^ is right associative
    assert not holds("4 ∣ 10", {}, "ℕ") and holds("5 ∣ 10", {}, "ℕ")
    assert holds("f (f 2) = 5", {"f": lambda v: 2 * v - 1}, "ℝ")
    assert not holds("x = 1 ∧ x > 2", {"x": Fraction(1)}, "ℝ")
    with pytest.raises(CurriculumError):
        holds("(1 : ℝ) = 1", {}, "ℕ")                 # ascription must match the domain


def test_a_printing_bug_is_caught_by_the_truth_check(monkeypatch):
    """The check reads the rendered text back, so a renderer that drops the constant term
    (a false statement) raises instead of being emitted."""
    original = curriculum.linear_text

    def drops_constant(coefs, const=0):
        return original(coefs, 0)

    monkeypatch.setattr(curriculum, "linear_text", drops_constant)
    with pytest.raises(CurriculumError):
        for _ in range(20):  # some draws have constant 0 and stay true; one with b ≠ 0 must fail
            generate(seed=0, split="train", per_family=20, families=["linear_equation"])


def test_jsonl_round_trip_and_prover_eval_reads_it(tmp_path, train_items):
    path = tmp_path / "curriculum.jsonl"
    assert write_jsonl(train_items, path) == len(train_items)
    assert [i.to_json() for i in read_jsonl(path)] == [i.to_json() for i in train_items]
    row = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert {"name", "split", "header", "formal_statement", "proof", "difficulty", "family"} <= set(row)
    assert row["proof"] == "\n".join("  " + t for t in row["tactics"])
    problems = load_problems(path)
    assert [p.name for p in problems] == [i.name for i in train_items]
    assert problems[0].statement == train_items[0].formal_statement


def test_unknown_split_or_family_is_refused():
    with pytest.raises(ValueError, match="split"):
        generate(0, "test", 1)
    with pytest.raises(ValueError, match="unknown families"):
        generate(0, "train", 1, families=["trigonometry"])


def test_every_reference_proof_checks_in_the_embedded_kernel(embedded_env):
    from lean_env.theorem import Theorem

    items = generate(seed=0, split="train", per_family=4) + generate(seed=0, split="heldout", per_family=3)
    for item in items:
        verdict = embedded_env.verify(Theorem(item.name, item.header, item.formal_statement), item.to_json()["proof"])
        assert verdict.ok, f"{item.formal_statement}\n{item.tactics}\n{verdict.messages}"


def test_the_kernel_rejects_the_reference_proof_of_a_falsified_statement(embedded_env):
    """Guards the test above: the same proofs on statements with a wrong answer must not check."""
    from lean_env.theorem import Theorem

    for item in generate(seed=0, split="train", per_family=1,
                         families=["linear_equation", "closed_computation", "function_equation"]):
        statement = re.sub(r"= (-?\d+) := by$", lambda m: f"= {int(m.group(1)) + 1} := by", item.formal_statement)
        assert statement != item.formal_statement
        verdict = embedded_env.verify(Theorem(item.name, item.header, statement), item.to_json()["proof"])
        assert not verdict.ok, statement
