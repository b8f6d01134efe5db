"""Commands read by a real command parser (issue 13, item 4 and example 5).

Lean ends a declaration at any command keyword, at any column; `open`/`set_option` inside a
tactic block are read by Lean as the tactics `open … in tac`/`set_option … in tac`; anything
that is not a command we understand is an error naming it.
"""
from __future__ import annotations

import re

import pytest

import lean_env.embedded.checker as checker
from lean_env import Theorem, open_env, parse_lean_file
from lean_env.embedded.checker import check_command
from lean_env.embedded.commands import ScopeState, tokenize
from lean_env.embedded.parser import parse_theorem
from lean_env.embedded.server import EmbeddedRepl
from lean_env.embedded.statement import included_variables
from lean_env.guard import check_proof
from lean_env.lean_text import LeanSyntaxError

HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n"
EXAMPLE5 = "set_option maxHeartbeats 400000 in theorem hidden_a : (1 : ℕ) = 2 := by\n  open Nat"


def errors(text: str, allow_imports: bool = True, **kw) -> list[str]:
    res = check_command(text, allow_imports=allow_imports, env_lemmas={}, **kw)
    return [m.data for m in res.messages if m.severity == "error"]


class Recorder:
    """Stands in for `_check_decl`: records what each declaration is checked with and
    'proves' it (the proof engine is not what these tests are about)."""

    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, src, start, end, res, lemmas, variables=(), scoped=None):
        name = re.match(r"(?:theorem|lemma)\s+(\S+)", src[start:end])
        included = [v.name for v in included_variables(parse_theorem(src[:end], start), src, variables)] \
            if variables else []
        self.calls.append({"text": src[start:end], "lemmas": set(lemmas), "src": src, "variables": included})
        if name:
            res.lemmas[name.group(1)] = f"prop of {name.group(1)}"


@pytest.fixture
def recorder(monkeypatch):
    rec = Recorder()
    monkeypatch.setattr(checker, "_check_decl", rec)
    return rec


# -- example 5 on every path -------------------------------------------------------------------

def _has_error(resp: dict) -> bool:
    return any(m["severity"] == "error" for m in resp.get("messages", []))


def test_example5_is_rejected_by_the_server(server):
    assert server.call({"cmd": HEADER}) == {"env": 0}
    r = server.call({"cmd": EXAMPLE5, "env": 0})
    assert _has_error(r)
    data = [m["data"] for m in r["messages"]]
    assert any("unsolved goals" in d for d in data)  # the `by` block is empty
    assert any("'open' inside a proof" in d for d in data)
    # whole text in one command (no env), and the header + hidden theorem as a header
    r = server.call({"cmd": HEADER + "\n" + EXAMPLE5})
    assert _has_error(r)
    # a theorem hidden after a proof is checked too (never silently dropped)
    r = server.call({"cmd": "theorem t (h : (1 : ℕ) = 1) : (1 : ℕ) = 1 := by\n  exact h\n  theorem u : (1 : ℕ) = 2 := by\n"
                            "    sorry", "env": 0})
    assert any("declaration uses 'sorry'" in m["data"] for m in r["messages"])
    assert len(r.get("sorries", [])) == 1


def test_bool_env_and_proof_state_are_not_ids(server):
    assert server.call({"cmd": "theorem x : (1 : ℕ) = 1 := by\n  sorry", "env": True}) == {"message": "Unknown environment."}
    assert server.call({"cmd": "theorem x : (1 : ℕ) = 1 := by\n  sorry", "env": False}) == {"message": "Unknown environment."}
    repl = EmbeddedRepl()
    assert repl.handle({"cmd": HEADER}) == {"env": 0}
    assert repl.handle({"cmd": "theorem x : (1 : ℕ) = 1 := by\n  sorry", "env": True}) == {"message": "Unknown environment."}
    r = repl.handle({"cmd": "theorem x : (1 : ℕ) = 1 := by\n  sorry", "env": 0})
    assert repl.handle({"tactic": "rfl", "proofState": True}) == {"message": "Unknown proof state."}
    assert r["sorries"][0]["proofState"] == 0


