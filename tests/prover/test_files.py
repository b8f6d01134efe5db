"""How a .lean FILE is read, attempted, reported and written back (issue 16): the CLI through a
subprocess (`python -m prover.cli prove`), the HTTP API through a test client, and the two agree.

Byte-exact round trips (CRLF, a byte order mark, tabs in comments, no final newline, «names»),
proofs that end in `sorry` (attempted from the goal the file's tactics leave; earlier sorried
declarations never reach a later theorem), positions in the user's file, `variable` and lambda
sums end to end, and "nothing to prove" (exit 0, said out loud)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lean_env.theorem import parse_lean_file
from prover.config import ProverConfig
from prover.service import ManagerFactory, build_app

REPO = Path(__file__).resolve().parents[2]
FAST = ["--policy", "hammer", "--time-limit", "20", "--max-expansions", "8"]
SEARCH = {"budget": {"time_limit_s": 20, "max_expansions": 8}}

PARTIAL = ("import Mathlib\n\n"
           "theorem t1 : (2:ℕ) + 2 = 4 := by\n  sorry\n\n"
           "theorem t15 (a b : ℕ) (h₀ : a = 3) (h₁ : b = 4) : a^2+b^2 = 25 := by\n  subst h₀ h₁\n  sorry\n\n"
           "theorem t2 : (3:ℕ) * 3 = 9 := by\n  sorry\n")
SORRIED_LEMMA = ("import Mathlib\n\n"
                 "theorem bad : False := by sorry\n\n"
                 "theorem uses : False := bad\n\n"
                 "theorem later : False := by\n  sorry\n\n"
                 "theorem leans_on_bad : False := by\n  have h := bad\n  sorry\n\n"
                 "theorem nested : (1:ℕ) = 1 ∧ (2:ℕ) = 2 := by\n  constructor\n  · sorry\n  · rfl\n")
FRAGMENT = ("import Mathlib\n\n"
            "theorem s1 : (Finset.sum (Finset.range 11) fun k => k) = 55 := by\n  sorry\n\n"
            "section\nvariable (y : ℝ)\ntheorem v1 (h : y + 1 = 2) : y = 1 := by\n  sorry\nend\n")
WEIRD = "import Mathlib\n\ntheorem «weird name with spaces» : (1:ℕ) + 1 = 2 := by\n  sorry\n"
POSITIONS = ("import Mathlib\n\n"
             + "".join(f"theorem a{i} : (1:ℕ) + {i} = {i + 1} := by\n  sorry\n\n" for i in range(1, 4))
             + "theorem stmt (x : ℕ) :\n    x = \"a\".length := by\n  sorry\n\n"
             "theorem given (x : ℕ) (h : x = 2) : x + 1 = 3 := by\n  subst h\n  exact nonsense_lemma\n  sorry\n")
NOTHING = "import Mathlib\n\ntheorem done : (1:ℕ) + 1 = 2 := by\n  norm_num\n"
REFUSED = "import Mathlib\n\naxiom cheat : (1:ℕ) = 2\n\ntheorem t : (1:ℕ) = 2 := by\n  sorry\n"
UNPARSABLE = "import Mathlib\n\ntheorem t : ((1:ℕ) = 1 := by\n  sorry\n"


@dataclass
class CliRun:
    code: int
    output: str
    out: bytes | None
    report: dict | None


def cli_prove(tmp_path: Path, content: bytes, name: str = "f.lean") -> CliRun:
    source, out, report = tmp_path / name, tmp_path / f"out-{name}", tmp_path / f"{name}.report.json"
    source.write_bytes(content)
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "400"}
    done = subprocess.run([sys.executable, "-m", "prover.cli", "prove", str(source), "--out", str(out),
                           "--report", str(report), *FAST],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    return CliRun(done.returncode, done.stdout + done.stderr, out.read_bytes() if out.exists() else None,
                  json.loads(report.read_text()) if report.exists() else None)


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = build_app(ManagerFactory(config=ProverConfig(policy={"name": "hammer"}), use_ray=False))
    with TestClient(app) as test_client:
        yield test_client


def http_prove(client: TestClient, text: str) -> tuple[int, dict]:
    """(status code of POST /prove, the finished job or the refusal)."""
    response = client.post("/prove", json={"file": text, "search": SEARCH})
    if response.status_code != 202:
        return response.status_code, response.json()
    url = response.json()["status_url"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = client.get(url).json()
        if job["status"] != "running":
            return 202, job
        time.sleep(0.1)
    raise AssertionError("the job did not finish")


def rows(report: dict) -> dict[str, dict]:
    return {row["name"]: row for row in report["results"]}


# -- 1. byte-exact round trips ----------------------------------------------------------------------

def test_crlf_file_round_trips_byte_exactly(tmp_path: Path) -> None:
    unprovable = "import Mathlib\r\n\r\ntheorem c : (3:ℕ)+4=8 := by\r\n  sorry\r\n".encode()
    run = cli_prove(tmp_path, unprovable, "false.lean")
    assert run.code == 1 and run.out == unprovable  # nothing proved: `cmp` equal

    provable = "import Mathlib\r\n\r\ntheorem c : (3:ℕ)+4=7 := by\r\n  sorry\r\n".encode()
    run = cli_prove(tmp_path, provable)
    assert run.code == 0, run.output
    proof = rows(run.report)["c"]["proof"].strip()
    # only the `sorry` span differs, and the spliced proof uses the file's CRLF
    assert run.out == provable.replace(b"  sorry", b"  " + proof.replace("\n", "\r\n  ").encode())
    assert b"\n" not in run.out.replace(b"\r\n", b"")


def test_bom_tab_in_comment_and_no_final_newline_round_trip(tmp_path: Path) -> None:
    text = "\ufeffimport Mathlib\r\n-- a\ttab in a comment\r\ntheorem c : (3:ℕ)+4=7 := by\r\n    sorry"
    run = cli_prove(tmp_path, text.encode())
    assert run.code == 0, run.output
    proof = rows(run.report)["c"]["proof"].strip()
    assert "\n" not in proof  # one tactic: the expected text below is exact
    assert run.out == text.replace("    sorry", "    " + proof).encode()  # the BOM, the tab, the 4-space indent kept

    code, job = http_prove(client_for_module(), text)
    assert code == 202 and job["proved_file"] == text.replace("    sorry", "    " + proof)


def test_a_tab_in_code_is_refused_where_lean_refuses_it(tmp_path: Path) -> None:
    run = cli_prove(tmp_path, b"import Mathlib\ntheorem c : (3:\xe2\x84\x95)+4=7 := by\n\tsorry\n")
    assert run.code == 2 and "3:0" in run.output and "tabs are not allowed" in run.output
    assert run.out is None and run.report is None


# -- 2. proofs that end in sorry ----------------------------------------------------------------------

def test_a_proof_ending_in_sorry_is_finished_and_does_not_break_later_theorems(tmp_path: Path) -> None:
    run = cli_prove(tmp_path, PARTIAL.encode())
    assert run.code == 0, run.output
    found = rows(run.report)
    assert list(found) == ["t1", "t15", "t2"] and all(r["status"] == "proved" for r in found.values())
    assert "sorry" in found["t15"]["note"]
    # the file's `subst h₀ h₁` is kept; only each `sorry` was replaced
    out = run.out.decode()
    assert "  subst h₀ h₁\n  " + found["t15"]["proof"].strip() + "\n\ntheorem t2" in out
    assert parse_lean_file(out).sites == () and "sorry" not in out


def test_a_sorried_lemma_never_proves_anything(tmp_path: Path) -> None:
    parsed = parse_lean_file(SORRIED_LEMMA)
    later = next(s for s in parsed.sites if s.theorem.name == "later")
    assert "bad" not in later.theorem.header and "uses" not in later.theorem.header

    run = cli_prove(tmp_path, SORRIED_LEMMA.encode())
    assert run.code == 1
    found = rows(run.report)
    assert list(found) == ["bad", "later", "leans_on_bad", "nested"]
    assert all(r["status"] != "proved" for r in found.values())
    assert "mentions bad" in found["leans_on_bad"]["error"] and "not attempted" in found["leans_on_bad"]["error"]
    assert "uses `sorry` at 16:4" in found["nested"]["error"]
    assert any("uses mentions bad" in note for note in run.report["notes"])
    assert run.out == SORRIED_LEMMA.encode()


# -- 4. positions in the user's file ---------------------------------------------------------------

def test_every_position_is_in_the_users_file(tmp_path: Path) -> None:
    run = cli_prove(tmp_path, POSITIONS.encode())
    found = rows(run.report)
    assert found["stmt"]["line"] == 12 and "13:8" in found["stmt"]["error"]  # the string literal
    assert "outside the embedded kernel's fragment" in found["stmt"]["error"]
    assert "does not elaborate" not in found["stmt"]["error"]
    assert found["given"]["line"] == 16 and "tactic 2 of 2 at 18:2" in found["given"]["error"]
    assert "nonsense_lemma" in found["given"]["error"]
    header_error = "import Mathlib\n\n" + "theorem a : (1:ℕ) = 1 := by\n  sorry\n\n" * 3 + \
        "def d : ℕ := 1\n\ntheorem z : (1:ℕ) = 1 := by\n  sorry\n"
    run = cli_prove(tmp_path, header_error.encode(), "header.lean")
    assert "12:0" in rows(run.report)["z"]["error"]  # the `def`, on line 12 of the file


# -- 5. valid Lean in the embedded fragment, end to end --------------------------------------------

def test_lambda_sums_and_section_variables_are_proved(tmp_path: Path) -> None:
    run = cli_prove(tmp_path, FRAGMENT.encode())
    assert run.code == 0, run.output
    assert {n: r["status"] for n, r in rows(run.report).items()} == {"s1": "proved", "v1": "proved"}
    code, job = http_prove(client_for_module(), FRAGMENT)
    assert code == 202 and job["proved"] == 2 and job["proved_file"] == run.out.decode()


# -- 10. names in guillemets -------------------------------------------------------------------------

def test_names_in_guillemets_are_whole(tmp_path: Path) -> None:
    run = cli_prove(tmp_path, WEIRD.encode())
    name = "«weird name with spaces»"
    assert list(rows(run.report)) == [name] and name in run.output
    assert run.code == 1 and run.out == WEIRD.encode()  # the embedded kernel refuses such a name: unchanged
    assert "escaped identifier" in rows(run.report)[name]["error"]
    code, job = http_prove(client_for_module(), WEIRD)
    assert code == 202 and [r["name"] for r in job["results"]] == [name]


# -- 11a. nothing to prove ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", NOTHING])
def test_nothing_to_prove_says_so_and_exits_0(tmp_path: Path, text: str) -> None:
    run = cli_prove(tmp_path, text.encode())
    assert run.code == 0 and "nothing to prove" in run.output
    assert run.out == text.encode() and run.report["theorems"] == 0
    code, job = http_prove(client_for_module(), text)
    assert code == 202 and job["status"] == "done" and job["theorems"] == 0
    assert any("nothing to prove" in note for note in job["notes"]) and job["proved_file"] == text


# -- the CLI and the HTTP API agree -------------------------------------------------------------------

_CLIENT: list[TestClient] = []


def client_for_module() -> TestClient:
    """One app for the tests that are not given the fixture (kept for the module's life)."""
    if not _CLIENT:
        app = build_app(ManagerFactory(config=ProverConfig(policy={"name": "hammer"}), use_ray=False))
        _CLIENT.append(TestClient(app))
    return _CLIENT[0]


@pytest.mark.parametrize("text", [PARTIAL, SORRIED_LEMMA, FRAGMENT, WEIRD, POSITIONS, NOTHING, REFUSED, UNPARSABLE,
                                  "import Mathlib\r\n\r\ntheorem c : (3:ℕ)+4=7 := by\r\n  sorry\r\n"])
def test_cli_and_http_attempt_and_refuse_the_same(tmp_path: Path, client: TestClient, text: str) -> None:
    run = cli_prove(tmp_path, text.encode())
    code, job = http_prove(client, text)
    assert (run.code == 2) == (code == 422), (run.output, job)
    if code == 422:
        problems, shown = job["detail"]["problems"], " ".join(run.output.split())
        for problem in problems:  # the same place and reason (the CLI names the file too)
            where, why = re.search(r"(\d+:\d+): (.*)", problem).groups()
            assert f"{where}: {' '.join(why.split())[:40]}" in shown, (problem, run.output)
        return

    def attempted(results: list[dict]) -> list[tuple]:
        return [(r["name"], r["line"], r["error"] if (r["error"] or "").startswith("not attempted") else None)
                for r in results]

    assert attempted(job["results"]) == attempted(run.report["results"])
    assert job["notes"] == run.report["notes"]


def test_the_embedded_kernel_reuses_proved_lemmas_and_never_a_sorried_one(tmp_path: Path) -> None:
    from lean_env import Theorem, open_env

    reuse = ("import Mathlib\n\ntheorem h2 (x : ℕ) : x + 0 = x := by simp\n\n"
             "theorem t (y : ℕ) (h : y + 0 = 5) : y = 5 := by\n  have k := h2 y\n  sorry\n")
    run = cli_prove(tmp_path, reuse.encode())
    assert run.code == 0 and rows(run.report)["t"]["status"] == "proved", run.output
    # Even a header that kept a sorried lemma could prove nothing: the kernel refuses such a header.
    env = open_env("embedded")
    try:
        theorem = Theorem("uses", "import Mathlib\n\ntheorem bad : False := by sorry\n", "theorem uses : False := by")
        with pytest.raises(Exception, match="sorry"):
            env.start(theorem)
        assert not env.verify(theorem, "exact bad").ok
    finally:
        env.close()
