"""Best-first search over tactic states (ReProver's loop, with batching).

Each round pops up to `concurrency` open nodes with the best priority (cumulative log-prob of
the tactics that reached them, optionally divided by their length as in BFS-Prover), asks the
policy for all of them in one call, then runs each node's candidates in order, stopping at the
first that finishes the proof. The search ends when the root is PROVED or FAILED, the queue is
empty, or a budget says no; a proof found by the last allowed call is kept.

Concurrency is on the policy side: `concurrency` nodes go to the policy as one batch. Their
tactics then run on the theorem's one session in turn (a Lean REPL process answers one request
at a time), in a worker thread, so the event loop stays free for other searches sharing it.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools

from lean_env.guard import check_proof
from lean_env.theorem import Theorem
from search.budget import BudgetMeter
from search.candidates import Candidate, Policy, PolicyRequest, unusable_tokens
from search.result import NO_CANDIDATES, PROVED, TIME_LIMIT
from search.tactic_runner import TacticRunner
from search.tree import NodeStatus, Outcome, ProofTree


async def ask_policy(policy: Policy, requests: list[PolicyRequest], k: int,
                     meter: BudgetMeter) -> list[list[Candidate]] | None:
    """The policy's answers, or None if the time limit ran out while waiting."""
    left = meter.time_left()
    try:
        answers = await asyncio.wait_for(policy.propose(requests, k), timeout=left)
    except asyncio.TimeoutError:
        meter.exhausted_reason = meter.exhausted_reason or TIME_LIMIT
        return None
    if not isinstance(answers, list) or len(answers) != len(requests):
        raise ValueError(f"policy {type(policy).__name__} returned {len(answers) if isinstance(answers, list) else type(answers).__name__} "
                         f"answers for {len(requests)} requests; propose must return one list per request")
    for answer in answers:
        for cand in answer:
            if not isinstance(cand, Candidate) or not isinstance(cand.tactic, str):
                raise ValueError(f"policy {type(policy).__name__} returned {cand!r}; expected search.policy.Candidate")
    return answers


def affordable(candidates: list[Candidate], meter: BudgetMeter) -> tuple[list[Candidate], bool]:
    """Charge each candidate's generation tokens; the ones that would cross max_tokens are
    dropped. Tokens generated for samples that gave no candidate are charged first. Returns
    (kept, whether all fitted)."""
    if not meter.try_tokens(unusable_tokens(candidates)):
        return [], False
    kept = [c for c in candidates if meter.try_tokens(max(0, int(c.tokens)))]
    return kept, len(kept) == len(candidates)


def priority(tree: ProofTree, node: str, length_normalized: bool) -> float:
    data = tree.graph.nodes[node]
    if not length_normalized:
        return data["cum_logprob"]
    length = data["cum_tokens"] if data["cum_tokens"] > 0 else data["depth"]
    return data["cum_logprob"] / max(1, length)


async def try_candidates(tree: ProofTree, node: str, candidates: list[Candidate],
                         runner: TacticRunner) -> tuple[bool, list[str]]:
    """Run candidates from `node` in order. Returns (ran to the end, new child nodes); stops early
    at a finished proof or when the budget refuses a call."""
    new_nodes: list[str] = []
    for cand in candidates:
        if tree.status(node) is not NodeStatus.OPEN:
            return True, new_nodes  # settled meanwhile (e.g. proved through a shared child)
        reasons = check_proof(cand.tactic)
        if reasons:
            tree.add_failure(node, cand.tactic, cand.logprob, Outcome.REJECTED, "; ".join(reasons))
            continue
        result = await runner.run(tree.state(node), cand.tactic)
        if result is None:
            return False, new_nodes
        added = tree.add_result(node, cand.tactic, cand.logprob, result, int(cand.tokens))
        if added.is_new and added.node is not None:
            new_nodes.append(added.node)
        if added.outcome is Outcome.PROVED:
            return True, new_nodes
    return True, new_nodes


async def best_first_search(tree: ProofTree, theorem: Theorem, policy: Policy, runner: TacticRunner,
                            meter: BudgetMeter, *, num_candidates: int = 16, concurrency: int = 8,
                            length_normalized: bool = False) -> str:
    """Search until settled or out of budget; returns why it stopped (a search.result code)."""
    order = itertools.count()
    queue: list[tuple[float, int, str]] = []

    def push(node: str) -> None:
        heapq.heappush(queue, (-priority(tree, node, length_normalized), next(order), node))

    push(tree.root)
    while True:
        if tree.root_status is NodeStatus.PROVED:
            return PROVED
        if tree.root_status is NodeStatus.FAILED:
            return NO_CANDIDATES
        if not meter.can_continue():
            return meter.exhausted_reason or TIME_LIMIT
        batch: list[str] = []
        while queue and len(batch) < concurrency:
            node = queue[0][2]
            if tree.status(node) is not NodeStatus.OPEN or tree.graph.nodes[node]["expanded"]:
                heapq.heappop(queue)
                continue
            if not meter.try_expansion():
                break
            heapq.heappop(queue)
            batch.append(node)
        if not batch:
            return meter.exhausted_reason or NO_CANDIDATES
        requests = [PolicyRequest(theorem, tree.path_tactics(n), tree.state(n)) for n in batch]
        answers = await ask_policy(policy, requests, num_candidates, meter)
        if answers is None:
            return meter.exhausted_reason or TIME_LIMIT
        for node, candidates in zip(batch, answers):
            kept, all_fitted = affordable(candidates, meter)
            complete, new_nodes = await try_candidates(tree, node, kept, runner)
            for child in new_nodes:
                push(child)
            if tree.root_status is NodeStatus.PROVED:
                return PROVED
            if not (complete and all_fitted):
                # only a refused call or token charge stops a node early, and both name their limit
                return meter.exhausted_reason or TIME_LIMIT
            tree.mark_expanded(node)
