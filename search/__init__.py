"""Proof search over Lean tactic states: best-first and RMaxTS, a networkx proof tree, policies."""
from search.budget import SearchBudget
from search.candidates import Candidate, Policy, PolicyRequest
from search.prove import ALGORITHMS, aprove, prove, render_proof
from search.result import SearchResult
from search.tree import NodeStatus, ProofTree

__all__ = [
    "SearchBudget", "SearchResult", "aprove", "prove", "render_proof", "ALGORITHMS",
    "ProofTree", "NodeStatus", "Candidate", "Policy", "PolicyRequest",
]