def test_example5_is_rejected_by_verify():
    with open_env("embedded", pool_size=1) as env:
        stmt = "set_option maxHeartbeats 400000 in theorem hidden_a : (1 : ℕ) = 2 := by"
        assert not env.verify(Theorem("hidden_a", HEADER, stmt), "open Nat").ok
        assert not env.verify(Theorem("hidden_a", HEADER, stmt), "open Nat in norm_num").ok
        # the hidden theorem in a header: the header does not elaborate, nothing built on it passes
        hidden = Theorem("t", HEADER + "\n" + EXAMPLE5 + "\n", "theorem t : (1 : ℕ) = 2 := by")
        verdict = env.verify(hidden, "exact hidden_a")
        assert not verdict.ok


def test_example5_is_refused_by_the_file_parser():
    text = "import Mathlib\n\n" + EXAMPLE5 + "\n\ntheorem t : (1 : ℕ) = 2 := by\n  sorry\n"
    with pytest.raises(LeanSyntaxError, match="`open` inside theorem `hidden_a`"):
        parse_lean_file(text)
    # `set_option … in` and modifier forms are declarations of the file
    ok = ("import Mathlib\nopen Real\n\nset_option maxHeartbeats 400000 in\ntheorem a : (1 : ℕ) = 1 := by\n  sorry\n\n"
          "@[simp] theorem b : (1 : ℕ) = 1 := by sorry\n/-- doc -/\nprivate theorem c : (1 : ℕ) = 1 := by\n"
          "open Nat in theorem d : (1 : ℕ) = 1 := sorry\n")
    f = parse_lean_file(ok)
    assert [s.theorem.name for s in f.sites] == ["a", "b", "c", "d"]
    assert f.sites[0].theorem.statement == "set_option maxHeartbeats 400000 in\ntheorem a : (1 : ℕ) = 1 := by"
    assert f.sites[3].theorem.statement == "open Nat in theorem d : (1 : ℕ) = 1 := by"


def test_guard_refuses_open_and_set_option_in_proofs():
    for proof in ("open Nat", "  open Nat in simp", "norm_num\nopen Real in\n  simp", "set_option maxRecDepth 100 in simp",
                  "simp\nset_option maxHeartbeats 0"):
        assert check_proof(proof), proof
    assert check_proof("exact isOpen_Ioo") == []


# -- where declarations end ----------------------------------------------------------------------

def test_a_command_keyword_ends_the_proof_at_any_column(recorder):
    text = "theorem a : (1 : ℕ) = 1 := by\n  norm_num\n  theorem b : (1 : ℕ) = 2 := by\n    sorry\n"
    assert errors(text) == []
    assert [c["text"].split(":")[0].strip() for c in recorder.calls] == ["theorem a", "theorem b"]
    assert "theorem b" not in recorder.calls[0]["text"]
    # `end`, `example`, `#eval` in the middle of a proof end it too; the rest is read as commands
    errs = errors("theorem a : (1 : ℕ) = 1 := by\n  norm_num\n  #eval 1\n  simp\n")
    assert "embedded kernel: unsupported command '#eval'" in errs
    assert "invalid 'end', insufficient scopes" in errors("theorem a : (1 : ℕ) = 1 := by\n  norm_num\n  end\n")


def test_open_and_set_option_inside_a_proof_are_refused(recorder):
    for inner in ("open Nat", "open Nat in\n  simp", "set_option maxHeartbeats 400 in\n  simp"):
        errs = errors(f"theorem a : (1 : ℕ) = 1 := by\n  norm_num\n  {inner}\n")
        assert any("inside a proof" in e for e in errs), (inner, errs)
    # at column 0 after the proof, `open` is the next command (Lean ends the tactic block)
    recorder.calls.clear()
    assert errors("theorem a : (1 : ℕ) = 1 := by\n  norm_num\nopen Nat\ntheorem b : (1 : ℕ) = 1 := by\n  simp\n") == []
    assert len(recorder.calls) == 2


