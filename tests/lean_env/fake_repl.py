"""A scripted stand-in for the Lean REPL: speaks its JSON protocol, then misbehaves on cue.

Run as `python fake_repl.py`. Stdlib only (it runs under small RLIMIT_AS caps).

Proof states hold a list of goal strings. Tactics:
- `have NAME`           adds the hypothesis `NAME : True` to the first goal
- `split`               replaces the first goal by two (`... left`, `... right`)
- `done`                closes the first goal (status Completed when none remain)
- `fail`                error message, goals kept (`messages` form)
- `parse_error`         `{"message": "Lean error: ..."}` form
- `fake_exact`          the pitfall: `goals: []` + error + "Incomplete: contains sorry"
- `sorry`               closes all goals with sorry ("Incomplete: contains sorry")
- `warn`                like `have w` plus a linter warning
- `silent_close`        `goals: []` without any proofStatus (old REPL)
Misbehaviour (with `_once:TOKEN`, only the first time across restarts, via marker files in
$FAKE_REPL_STATE_DIR):
- `crash` / `crash_once:T`      exit(1) mid-request, after reading it
- `hang` / `hang_once:T`        sleep forever
- `spin`                        burn CPU forever
- `garbage` / `garbage_once:T`  print a non-JSON block
- `grow_memory`                 allocate until RLIMIT_AS stops it (MemoryError, exit 1)
- `leak:MB`                     keep MB megabytes alive, then act like `have leak`
- `spawn_child`                 start a grandchild `sleep`, then hang (tests tree killing)
Commands: a cue such as `crash_once:T` anywhere in the text misbehaves as for tactics; without `env` = header (error if it contains `header_error`, sorry warning if it
contains `header_sorry`); `STATEMENT := by\n  sorry` opens a proof state whose goal is
`⊢ <type of the statement>` (error if the statement contains `bad_statement`); any other
text after `:= by` is checked by running its lines as tactics; `#print axioms NAME` answers
`propext` (plus `sorryAx` if NAME contains `cheat`). Every request is appended to
$FAKE_REPL_LOG (one JSON line with the pid).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

STATE_DIR = os.environ.get("FAKE_REPL_STATE_DIR", "")
LOG = os.environ.get("FAKE_REPL_LOG", "")

envs: dict[int, str] = {}
states: dict[int, list[str]] = {}
leaked: list[bytearray] = []


def first_time(token: str) -> bool:
    marker = os.path.join(STATE_DIR, "once_" + token)
    if os.path.exists(marker):
        return False
    open(marker, "w").close()
    return True


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n\n")
    sys.stdout.flush()


def misbehave(tactic: str) -> None:
    name, _, token = tactic.partition("_once:")
    if token and not first_time(token):
        return
    if name == "crash":
        os._exit(1)
    if name == "hang":
        while True:
            time.sleep(1)
    if name == "spin":
        while True:
            pass
    if name == "garbage":
        sys.stdout.write("INTERNAL PANIC: this is not json\n\n")
        sys.stdout.flush()
        time.sleep(30)  # a real broken process may keep running: the client must kill it
    if name == "grow_memory":
        chunks = []
        while True:
            chunks.append(bytearray(64 * 1024 * 1024))
    if name == "spawn_child":
        child = subprocess.Popen(["sleep", "300"])
        with open(os.path.join(STATE_DIR, "grandchild.pid"), "w") as f:
            f.write(str(child.pid))
        while True:
            time.sleep(1)


def step(goals: list[str], tactic: str) -> dict:
    """Apply one tactic; returns the fields of a tactic response except proofState."""
    tactic = tactic.strip()
    if tactic.startswith(("crash", "hang", "spin", "garbage", "grow_memory", "spawn_child")):
        misbehave(tactic)
        tactic = "have ok"
    if tactic.startswith("leak:"):
        leaked.append(bytearray(b"x" * (int(tactic[5:]) * 1024 * 1024)))  # touched: resident
        tactic = "have leak"
    if not goals:
        return {"goals": [], "messages": [error("no goals to be proved")], "proofStatus": "Incomplete: open goals remain"}
    if tactic.startswith("have "):
        name = tactic[5:].strip()
        return {"goals": [f"{name} : True\n{goals[0]}", *goals[1:]]}
    if tactic == "warn":
        return {"goals": [f"w : True\n{goals[0]}", *goals[1:]],
                "messages": [{"severity": "warning", "pos": {"line": 1, "column": 0},
                              "endPos": {"line": 1, "column": 4}, "data": "this tactic is never executed"}]}
    if tactic == "split":
        return {"goals": [goals[0] + " left", goals[0] + " right", *goals[1:]]}
    if tactic == "done":
        rest = goals[1:]
        return {"goals": rest, **({} if rest else {"proofStatus": "Completed"})}
    if tactic == "fail":
        return {"goals": goals, "messages": [error("linarith failed to find a contradiction")]}
    if tactic == "fake_exact":
        return {"goals": [], "messages": [error("unknown identifier 'fake_lemma'")],
                "proofStatus": "Incomplete: contains sorry"}
    if tactic == "sorry":
        return {"goals": [], "proofStatus": "Incomplete: contains sorry"}
    if tactic == "silent_close":
        return {"goals": [], "no_status": True}
    return {"goals": goals, "messages": [error(f"unknown tactic '{tactic}'")]}


def error(text: str) -> dict:
    return {"severity": "error", "pos": {"line": 1, "column": 2}, "endPos": {"line": 1, "column": 9}, "data": text}


def tactic_response(fields: dict) -> dict:
    new_id = len(states)
    states[new_id] = fields["goals"]
    resp = {"proofState": new_id, "goals": fields["goals"]}
    if fields.get("messages"):
        resp["messages"] = fields["messages"]
    if not fields.get("no_status"):
        resp["proofStatus"] = fields.get("proofStatus") or (
            "Completed" if not fields["goals"] else "Incomplete: open goals remain")
    return resp


def goal_of(statement: str) -> str:
    """`⊢ <type>`: the text after the last `:` outside brackets, before `:=`."""
    head = statement.rsplit(":=", 1)[0]
    depth, colon = 0, -1
    for i, ch in enumerate(head):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == ":" and depth == 0:
            colon = i
    return "⊢ " + head[colon + 1:].strip() if colon >= 0 else "⊢ True"


def command(req: dict) -> dict:
    text = req["cmd"]
    for cue in ("crash_once:", "hang_once:"):
        if cue in text:  # e.g. a statement `theorem crash_once:s1 ...` dies the first time
            misbehave(cue + text.split(cue, 1)[1].split()[0])
    new_env = len(envs)
    if "env" not in req and ":= by" in text:  # header and theorem in one command (no header reuse)
        envs[new_env] = text
        text = text[text.index("theorem"):]
    elif "env" not in req:
        envs[new_env] = text
        if "header_error" in text:
            return {"env": new_env, "messages": [error("unknown package 'Mathlb'")]}
        if "header_sorry" in text:
            return {"env": new_env, "messages": [{"severity": "warning", "pos": {"line": 3, "column": 0},
                                                  "endPos": {"line": 3, "column": 7},
                                                  "data": "declaration uses 'sorry'"}]}
        return {"env": new_env}
    elif req["env"] not in envs:
        return {"message": "Unknown environment."}
    envs[new_env] = text
    if text.startswith("#print axioms"):
        name = text.split()[-1]
        cheat = "cheat" in name or "cheat" in envs.get(req["env"], "")  # by name, or in the checked text
        axioms = "[propext, sorryAx]" if cheat else "[propext]"
        return {"env": new_env, "messages": [{"severity": "info", "pos": {"line": 1, "column": 0},
                                              "endPos": {"line": 1, "column": 6},
                                              "data": f"'{name}' depends on axioms: {axioms}"}]}
    if "bad_statement" in text:
        return {"env": new_env, "messages": [error("unknown identifier 'bad_statement'")]}
    statement, _, proof = text.partition(":= by")
    goal = goal_of(statement + ":=")
    if proof.strip() == "sorry":
        sid = len(states)
        states[sid] = [goal]
        return {"env": new_env, "sorries": [{"proofState": sid, "goal": goal, "pos": {"line": 1, "column": 2},
                                             "endPos": {"line": 1, "column": 7}}],
                "messages": [{"severity": "warning", "pos": {"line": 1, "column": 8},
                              "endPos": {"line": 1, "column": 10}, "data": "declaration uses 'sorry'"}]}
    goals = [goal]
    for line in proof.strip().splitlines():
        fields = step(goals, line)
        if fields.get("messages") and any(m["severity"] == "error" for m in fields["messages"]):
            return {"env": new_env, "messages": fields["messages"]}
        if fields.get("proofStatus") == "Incomplete: contains sorry":
            return {"env": new_env, "messages": [{"severity": "warning", "pos": {"line": 1, "column": 8},
                                                  "endPos": {"line": 1, "column": 10},
                                                  "data": "declaration uses `sorry`"}]}
        goals = fields["goals"]
    if goals:
        return {"env": new_env, "messages": [error("unsolved goals\n" + "\n\n".join(goals))]}
    return {"env": new_env}


def handle(req: dict) -> dict:
    if "tactic" in req:
        if req.get("proofState") not in states:
            return {"message": "Unknown proof state."}
        return tactic_response(step(states[req["proofState"]], req["tactic"]))
    if "cmd" in req:
        return command(req)
    return {"message": "Lean error:\nunknown request"}


def main() -> None:
    lines: list[str] = []
    for raw in sys.stdin:
        line = raw.rstrip("\n")
        if line.strip():
            lines.append(line)
            continue
        if not lines:  # a stray blank line: the real REPL dies here too
            sys.stderr.write("stray blank line: expected a JSON request\n")
            sys.exit(3)
        req = json.loads("\n".join(lines))
        lines = []
        if LOG:
            with open(LOG, "a") as log:
                log.write(json.dumps({"pid": os.getpid(), "req": req}, ensure_ascii=False) + "\n")
        emit(handle(req))


if __name__ == "__main__":
    main()
