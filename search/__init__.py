"""Proof search over Lean tactic states: best-first, RMaxTS and whole-proof (with repair), a networkx
proof tree, policies."""
from search.candidates import Candidate, Policy, PolicyRequest
from search.config import ALGORITHMS, SearchBudget, SearchConfig
from search.prove import aprove, prove, render_proof
from search.result import SearchResult
from search.tree import NodeStatus, ProofTree

__all__ = [
    "SearchBudget", "SearchConfig", "SearchResult", "aprove", "prove", "render_proof", "ALGORITHMS",
    "ProofTree", "NodeStatus", "Candidate", "Policy", "PolicyRequest",
]
