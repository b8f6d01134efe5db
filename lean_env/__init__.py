"""Talking to Lean: proof environments over the Lean REPL protocol, LeanDojo, the embedded kernel."""
