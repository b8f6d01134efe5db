"""benchmarks/policy_bench: the real `prover eval` per policy, joined back to the curriculum families."""
from __future__ import annotations

from benchmarks.policy_bench import (
    POLICIES,
    Budget,
    Cell,
    markdown,
    run_policy,
    write_heldout,
)


def test_hammer_cell_on_a_small_heldout_set_and_the_table(tmp_path):
    data = tmp_path / "heldout.jsonl"
    names = write_heldout(seed=5, per_family=1, path=data)
    assert len(names) == 11 and set(names.values()) >= {"existential", "quadratic_inequality"}
    hammer = run_policy(["--data", str(data)], "hammer", tmp_path / "unused", Budget(8, 20), tmp_path / "h")
    assert hammer.theorems == 11 and hammer.proved <= set(names)
    # The hammer proves the linear families and the existential (`use` with the witness solved
    # from the goal), not the quadratic inequality (it needs the right hint terms).
    assert any(names[n] == "linear_equation" for n in hammer.proved)
    assert any(names[n] == "existential" for n in hammer.proved)
    assert not any(names[n] == "quadratic_inequality" for n in hammer.proved)

    # The table: mixed − hammer in points, per-family counts from the names' families.
    cells = {"hammer": hammer, "model": Cell(set(), 11, 1.0),
             "mixed": Cell(hammer.proved | {n for n, f in names.items() if f == "quadratic_inequality"}, 11, 2.0)}
    text = markdown({5: (names, cells)}, None, tmp_path / "ckpt", Budget(8, 20), 1)
    gap = 100 * (len(cells["mixed"].proved) - len(hammer.proved)) / 11
    assert f"**{gap:+.1f} points**" in text
    assert "| quadratic_inequality | 1 | 0 | 0 | 1 |" in text and "| existential | 1 | 1 | 0 | 1 |" in text
    assert "wall time hammer / model / mixed" in text and f"{hammer.wall_s:.0f} s / 1 s / 2 s |" in text
    assert all(p in text for p in POLICIES)
