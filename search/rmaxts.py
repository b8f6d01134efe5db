"""RMaxTS (DeepSeek-Prover-V1.5): Monte-Carlo tree search with an intrinsic reward for new nodes.

One iteration: walk down from the root by discounted UCB to a node, roll out a proof
continuation from it, truncate at the first failing tactic, keep every surviving step as a node
(truncate-and-resume), and back up reward 1 if the rollout added a node, else 0.

A continuation is what the policy wrote: a model candidate carries the rest of its sampled
proof (`Candidate.continuation`), which is run tactic by tactic; a policy without one (the
hammer) is asked again at each new state, up to `rollout_depth` asks. At each ask, the most
likely candidate not yet tried at that state is taken; the others are kept for later rollouts
from the same state (the policy is asked again only when they are used up).

Selection at a node chooses between "roll out from here" and each child that is not FAILED.
Statistics are discounted (γ = 0.99): R ← γR + r, N ← γN + 1, so stale successes fade.
Rollouts in flight count as reward-0 visits (virtual loss), which spreads concurrent rollouts
over the tree. A node whose candidates are all tried is marked expanded, so it can become FAILED.
"""
from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from lean_env.guard import check_proof
from lean_env.theorem import Theorem
from search.batcher import PolicyBatcher
from search.best_first import affordable
from search.budget import BudgetMeter
from search.candidates import Candidate, Policy, PolicyRequest
from search.result import NO_CANDIDATES, PROVED, TIME_LIMIT, TOKEN_LIMIT
from search.tactic_runner import TacticRunner
from search.tree import QED, NodeStatus, Outcome, ProofTree

GAMMA = 0.99


@dataclass
class UcbStats:
    reward: float = 0.0
    visits: float = 0.0
    in_flight: int = 0

    def effective_visits(self) -> float:
        return self.visits + self.in_flight

    def update(self, reward: float, gamma: float = GAMMA) -> None:
        self.reward = gamma * self.reward + reward
        self.visits = gamma * self.visits + 1.0


def ucb_score(stats: UcbStats, total: float, exploration: float) -> float:
    n = stats.effective_visits()
    if n == 0:
        return math.inf  # never tried: try it first
    mean = stats.reward / n
    return mean + exploration * math.sqrt(2 * math.log(max(total, 2)) / max(n, 0.01))


