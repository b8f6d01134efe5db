"""The embedded kernel: a Lean 4 + Mathlib fragment for competition arithmetic, served over the
Lean REPL JSON protocol (`python -m lean_env.embedded`). Its verdicts are the embedded
kernel's, never Lean's."""
