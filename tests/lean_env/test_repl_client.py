"""The REPL client against a real subprocess that speaks the protocol and misbehaves on cue."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from lean_env.repl import ReplConnection, ReplCrash, ReplTimeout, TheoremStartError
from lean_env.theorem import Theorem
from lean_env.types import LeanError, ProofFinished, ProofGivenUp, TacticState, TacticTimeout

HEADER = "import Mathlib\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n"


def test_connection_frames_multiline_responses(fake):
    conn = ReplConnection(fake.command, env=fake.env)
    try:
        assert conn.request({"cmd": HEADER}, timeout=5) == {"env": 0}
        resp = conn.request({"cmd": "theorem t : 1 + 1 = 2 := by\n  sorry", "env": 0}, timeout=5)
        assert resp["sorries"][0]["goal"] == "⊢ 1 + 1 = 2"
        assert resp["messages"][0]["severity"] == "warning"
        # a tactic whose text holds a blank line must not end the request early
        resp = conn.request({"tactic": "have p\n\n", "proofState": resp["sorries"][0]["proofState"]}, timeout=5)
        assert resp["goals"] == ["p : True\n⊢ 1 + 1 = 2"]
    finally:
        conn.close()
    assert not conn.alive


def test_connection_reports_crash_and_timeout(fake):
    conn = ReplConnection(fake.command, env=fake.env)
    conn.request({"cmd": HEADER}, timeout=5)
    resp = conn.request({"cmd": "theorem t : True := by\n  sorry", "env": 0}, timeout=5)
    ps = resp["sorries"][0]["proofState"]
    with pytest.raises(ReplCrash, match="exit code 1"):
        conn.request({"tactic": "crash", "proofState": ps}, timeout=5)
    assert not conn.alive
    conn = ReplConnection(fake.command, env=fake.env)
    conn.request({"cmd": HEADER}, timeout=5)
    conn.request({"cmd": "theorem t : True := by\n  sorry", "env": 0}, timeout=5)
    started = time.monotonic()
    with pytest.raises(ReplTimeout, match="wall time limit"):
        conn.request({"tactic": "hang", "proofState": 0}, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert not conn.alive


def test_proof_search_steps_and_pretty_printed_goals(fake, theorem):
    with fake.open() as env:
        session, root = env.start(theorem)
        assert root.pp == "⊢ x + 1 = 3"
        assert root.num_goals == 1 and root.id == 0
        two = session.run_tac(root, "split")
        assert isinstance(two, TacticState) and two.num_goals == 2
        assert two.pp == f"{root.pp} left\n\n{root.pp} right"
        one = session.run_tac(two, "done")
        assert isinstance(one, TacticState) and one.num_goals == 1
        finished = session.run_tac(one, "done")
        assert isinstance(finished, ProofFinished)
        # backtracking: any earlier state can be used again
        again = session.run_tac(root, "have a")
        assert isinstance(again, TacticState) and again.pp == "a : True\n" + root.pp
        assert len({two.id, one.id, finished.tactic_state_id, again.id}) == 4
        with pytest.raises(ValueError, match="does not belong"):
            session.run_tac(TacticState("⊢ False", 99), "done")


def test_judging_never_mistakes_an_empty_goal_list_for_a_proof(fake, theorem):
    with fake.open() as env:
        session, root = env.start(theorem)
        assert isinstance(session.run_tac(root, "fake_exact"), LeanError)  # goals [] + error
        assert isinstance(session.run_tac(root, "sorry"), ProofGivenUp)
        silent = session.run_tac(root, "silent_close")  # goals [] and no proofStatus
        assert isinstance(silent, LeanError) and "proofStatus" in silent.error
        failed = session.run_tac(root, "fail")
        assert isinstance(failed, LeanError) and "linarith failed" in failed.error
        assert isinstance(session.run_tac(root, "parse_error"), LeanError)
        warned = session.run_tac(root, "warn")
        assert isinstance(warned, TacticState) and "never executed" in (warned.message or "")


def test_header_is_imported_once_per_process_and_reused(fake, theorem):
    other = Theorem("t2", HEADER, "theorem t2 : (2 : ℕ) = 2 := by")
    with fake.open() as env:
        env.start(theorem)
        env.start(other)
    reqs = [r["req"] for r in fake.requests()]
    headers = [r for r in reqs if "cmd" in r and "env" not in r]
    assert headers == [{"cmd": HEADER}]
    assert all(r.get("env") == 0 for r in reqs if "cmd" in r and r is not headers[0])


def test_without_header_reuse_every_command_carries_the_header(fake, theorem):
    with fake.open(header_reuse=False) as env:
        session, root = env.start(theorem)
        assert root.pp == "⊢ x + 1 = 3"
    cmds = [r["req"] for r in fake.requests() if "cmd" in r["req"]]
    assert len(cmds) == 1 and "env" not in cmds[0] and cmds[0]["cmd"].startswith("import Mathlib")


def test_crash_mid_request_returns_the_right_result_after_restart_and_replay(fake, theorem):
    with fake.open() as env:
        session, root = env.start(theorem)
        a = session.run_tac(root, "have a")
        b = session.run_tac(a, "have b")
        result = session.run_tac(b, "crash_once:k1")  # dies after reading; the second try works
        assert isinstance(result, TacticState) and result.pp == "ok : True\nb : True\na : True\n" + root.pp
        follow = session.run_tac(result, "done")
        assert isinstance(follow, ProofFinished)
        assert env.stats()["restarts"] == 1
    reqs = fake.requests()
    pids = list(dict.fromkeys(r["pid"] for r in reqs))
    assert len(pids) == 2
    replayed = [r["req"] for r in reqs if r["pid"] == pids[1]]
    assert [r.get("tactic") or r["cmd"].split()[0] for r in replayed] == [
        "import", "theorem", "have a", "have b", "crash_once:k1", "done"]


def test_a_tactic_that_always_crashes_is_an_error_and_the_session_goes_on(fake, theorem):
    with fake.open() as env:
        session, root = env.start(theorem)
        crashed = session.run_tac(root, "crash")
        assert isinstance(crashed, LeanError) and "crashed" in crashed.error
        assert isinstance(session.run_tac(root, "have z"), TacticState)


def test_hang_returns_timeout_within_limit_and_the_session_goes_on(fake, theorem):
    with fake.open() as env:
        session, root = env.start(theorem)
        a = session.run_tac(root, "have a")
        started = time.monotonic()
        result = session.run_tac(a, "hang", timeout=1.0)
        assert isinstance(result, TacticTimeout)
        assert time.monotonic() - started < 2.0
        nxt = session.run_tac(a, "have b")  # restarted and replayed on demand
        assert isinstance(nxt, TacticState) and nxt.pp == "b : True\n" + a.pp


def test_cpu_watchdog_stops_a_spinning_process_before_the_wall_limit(fake, theorem):
    with fake.open(cpu_time_factor=0.025) as env:
        session, root = env.start(theorem)
        started = time.monotonic()
        result = session.run_tac(root, "spin", timeout=20.0)  # CPU budget 0.5 s
        assert isinstance(result, TacticTimeout) and "CPU time limit" in result.error
        assert time.monotonic() - started < 20.0
        assert isinstance(session.run_tac(root, "have ok"), TacticState)


def test_garbage_output_is_treated_as_a_crash(fake, theorem):
    with fake.open() as env:
        session, root = env.start(theorem)
        result = session.run_tac(root, "garbage_once:g1")
        assert isinstance(result, TacticState) and result.pp == "ok : True\n" + root.pp
        always = session.run_tac(root, "garbage")
        assert isinstance(always, LeanError) and "not JSON" in always.error


def test_memory_growth_hits_the_rlimit_and_the_session_goes_on(fake, theorem):
    with fake.open(memory_limit=300 * 1024 ** 2) as env:
        session, root = env.start(theorem)
        result = session.run_tac(root, "grow_memory")
        assert isinstance(result, LeanError) and "out of memory" in result.error
        assert isinstance(session.run_tac(root, "have after"), TacticState)


def test_grown_process_is_recycled_between_requests(fake, theorem):
    with fake.open(recycle_rss=60 * 1024 ** 2) as env:
        session, root = env.start(theorem)
        small = session.run_tac(root, "have small")
        grown = session.run_tac(small, "leak:80")
        assert isinstance(grown, TacticState)
        assert env.stats()["restarts"] == 0  # a small process is kept; recycling happens between calls
        nxt = session.run_tac(grown, "have n")
        assert isinstance(nxt, TacticState) and nxt.pp == "n : True\n" + grown.pp
        assert env.stats()["restarts"] == 1


def test_timeout_kills_the_whole_process_tree(fake, theorem):
    with fake.open() as env:
        session, root = env.start(theorem)
        assert isinstance(session.run_tac(root, "spawn_child", timeout=1.0), TacticTimeout)
    grandchild = int((fake.dir / "grandchild.pid").read_text())
    deadline = time.monotonic() + 3
    while psutil.pid_exists(grandchild) and time.monotonic() < deadline:
        if psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.05)
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE


def test_statements_and_headers_lean_rejects_raise_clear_errors(fake, theorem):
    with fake.open() as env:
        with pytest.raises(TheoremStartError, match="does not elaborate"):
            env.start(Theorem("b", HEADER, "theorem b : bad_statement := by"))
        with pytest.raises(TheoremStartError, match="header"):
            env.start(Theorem("c", HEADER + "header_error\n", theorem.statement))
        with pytest.raises(TheoremStartError, match="sorry"):
            env.start(Theorem("d", HEADER + "header_sorry\n", theorem.statement))


def test_verify_rechecks_the_whole_proof(fake, theorem):
    with fake.open() as env:
        ok = env.verify(theorem, "have a\ndone")
        assert ok.ok and ok.backend == "lean repl"
        unsolved = env.verify(theorem, "have a")
        assert not unsolved.ok and "unsolved goals" in unsolved.messages[0]
        assert not env.verify(theorem, "fake_exact").ok
        guarded = env.verify(theorem, "sorry")
        assert not guarded.ok and guarded.messages[0].startswith("guard:")
        cheat = Theorem("cheat_thm", HEADER, "theorem cheat_thm : True := by")
        axioms = env.verify(cheat, "done")
        assert not axioms.ok and "sorryAx" in axioms.messages[0]
        # an example has no name: it is checked as a theorem with one, so its axioms are listed too
        cheat_example = Theorem("example_9", HEADER, "example (cheat : True) : True := by")
        axioms = env.verify(cheat_example, "done")
        assert not axioms.ok and "sorryAx" in axioms.messages[0]
        assert env.verify(Theorem("example_10", HEADER, "example : True := by"), "done").ok
    sent = [r["req"]["cmd"] for r in fake.requests() if "cmd" in r["req"] and "have a\n" in r["req"]["cmd"]]
    assert sent[0] == theorem.statement + "\n  have a\n  done"


def test_sessions_on_many_threads_share_a_pool(fake):
    results: dict[int, object] = {}

    def prove(i: int) -> None:
        th = Theorem(f"t{i}", HEADER, f"theorem t{i} : {i} = {i} := by")
        session, root = env.start(th)
        state = root
        for k in range(3):
            state = session.run_tac(state, f"have h{k}")
        results[i] = (root, state, session.run_tac(state, "done"))

    with fake.open(pool_size=2) as env:
        threads = [threading.Thread(target=prove, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len({r["pid"] for r in fake.requests()}) == 2
    for i, (root, state, done) in results.items():
        assert root.pp == f"⊢ {i} = {i}"
        assert state.pp == f"h2 : True\nh1 : True\nh0 : True\n⊢ {i} = {i}"
        assert isinstance(done, ProofFinished)
    assert len(results) == 4


def test_ctrl_c_leaves_no_process_behind(fake, tmp_path):
    script = tmp_path / "interrupted.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal, sys, threading
        # A program started in the background inherits SIGINT ignored (as under CI); a user's
        # Ctrl-C reaches an interactive one, so restore Python's KeyboardInterrupt handler.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from lean_env.repl import ReplOptions, ReplProofEnv
        from lean_env.theorem import Theorem
        env = ReplProofEnv(ReplOptions(command={fake.command!r}, env={fake.env!r}, tactic_timeout=60))
        session, root = env.start(Theorem("t", "import Mathlib", "theorem t : True := by"))
        print(env._workers[0].conn.pid, flush=True)
        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        session.run_tac(root, "hang")  # interrupted; no close(): atexit must clean up
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30,
                          cwd=Path(__file__).resolve().parents[2])
    assert "KeyboardInterrupt" in proc.stderr
    server_pid = int(proc.stdout.split()[0])
    # The atexit hook sent SIGKILL; on a loaded machine the kernel may take a moment to end it.
    deadline = time.monotonic() + 5
    while psutil.pid_exists(server_pid) and psutil.Process(server_pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the REPL process outlived the interrupted program"
        time.sleep(0.05)


def test_a_dropped_env_is_cleaned_up_by_the_garbage_collector(fake, theorem):
    import gc

    env = fake.open()
    env.start(theorem)
    pid = env._workers[0].conn.pid
    del env
    gc.collect()
    deadline = time.monotonic() + 3
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the REPL process outlived its dropped env"
        time.sleep(0.05)


def test_start_survives_a_crash_while_opening_the_theorem(fake):
    with fake.open() as env:
        session, root = env.start(Theorem("t", HEADER, "theorem t (crash_once:s1 : ℕ) : True := by"))
        assert root.pp == "⊢ True"
        assert isinstance(session.run_tac(root, "done"), ProofFinished)
        assert env.stats()["restarts"] == 1


def test_verify_survives_a_crash_and_reports_a_hang_as_not_ok(fake):
    with fake.open(command_timeout=1.0) as env:
        crashy = Theorem("v", HEADER, "theorem v (crash_once:v1 : ℕ) : True := by")
        assert env.verify(crashy, "done").ok
        hangs = Theorem("w", HEADER, "theorem w (hang_once:w1 : ℕ) : True := by")
        verdict = env.verify(hangs, "done")
        assert not verdict.ok and "timed out" in verdict.messages[0]
        assert env.verify(hangs, "done").ok  # the next check runs on a fresh process


def test_verify_in_a_fresh_process_leaves_the_pool_alone(fake, theorem):
    with fake.open(verify_fresh_process=True) as env:
        assert env.verify(theorem, "done").ok
        assert not env.verify(theorem, "have a").ok
        assert env.stats()["live"] == 0
    assert len({r["pid"] for r in fake.requests()}) == 2
