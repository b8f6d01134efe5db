"""The REPL protocol through a real server process (`python -m lean_env.embedded`)."""
import json

HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat"
STMT = "theorem t (x y : ℝ) (h₀ : x + y = 10) (h₁ : x - y = 2) : x = 6 ∧ y = 4 := by"


def test_header_then_sorry_then_tactics(server):
    assert server.call({"cmd": HEADER}) == {"env": 0}
    r = server.call({"cmd": STMT + "\n  sorry", "env": 0})
    assert r["env"] == 1
    (sorry,) = r["sorries"]
    assert sorry["goal"] == "x y : ℝ\nh₀ : x + y = 10\nh₁ : x - y = 2\n⊢ x = 6 ∧ y = 4"
    assert sorry["pos"] == {"line": 2, "column": 2} and sorry["endPos"] == {"line": 2, "column": 7}
    assert any(m["severity"] == "warning" and "declaration uses 'sorry'" in m["data"] for m in r["messages"])
    root = sorry["proofState"]
    a = server.call({"tactic": "constructor", "proofState": root})
    assert a["goals"] == ["case left\nx y : ℝ\nh₀ : x + y = 10\nh₁ : x - y = 2\n⊢ x = 6",
                          "case right\nx y : ℝ\nh₀ : x + y = 10\nh₁ : x - y = 2\n⊢ y = 4"]
    assert a["proofStatus"] == "Incomplete: open goals remain"
    b = server.call({"tactic": "all_goals linarith", "proofState": a["proofState"]})
    assert b["goals"] == [] and b["proofStatus"] == "Completed"
    # any old proof state can be reused
    c = server.call({"tactic": "exact ⟨by linarith, by linarith⟩", "proofState": root})
    assert c["proofStatus"] == "Completed"
    bad = server.call({"tactic": "linarith", "proofState": root})
    assert bad["message"].startswith("Lean error:") and "linarith failed" in bad["message"]
    s = server.call({"tactic": "sorry", "proofState": root})
    assert s["goals"] == [] and s["proofStatus"] == "Incomplete: contains sorry"


def test_whole_proof_and_errors(server):
    ok = server.call({"cmd": HEADER + "\n" + STMT + "\n  constructor <;> linarith"})
    assert "messages" not in ok and "sorries" not in ok
    bad = server.call({"cmd": STMT + "\n  constructor\n  · linarith", "env": 0})
    (m,) = bad["messages"]
    assert m["severity"] == "error" and m["data"].startswith("unsolved goals\ncase right")
    assert m["pos"]["line"] == 1


def test_protocol_errors(server):
    assert server.call({"tactic": "intro x", "proofState": 10_000}) == {"message": "Unknown proof state."}
    assert server.call({"cmd": "theorem x : 1 = 1 := by rfl", "env": 999}) == {"message": "Unknown environment."}
    assert "not supported" in server.call({"pickleTo": "a.olean", "env": 0})["message"]
    r = server.call({"cmd": "import Mathlib", "env": 0})
    assert r["messages"][0]["severity"] == "error"
    unsupported = server.call({"cmd": "theorem t (x : ℝ) (h : Real.log x = 0) : x = 1 := by\n  sorry", "env": 0})
    assert "unsupported construct: Real.log" in unsupported["messages"][0]["data"]
    # responses are pretty-printed, followed by exactly one blank line
    text = server.raw(json.dumps({"cmd": "theorem q : 2 + 2 = 4 := by\n  norm_num", "env": 0}) + "\n\n")
    assert text.startswith("{\n") and json.loads(text) == {"env": json.loads(text)["env"]}


def test_only_a_known_integer_is_an_env_or_proof_state_id(server):
    """JSON `true` is not env 1, nor "1", 1.0, -1 or a list: each is refused as the REPL refuses an
    unknown environment / proof state, and nothing is elaborated in some other environment."""
    env = server.call({"cmd": "theorem idt : (1 : ℕ) + 1 = 2 := by\n  sorry"})["env"]
    assert env >= 1  # so `true` (== 1 in Python) would name a real environment if it were taken as an int
    state = server.call({"cmd": "theorem ids : (2 : ℕ) + 2 = 4 := by\n  sorry"})["sorries"][0]["proofState"]
    for bad in (True, False, str(env), float(env), -1, -env, [env], {"id": env}, env + 10_000):
        assert server.call({"cmd": "example : (1 : ℕ) = 1 := by\n  rfl", "env": bad}) == {
            "message": "Unknown environment."}, bad
        assert server.call({"tactic": "norm_num", "proofState": bad}) == {"message": "Unknown proof state."}, bad
    for good in (None, env):  # the real ones still work (null means no environment, as in the REPL)
        request = {"cmd": "example : (1 : ℕ) = 1 := by\n  rfl"} | ({} if good is None else {"env": good})
        assert "message" not in server.call(request)
    assert server.call({"tactic": "norm_num", "proofState": state})["proofStatus"] == "Completed"


def test_decimal_literals_print_as_written(server):
    """The core keeps a decimal's exact value only; the goal still shows `1.5`, not a truncation
    (states are the search tree's keys: `1.5 = 3` and `3 = 3` must not look alike)."""
    goal = server.call({"cmd": "theorem d1 : (1.5 : ℝ) = 3 := by sorry"})["sorries"][0]["goal"]
    assert goal == "⊢ 1.5 = 3"
    goal = server.call({"cmd": "theorem d2 (x : ℝ) (h : x = 0.25) : x * 4 = 1 := by sorry"})["sorries"][0]["goal"]
    assert goal.splitlines()[1:] == ["h : x = 0.25", "⊢ x * 4 = 1"]
    assert "messages" not in server.call({"cmd": "example : (2.5 : ℝ) * 2 = 5 := by norm_num"})
