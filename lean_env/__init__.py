"""Talking to Lean: proof environments over the Lean REPL protocol, LeanDojo, the embedded kernel.

Entry point: `open_env(kind="embedded" | "repl" | "dojo", **options) -> ProofEnv`.
"""
from lean_env.env import ProofEnv, ProofSession, check_usable, open_env
from lean_env.guard import GuardPolicy, check_file, check_proof
from lean_env.lean_text import LeanSyntaxError
from lean_env.theorem import LeanFile, Theorem, TheoremSite, format_proof_block, parse_lean_file, splice_proofs
from lean_env.types import (
    BackendUnavailable,
    LeanError,
    ProofFinished,
    ProofGivenUp,
    TacticResult,
    TacticState,
    TacticTimeout,
    Verdict,
)

__all__ = [
    "open_env", "check_usable", "BackendUnavailable", "ProofEnv", "ProofSession", "Theorem", "TheoremSite", "LeanFile", "parse_lean_file",
    "splice_proofs", "format_proof_block", "LeanSyntaxError", "GuardPolicy", "check_proof", "check_file",
    "TacticState", "ProofFinished", "LeanError", "ProofGivenUp", "TacticTimeout", "TacticResult", "Verdict",
]
