"""The proof tree: one node per distinct tactic state, on a `networkx.DiGraph`.

Nodes are keyed by the pretty-printed state (`TacticState.pp`), so two tactic paths that reach
the same state share a node and the graph is a DAG. A tactic whose result is an ancestor of the
node it ran on would close a cycle; it is recorded as a failed attempt instead of an edge.

Every proof that ends is an edge into the single terminal node `QED`. Failed attempts (errors,
`sorry`, timeouts, no progress, cycles) are kept on their node as `failures`, not as edges,
because a DiGraph holds one edge per node pair.

Status (ReProver's rules, on a DAG): a node is PROVED when any child is PROVED; FAILED when it
has been fully expanded and every child is FAILED (no children at all counts); OPEN otherwise.
"""
from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterator

import networkx as nx

from lean_env.types import LeanError, ProofFinished, ProofGivenUp, TacticResult, TacticState, TacticTimeout

QED = "<QED>"  # the terminal node every finished proof points to; no Lean goal prints like this
PROOF_INDENT = "  "


def render_proof(tactics: list[str]) -> str:
    """The tactic block that follows `:= by`: each tactic on its own line(s), indented two
    spaces (a multi-line tactic keeps its inner indentation relative to its first line)."""
    if not tactics:
        raise ValueError("an empty tactic list is not a proof")
    return "\n".join(textwrap.indent(t, PROOF_INDENT) for t in tactics)


class NodeStatus(str, Enum):
    OPEN = "open"
    PROVED = "proved"
    FAILED = "failed"


class Outcome(str, Enum):
    """What one tactic did from one node."""

    STATE = "state"            # a new or already known state: an edge
    PROVED = "proved"          # ProofFinished: an edge to QED
    ERROR = "error"            # LeanError
    GIVEN_UP = "given_up"      # sorry/admit
    TIMEOUT = "timeout"
    NO_PROGRESS = "no_progress"  # the same state again
    CYCLE = "cycle"            # back to an ancestor
    REJECTED = "rejected"      # refused before running (guard)


@dataclass(frozen=True)
class AddResult:
    outcome: Outcome
    node: str | None   # the child node for STATE/PROVED, else None
    is_new: bool       # a node that was not in the tree before