def test_stray_text_and_dedented_tactics_are_errors(recorder):
    assert errors("theorem a : (1 : ℕ) = 1 := by\n  norm_num\nsimp\n") == ["unexpected identifier; expected command"]
    # left of the block's column: Lean ends the block; `linarith` is not a command
    errs = errors("theorem a : (1 : ℕ) = 1 := by norm_num\n  linarith\n")
    assert errs == ["unexpected identifier; expected command"]
    assert recorder.calls[-1]["text"].rstrip().endswith("norm_num")
    assert errors("theorem a : (1 : ℕ) = 1 := rfl )\n") == ["unexpected token ')'; expected command"]


def test_an_empty_by_block_is_an_error():
    errs = errors(HEADER + "theorem a : (1 : ℕ) = 1 := by\ntheorem b : (1 : ℕ) = 1 := by\n  sorry\n")
    assert any("unsolved goals" in e for e in errs)


# -- unknown commands, modifiers, attributes, options ---------------------------------------------

@pytest.mark.parametrize("cmd,word", [
    ("def f : ℕ := 1", "def"), ("abbrev f : ℕ := 1", "abbrev"), ("instance : Inhabited ℕ := ⟨0⟩", "instance"),
    ("axiom bad : False", "axiom"), ("macro \"x\" : tactic => `(tactic| sorry)", "macro"),
    ("notation \"ω\" => 1", "notation"), ("#eval 1", "#eval"), ("#print axioms foo", "#print"),
    ("attribute [simp] foo", "attribute"), ("noncomputable def f : ℕ := 1", "def"),
    ("structure S where\n  x : ℕ", "structure"), ("private def g : ℕ := 1", "def"),
])
def test_unknown_commands_are_named(cmd, word):
    assert f"embedded kernel: unsupported command '{word}'" in errors(HEADER + cmd + "\n")


def test_stray_text_is_not_a_command():
    assert errors("foo bar\n") == ["unexpected identifier; expected command"]
    assert errors(HEADER + "import Mathlib\n") == ["invalid 'import' command, it must be used in the beginning of the file"]
    assert errors("import Mathlib\n", allow_imports=False) == [
        "invalid 'import' command, it must be used in the beginning of the file"]
    assert "unknown module prefix 'Foo'" in errors("import Foo.Bar\n")[0]


def test_modifiers_and_attributes(recorder):
    ok = ("/-- doc -/\ntheorem a : (1 : ℕ) = 1 := by\n  sorry\nprivate theorem b : (1 : ℕ) = 1 := by\n  sorry\n"
          "protected theorem c : (1 : ℕ) = 1 := by\n  sorry\n@[nolint] theorem d : (1 : ℕ) = 1 := by\n  sorry\n"
          "noncomputable theorem e : (1 : ℕ) = 1 := by\n  sorry\n")
    assert errors(ok) == []
    assert len(recorder.calls) == 5
    errs = errors("@[simp] theorem f : (1 : ℕ) = 1 := by\n  sorry\n")
    assert errs == ["embedded kernel: unsupported attribute 'simp' (it could change how later commands elaborate)"]
    assert errors("unsafe theorem g : (1 : ℕ) = 1 := by\n  sorry\n") == ["embedded kernel: unsupported modifier 'unsafe'"]
    assert errors("@[simp theorem g : (1 : ℕ) = 1 := by\n  sorry\n")  # unclosed attribute
    assert errors("/-- doc -/\n#eval 1\n") == ["embedded kernel: unsupported command '#eval'"]


def test_options():
    assert errors("set_option maxHeartbeats 400000\nset_option maxRecDepth 1000\nset_option linter.unusedVariables false\n") == []
    assert errors("set_option debug.skipKernelTC true\n") == [
        "embedded kernel: unsupported option 'debug.skipKernelTC' (only resource limits, linters, traces and "
        "printing options)"]
    assert any("not a valid value" in e for e in errors("set_option maxHeartbeats true\n"))
    assert any("unsupported option 'autoImplicit'" in e for e in errors("set_option autoImplicit true\n"))


# -- scopes ------------------------------------------------------------------------------------------

