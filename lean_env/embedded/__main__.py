"""`python -m lean_env.embedded`: run the embedded kernel as a Lean-REPL-protocol server."""
import sys

from .server import serve

if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    serve()