class RMaxTS:
    def __init__(self, tree: ProofTree, theorem: Theorem, policy: Policy, runner: TacticRunner,
                 meter: BudgetMeter, *, num_candidates: int = 16, concurrency: int = 8,
                 rollout_depth: int = 4, exploration: float = 1.0):
        self.tree = tree
        self.theorem = theorem
        self.runner = runner
        self.meter = meter
        self.concurrency = max(1, concurrency)
        self.rollout_depth = max(1, rollout_depth)
        self.exploration = exploration
        self.batcher = PolicyBatcher(policy, num_candidates, max_batch=self.concurrency)
        self.arrive: dict[str, UcbStats] = {}  # stats of moving into a node
        self.stay: dict[str, UcbStats] = {}    # stats of rolling out from a node
        self.tried: dict[str, set[str]] = {}
        self.pool: dict[str, list[Candidate]] = {}  # untried candidates from the last answer
        self.pending: dict[str, int] = {}  # tactics running from each node right now
        self.dry: set[str] = set()  # the policy had nothing untried here; expanded once idle
        self.rollouts_in_flight = 0
        self._rollout_done = asyncio.Event()
        self.stop_reason: str | None = None

    # ---- selection ------------------------------------------------------------------------
    def _options(self, node: str) -> list[tuple[str, str]]:
        options: list[tuple[str, str]] = []
        if not self.tree.graph.nodes[node]["expanded"] and node not in self.dry:
            options.append(("stay", node))
        for child in self.tree.graph.successors(node):
            if child != QED and self.tree.status(child) is not NodeStatus.FAILED:
                options.append(("move", child))
        return options

    def _stats(self, option: tuple[str, str]) -> UcbStats:
        table = self.stay if option[0] == "stay" else self.arrive
        return table.setdefault(option[1], UcbStats())

    def select(self) -> list[tuple[str, str]] | None:
        """The chosen options from the root down to a "stay"; None if nothing is left to try."""
        node, path, seen = self.tree.root, [], set()
        while True:
            seen.add(node)
            options = [o for o in self._options(node) if o[0] == "stay" or o[1] not in seen]
            if not options:
                return None  # the root is settled, or every option waits on running tactics
            total = sum(self._stats(o).effective_visits() for o in options)
            best = max(options, key=lambda o: ucb_score(self._stats(o), total, self.exploration))
            path.append(best)
            if best[0] == "stay":
                return path
            node = best[1]

    # ---- one iteration --------------------------------------------------------------------
    async def _iterate(self) -> bool:
        """One selection + rollout + backup. False when the search should stop."""
        if self.tree.root_status is not NodeStatus.OPEN or not self.meter.can_continue():
            return False
        path = self.select()
        if path is None:
            if self.rollouts_in_flight:
                # Nothing to try until a running rollout reports back (no lost wake-up: nothing
                # else runs between select() and wait()).
                self._rollout_done.clear()
                await self._rollout_done.wait()
                return True
            self.stop_reason = self.stop_reason or NO_CANDIDATES
            return False
        if not self.meter.try_expansion():
            return False
        for option in path:
            self._stats(option).in_flight += 1
        self.rollouts_in_flight += 1
        try:
            reward = await self._rollout(path[-1][1])
        finally:
            for option in path:
                self._stats(option).in_flight -= 1
            self.rollouts_in_flight -= 1
            self._rollout_done.set()
        for option in path:
            self._stats(option).update(reward)
        return True

    async def _rollout(self, start: str) -> float:
        """Run one proof continuation from `start`; reward 1 if it added a node."""
        node, added, asks = start, False, 0
        ahead: list[str] = []  # tactics the model already wrote for the states after this one
        while self.tree.status(node) is NodeStatus.OPEN:
            if ahead:
                # The rest of a sampled proof: its cost and score sit on the first tactic.
                tactic, logprob, tokens = ahead.pop(0), 0.0, 0
            else:
                if asks >= self.rollout_depth:
                    break
                asks += 1
                cand = await self._next_candidate(node)
                if cand is None:
                    break
                tactic, logprob, tokens = cand.tactic, cand.logprob, int(cand.tokens)
                ahead = list(cand.continuation)
            self.tried.setdefault(node, set()).add(tactic)
            reasons = check_proof(tactic)
            if reasons:
                self.tree.add_failure(node, tactic, logprob, Outcome.REJECTED, "; ".join(reasons))
                break
            self.pending[node] = self.pending.get(node, 0) + 1
            result = None
            try:
                result = await self.runner.run(self.tree.state(node), tactic)
            finally:
                self.pending[node] -= 1
                if result is None:
                    # Not run to its end (the budget said no, or cut it short): not tried, so it
                    # must not let the node settle as if every candidate had failed.
                    self.tried[node].discard(tactic)
                    self.dry.discard(node)
                elif not self.pending[node] and node in self.dry:
                    self.tree.mark_expanded(node)  # the policy had nothing new, and now nothing runs
            if result is None:
                if self.tree.root_status is NodeStatus.OPEN:
                    self.stop_reason = self.stop_reason or self.meter.exhausted_reason
                break
            step = self.tree.add_result(node, tactic, logprob, result, tokens)
            if self.tree.root_status is NodeStatus.PROVED:
                self.runner.stop()  # rollouts still queued for the session need not run
            if step.outcome is not Outcome.STATE:
                break  # proved, or truncated at the first failing tactic
            added = added or step.is_new
            node = step.node
        return 1.0 if added else 0.0

    async def _next_candidate(self, node: str) -> Candidate | None:
        """An untried candidate for `node`: left over from the policy's last answer there, else
        a fresh answer; None (and the node marked expanded) when the policy has nothing new."""
        tried = self.tried.setdefault(node, set())
        pool = [c for c in self.pool.get(node, []) if c.tactic not in tried]
        if not pool:
            request = PolicyRequest(self.theorem, self.tree.path_tactics(node), self.tree.state(node))
            asked = await self._ask(request)
            if asked is None:
                return None
            answer, all_fitted = asked
            pool = [c for c in answer if c.tactic not in tried]
            if not pool:
                if not all_fitted:
                    return None  # the token budget refused candidates: not "nothing new", stay open
                if self.pending.get(node):
                    self.dry.add(node)  # tactics still running here may yet add children
                else:
                    self.tree.mark_expanded(node)
                return None
        cand = self._pick(pool)
        self.pool[node] = [c for c in pool if c is not cand]
        return cand

    async def _ask(self, request: PolicyRequest) -> tuple[list[Candidate], bool] | None:
        """(the candidates the token budget affords, whether that is all of them); None when the
        time ran out while waiting."""
        left = self.meter.time_left()
        try:
            answer = await asyncio.wait_for(self.batcher.ask(request), timeout=left)
        except asyncio.TimeoutError:
            self.meter.exhausted_reason = self.meter.exhausted_reason or TIME_LIMIT
            return None
        for cand in answer:
            if not isinstance(cand, Candidate) or not isinstance(cand.tactic, str):
                raise ValueError(f"policy returned {cand!r}; expected search.policy.Candidate")
        kept, all_fitted = affordable(answer, self.meter)
        if not all_fitted:
            self.stop_reason = self.stop_reason or TOKEN_LIMIT
        return kept, all_fitted

    @staticmethod
    def _pick(candidates: list[Candidate]) -> Candidate:
        """The most likely untried candidate: a model's candidates are samples already, and a
        fixed list like the hammer's is then tried in its order, one rollout at a time."""
        return max(candidates, key=lambda c: c.logprob)

    # ---- driver ---------------------------------------------------------------------------
    async def _worker(self) -> None:
        while self.stop_reason != TOKEN_LIMIT and await self._iterate():
            pass

    def _record_stats(self) -> None:
        """Leave the discounted statistics on the tree's nodes, for export and inspection."""
        for node, data in self.tree.graph.nodes(data=True):
            for name, table in (("arrive", self.arrive), ("stay", self.stay)):
                if node in table:
                    data[f"rmaxts_{name}_visits"] = round(table[node].visits, 6)
                    data[f"rmaxts_{name}_reward"] = round(table[node].reward, 6)

    async def run(self) -> str:
        workers = [asyncio.ensure_future(self._worker()) for _ in range(self.concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await self.batcher.aclose()
            self._record_stats()
        if self.tree.root_status is NodeStatus.PROVED:
            return PROVED
        if self.tree.root_status is NodeStatus.FAILED:
            return NO_CANDIDATES
        return self.stop_reason or self.meter.exhausted_reason or NO_CANDIDATES


async def rmaxts_search(tree: ProofTree, theorem: Theorem, policy: Policy, runner: TacticRunner,
                        meter: BudgetMeter, *, num_candidates: int = 16, concurrency: int = 8,
                        rollout_depth: int = 4) -> str:
    search = RMaxTS(tree, theorem, policy, runner, meter, num_candidates=num_candidates,
                    concurrency=concurrency, rollout_depth=rollout_depth)
    return await search.run()