class ProofTree:
    """Search tree over tactic states with status propagation, proof extraction and export."""

    def __init__(self, root: TacticState | str):
        self.graph = nx.DiGraph()
        root_pp = root.pp if isinstance(root, TacticState) else root
        self.root = root_pp
        self._states: dict[str, TacticState] = {}  # live backend states; not exported
        self._add_node(root_pp, depth=0, cum_logprob=0.0, cum_tokens=0,
                       num_goals=root.num_goals if isinstance(root, TacticState) else 1)
        if isinstance(root, TacticState):
            self._states[root_pp] = root
        self.graph.add_node(QED, status=NodeStatus.PROVED.value, expanded=True, depth=-1,
                            cum_logprob=0.0, cum_tokens=0, num_goals=0, failures=[])

    # ---- construction -------------------------------------------------------------------
    def _add_node(self, pp: str, *, depth: int, cum_logprob: float, cum_tokens: int, num_goals: int) -> None:
        self.graph.add_node(pp, status=NodeStatus.OPEN.value, expanded=False, depth=depth,
                            cum_logprob=cum_logprob, cum_tokens=cum_tokens, num_goals=num_goals,
                            failures=[])

    def state(self, node: str) -> TacticState:
        """The backend state to run tactics on; only trees built in this process have them."""
        try:
            return self._states[node]
        except KeyError:
            raise KeyError(f"no live tactic state for node {node[:60]!r} (tree re-imported from JSON?)") from None

    def add_result(self, parent: str, tactic: str, logprob: float, result: TacticResult,
                   tokens: int = 0) -> AddResult:
        """Record what `tactic` did from `parent` and propagate statuses."""
        if parent not in self.graph or parent == QED:
            raise KeyError(f"unknown parent node {parent[:60]!r}")
        if isinstance(result, ProofFinished):
            self._add_edge(parent, QED, tactic, logprob, tokens, Outcome.PROVED)
            self._propagate(parent)
            return AddResult(Outcome.PROVED, QED, False)
        if isinstance(result, TacticState):
            child = result.pp
            if child == parent:
                self.add_failure(parent, tactic, logprob, Outcome.NO_PROGRESS, "the tactic did not change the state")
                return AddResult(Outcome.NO_PROGRESS, None, False)
            is_new = child not in self.graph
            if not is_new and nx.has_path(self.graph, child, parent):
                self.add_failure(parent, tactic, logprob, Outcome.CYCLE, "the tactic returned to an earlier state")
                return AddResult(Outcome.CYCLE, None, False)
            if is_new:
                p = self.graph.nodes[parent]
                self._add_node(child, depth=p["depth"] + 1, cum_logprob=p["cum_logprob"] + logprob,
                               cum_tokens=p["cum_tokens"] + tokens, num_goals=result.num_goals)
                self._states[child] = result
            self._add_edge(parent, child, tactic, logprob, tokens, Outcome.STATE)
            self._propagate(parent)
            return AddResult(Outcome.STATE, child, is_new)
        if isinstance(result, LeanError):
            outcome, message = Outcome.ERROR, result.error
        elif isinstance(result, ProofGivenUp):
            outcome, message = Outcome.GIVEN_UP, "the tactic gave up (sorry/admit)"
        elif isinstance(result, TacticTimeout):
            outcome, message = Outcome.TIMEOUT, result.error
        else:
            raise TypeError(f"unknown tactic result {result!r}")
        self.add_failure(parent, tactic, logprob, outcome, message)
        return AddResult(outcome, None, False)

    def add_failure(self, node: str, tactic: str, logprob: float, outcome: Outcome, message: str) -> None:
        self.graph.nodes[node]["failures"].append(
            {"tactic": tactic, "logprob": logprob, "outcome": outcome.value, "message": message[:500]})

    def _add_edge(self, parent: str, child: str, tactic: str, logprob: float, tokens: int, outcome: Outcome) -> None:
        # One edge per node pair: keep the most likely tactic, count the others.
        if self.graph.has_edge(parent, child):
            edge = self.graph.edges[parent, child]
            edge["alternatives"] += 1
            if logprob > edge["logprob"]:
                edge.update(tactic=tactic, logprob=logprob, tokens=tokens)
            return
        self.graph.add_edge(parent, child, tactic=tactic, logprob=logprob, tokens=tokens,
                            outcome=outcome.value, alternatives=0)

    def mark_expanded(self, node: str) -> None:
        """No more tactics will be tried from `node`: it may now become FAILED."""
        self.graph.nodes[node]["expanded"] = True
        self._propagate(node)

    # ---- status ---------------------------------------------------------------------------
    def status(self, node: str) -> NodeStatus:
        return NodeStatus(self.graph.nodes[node]["status"])

    @property
    def root_status(self) -> NodeStatus:
        return self.status(self.root)

    def _compute_status(self, node: str) -> NodeStatus:
        if node == QED:
            return NodeStatus.PROVED
        children = [self.status(c) for c in self.graph.successors(node)]
        if NodeStatus.PROVED in children:
            return NodeStatus.PROVED
        if self.graph.nodes[node]["expanded"] and all(c is NodeStatus.FAILED for c in children):
            return NodeStatus.FAILED
        return NodeStatus.OPEN

    def _propagate(self, node: str) -> None:
        pending = [node]
        while pending:
            current = pending.pop()
            new = self._compute_status(current)
            if new.value != self.graph.nodes[current]["status"]:
                self.graph.nodes[current]["status"] = new.value
                pending.extend(self.graph.predecessors(current))

    def check_consistency(self) -> list[str]:
        """Problems with the statuses and shape (empty = consistent); used by tests."""
        problems = []
        if not nx.is_directed_acyclic_graph(self.graph):
            problems.append("the graph has a cycle")
        for node in self.graph.nodes:
            if self._compute_status(node).value != self.graph.nodes[node]["status"]:
                problems.append(f"node {node[:60]!r} has status {self.graph.nodes[node]['status']}, "
                                f"expected {self._compute_status(node).value}")
            if node not in (self.root, QED) and self.graph.in_degree(node) == 0:
                problems.append(f"node {node[:60]!r} is unreachable")
        return problems

    # ---- proofs ---------------------------------------------------------------------------
    def proofs(self, limit: int = 3) -> Iterator[list[str]]:
        """Up to `limit` distinct tactic lists from the root to QED, shortest first."""
        if self.root_status is not NodeStatus.PROVED:
            return
        paths = nx.shortest_simple_paths(self.graph, self.root, QED)
        for count, path in enumerate(paths):
            if count >= limit:
                return
            yield [self.graph.edges[a, b]["tactic"] for a, b in zip(path, path[1:])]

    def proof_tactics(self) -> list[str] | None:
        return next(self.proofs(limit=1), None)

    def proof_text(self) -> str | None:
        """The shortest proof as the indented block that follows `:= by` (not yet re-verified)."""
        tactics = self.proof_tactics()
        return render_proof(tactics) if tactics else None

    # ---- queries used by the searches -------------------------------------------------------
    def path_tactics(self, node: str) -> list[str]:
        """Tactics of a shortest path from the root to `node` (the 'proof so far')."""
        path = nx.shortest_path(self.graph, self.root, node)
        return [self.graph.edges[a, b]["tactic"] for a, b in zip(path, path[1:])]

    def open_nodes(self) -> list[str]:
        return [n for n, d in self.graph.nodes(data=True) if d["status"] == NodeStatus.OPEN.value]

    @property
    def num_states(self) -> int:
        return self.graph.number_of_nodes() - 1  # QED is not a state

    # ---- export -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "nodes": [{"id": n, **_plain(d)} for n, d in self.graph.nodes(data=True)],
            "edges": [{"source": a, "target": b, **_plain(d)} for a, b, d in self.graph.edges(data=True)],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ProofTree":
        """Rebuild a tree (without live backend states) from `to_json()` output."""
        try:
            tree = cls(data["root"])
            tree.graph.clear()
            for node in data["nodes"]:
                attrs = {k: v for k, v in node.items() if k != "id"}
                attrs["failures"] = [dict(f) for f in attrs.get("failures", [])]
                tree.graph.add_node(node["id"], **attrs)
            for edge in data["edges"]:
                tree.graph.add_edge(edge["source"], edge["target"],
                                    **{k: v for k, v in edge.items() if k not in ("source", "target")})
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a proof-tree JSON document (missing or bad field: {exc})") from exc
        if tree.root not in tree.graph or QED not in tree.graph:
            raise ValueError("proof-tree JSON lacks its root or QED node")
        return tree

    def to_dot(self) -> str:
        """Graphviz DOT text: green = PROVED, red = FAILED, grey = OPEN."""
        colours = {"proved": "green", "failed": "red", "open": "grey"}
        ids = {n: f"n{i}" for i, n in enumerate(self.graph.nodes)}
        lines = ["digraph proof_tree {", "  node [shape=box, fontname=monospace];"]
        for n, d in self.graph.nodes(data=True):
            label = "QED" if n == QED else n
            lines.append(f'  {ids[n]} [label="{_dot_escape(label)}", color={colours[d["status"]]}];')
        for a, b, d in self.graph.edges(data=True):
            lines.append(f'  {ids[a]} -> {ids[b]} [label="{_dot_escape(d["tactic"])} ({d["logprob"]:.2f})"];')
        lines.append("}")
        return "\n".join(lines) + "\n"


def _plain(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in attrs.items()}


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l")