def test_namespaces_sections_and_end(recorder):
    res = check_command("namespace X\ntheorem foo : (1 : ℕ) = 1 := by\n  sorry\nend X\n", True, {})
    assert list(res.lemmas) == ["X.foo"] and not res.messages
    res = check_command("namespace A.B\ntheorem foo : (1 : ℕ) = 1 := by\n  sorry\nend B\nend A\n"
                        "theorem _root_.bar : (1 : ℕ) = 1 := by\n  sorry\n", True, {})
    assert list(res.lemmas) == ["A.B.foo", "bar"] and not res.messages
    assert errors("namespace X\nend Y\n") == ["invalid 'end', name mismatch (expected X)"]
    assert errors("namespace X\nend\n") == ["invalid 'end', name is missing (expected X)"]
    assert errors("section\nend X\n") == ["invalid 'end', name mismatch (expected nothing)"]
    assert errors("end\n") == ["invalid 'end', insufficient scopes"]
    assert errors("section S\nnoncomputable section\nend\nend S\nuniverse u v\n") == []
    assert check_command("namespace X\nsection\n", True, {}).scope.namespace == "X"


def test_names_resolve_in_their_scope(recorder):
    text = ("namespace X\ntheorem foo : (1 : ℕ) = 1 := by\n  sorry\ntheorem bar : (1 : ℕ) = 1 := by\n  sorry\nend X\n"
            "theorem baz : (1 : ℕ) = 1 := by\n  sorry\nopen X in\ntheorem qux : (1 : ℕ) = 1 := by\n  sorry\n"
            "theorem quux : (1 : ℕ) = 1 := by\n  sorry\n")
    res = check_command(text, True, {})
    assert not res.messages
    assert set(res.lemmas) == {"X.foo", "X.bar", "baz", "qux", "quux"}
    bar, baz, qux, quux = (c["lemmas"] for c in recorder.calls[1:])
    assert "foo" in bar and "X.foo" in bar  # inside namespace X, `foo` is `X.foo`
    assert "foo" not in baz and "X.foo" in baz
    assert {"foo", "bar"} <= qux  # `open X in` holds for that one declaration
    assert "foo" not in quux


def test_duplicate_names_use_the_full_name(recorder):
    res = check_command("theorem foo : (1 : ℕ) = 1 := by\n  sorry\nnamespace X\ntheorem foo : (1 : ℕ) = 1 := by\n  sorry\n"
                        "end X\ntheorem X.foo : (1 : ℕ) = 1 := by\n  sorry\n", True, {})
    assert [m.data for m in res.messages if m.severity == "error"] == ["'X.foo' has already been declared"]
    assert set(res.lemmas) == {"foo", "X.foo"}


def test_open_and_set_option_in_scope_one_command(recorder):
    res = check_command("set_option maxHeartbeats 400000 in\ntheorem a : (1 : ℕ) = 1 := by\n  sorry\n"
                        "open Real in theorem b : (1 : ℕ) = 1 := by\n  sorry\n", True, {})
    assert not res.messages and set(res.lemmas) == {"a", "b"}
    assert res.scope.opens == ()
    assert check_command("open Nat Real\n", True, {}).scope.opens == ("Nat", "Real")
    assert any("unknown namespace 'Foo'" in e for e in errors("open Foo\n"))
    assert any("`… in` before 'namespace'" in e for e in errors("open Nat in namespace X\n"))
    assert any("expected command after 'in'" in e for e in errors("open Nat in\nfoo\n"))


def test_scopes_carry_from_env_to_env():
    repl = EmbeddedRepl()
    assert repl.handle({"cmd": "namespace X\nsection S\n"}) == {"env": 0}
    r = repl.handle({"cmd": "end S\nend X", "env": 0})
    assert "messages" not in r
    r = repl.handle({"cmd": "end X", "env": 0})
    assert r["messages"][0]["data"] == "invalid 'end', name mismatch (expected S)"


# -- variables ---------------------------------------------------------------------------------------

