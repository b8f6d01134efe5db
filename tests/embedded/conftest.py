"""A real embedded-kernel server process for the tests that speak the REPL protocol to it."""
import json
import subprocess
import sys

import pytest


class EmbeddedServer:
    """`python -m lean_env.embedded` driven over stdin/stdout with the REPL's blank-line framing."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "lean_env.embedded"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, encoding="utf-8")

    def raw(self, text: str) -> str:
        self.proc.stdin.write(text)
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            assert line != "", "server closed its output"
            if line == "\n":
                return "".join(lines)
            lines.append(line)

    def call(self, req: dict) -> dict:
        return json.loads(self.raw(json.dumps(req) + "\n\n"))

    def close(self) -> int:
        self.proc.stdin.close()
        return self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server():
    """One server process per test module (its envs and proof states accumulate)."""
    s = EmbeddedServer()
    yield s
    assert s.close() == 0