def test_section_variables_become_binders_of_the_declarations_that_mention_them():
    text = (HEADER + "section\nvariable (y : ℝ) (hy : y > 0)\nvariable {z : ℝ}\n"
            "theorem v1 (h : y + 1 = 2) : y = 1 := by\n  sorry\n"
            "theorem v2 (h : z = 1) : z + 1 = 2 := by\n  sorry\n"
            "theorem v3 : (1 : ℕ) = 1 := by\n  sorry\n"
            "end\n"
            "theorem v5 : (1 : ℕ) = 1 := by\n  sorry\n")
    res = check_command(text, True, {})
    assert [m.data for m in res.messages if m.severity == "error"] == []
    goals = [s.goal.pretty() for s in res.sorries]
    assert goals[0] == "y : ℝ\nh : y + 1 = 2\n⊢ y = 1"
    assert goals[1] == "z : ℝ\nh : z = 1\n⊢ z + 1 = 2"
    assert goals[2] == "⊢ 1 = 1"
    assert goals[3] == "⊢ 1 = 1"  # `end` drops the variables
    v1 = text.index("theorem v1")  # positions are offsets in the original text
    sorry_pos = res.sorries[0].start
    assert text[sorry_pos: sorry_pos + 5] == "sorry" and sorry_pos > v1


def test_a_variable_mentioned_by_an_included_one_comes_along(recorder):
    errors("variable (y : ℝ) (hy : y > 0) (w : ℝ)\ntheorem v4 (h : hy = hy) : w = w := by\n  sorry\n")
    assert recorder.calls[0]["text"].startswith("theorem v4 (h : hy = hy)")  # the text is not touched
    assert recorder.calls[0]["variables"] == ["y", "hy", "w"]


def test_variables_outside_the_fragment_are_refused():
    assert any("instance-implicit" in e for e in errors("variable [Foo ℝ]\n"))
    assert any("declared again" in e for e in errors("variable (y : ℝ)\nvariable (y : ℕ)\n"))
    assert any("a variable binder must read" in e for e in errors("variable (y)\n"))
    errs = errors(HEADER + "variable (y : ℝ)\ntheorem w (y : ℕ) : y = y := by\n  sorry\n")
    assert any("is a section variable and is also bound" in e for e in errs)
    errs = errors(HEADER + "variable (y : ℝ)\ntheorem w : ∀ y : ℕ, y = y := by\n  sorry\n")
    assert any("is a section variable and is also bound" in e for e in errs)


def test_variables_are_parsed_not_spliced():
    """Variables are read by the statement's own lexer/parser (comments skipped, `«x»` is `x`)
    and added as binders, never as text: positions stay offsets into the user's text."""
    text = (HEADER + "variable («x» : ℕ) (h : x -- c ) (h2 : x = 2\n  = 1) /- ( -/ {y : ℕ}\n"
            "theorem p (hw : y = x ∨ x\n  = 2) : x + 0 = y := by\n  sorry\n"
            "theorem q : (1 : ℕ) = 1 := by\n  sorry\n")
    res = check_command(text, True, {})
    assert [m.data for m in res.messages if m.severity == "error"] == []
    goals = [s.goal.pretty() for s in res.sorries]
    assert goals == ["x y : ℕ\nhw : y = x ∨ x = 2\n⊢ x + 0 = y", "⊢ 1 = 1"]
    sorry_pos = res.sorries[0].start
    assert text[sorry_pos: sorry_pos + 5] == "sorry" and sorry_pos > text.index("theorem p")
    # a variable whose type is outside the fragment: accepted (as Lean does), refused once included
    errs = errors(HEADER + "variable (s : Finset ℕ)\ntheorem a : (1 : ℕ) = 1 := by\n  sorry\n"
                  "theorem b (h : s = s) : (1 : ℕ) = 1 := by\n  sorry\n")
    assert len(errs) == 1 and "section variable 's'" in errs[0]
    assert any("atomic identifier" in e for e in errors("variable (a.b : ℕ)\n"))


def test_tokens():
    kinds = [(t.kind, t.text) for t in tokenize("theorem a : #s = 1 := by -- open\n  /- end -/ exact h.open\n#eval")]
    assert ("cmd", "theorem") in kinds and ("cmd", "#eval") in kinds
    assert ("cmd", "open") not in kinds and ("cmd", "end") not in kinds and ("ident", "h.open") in kinds
    assert ("sym", "#") in kinds  # `#s` is Finset.card notation, not a command
    assert ScopeState().namespace == ""
