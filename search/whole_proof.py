"""Whole-proof search: sample whole proofs, check them in Lean, repair the ones that fail.

The mode of every strong published prover (DeepSeek-Prover-V1.5/V2, Goedel-Prover-V2,
Kimina-Prover). For one theorem:

1. Round 0: one request of `samples` whole proofs (one batched engine call), in the model's
   prompt format (`search.prompt_formats`). With the mixed policy the hammer's one-line proofs
   are tried first (they cost no tokens).
2. Each answer's proof is replayed tactic by tactic in the theorem's Lean session (shared
   prefixes run once); every state it reaches becomes a node of the proof tree, so a finished
   proof is a path to QED, found the same way as by the step searches.
3. A failed attempt is cut at its first failing tactic (DeepSeek-Prover-V1.5's
   truncate-and-resume): the tactics before it are kept, with the state they reach and Lean's
   error. Each of up to `repair_rounds` rounds sends one request per distinct failure (deepest
   first, at most `repair_width`): "resume" continues the proof from the kept state
   (the V1.5 format with its `/- tactic state -/` comment); "feedback" sends the error and the
   goal back (a chat turn for chat models). "auto" = resume for completion formats, feedback
   for chat formats.

Budget as for the other searches: an expansion is one model request, every sampled token is
charged, every replayed tactic is an env call, and the clock runs over all of it. The search
only finds proofs; `search.prove` re-verifies the one it reports from scratch and runs the
guard, as for every other search.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from lean_env.guard import check_proof
from lean_env.theorem import Theorem
from lean_env.types import TacticState
from search.budget import BudgetMeter
from search.candidates import Policy, PolicyRequest
from search.config import SearchConfig
from search.prompt_formats import Failure, Prompt
from search.proof_writer import ProofWriter, request_seed
from search.tactic_runner import TacticRunner
from search.tree import QED, NodeStatus, Outcome, ProofTree

log = logging.getLogger(__name__)

RepairMode = Literal["auto", "resume", "feedback"]
REPAIR_MODES = ("auto", "resume", "feedback")


@dataclass(frozen=True)
class Attempt:
    prompt: Prompt
    answer: str
    tactics: tuple[str, ...]
    logprob: float = 0.0


class _Stop(Exception):
    """The budget refused a step: end the search, keeping what it found."""


class WholeProofSearch:
    def __init__(self, tree: ProofTree, theorem: Theorem, writer: ProofWriter | None, runner: TacticRunner,
                 meter: BudgetMeter, *, samples: int = 8, repair_rounds: int = 1, repair: RepairMode = "auto",
                 repair_width: int = 8, seed: int | None = None, tactic_policy: Policy | None = None,
                 num_candidates: int = 16):
        if repair not in REPAIR_MODES:
            raise ValueError(f"unknown repair mode {repair!r}; choose one of {', '.join(REPAIR_MODES)}")
        self.tree = tree
        self.theorem = theorem
        self.writer = writer
        self.format = writer.format if writer is not None else None
        self.runner = runner
        self.meter = meter
        self.samples = samples
        self.repair_rounds = repair_rounds
        chat = self.format is not None and self.format.chat
        self.repair = ("feedback" if chat else "resume") if repair == "auto" else repair
        self.repair_width = max(1, repair_width)
        self.seed = seed
        self.tactic_policy = tactic_policy
        self.num_candidates = num_candidates
        self._ran: dict[tuple[str, str], object] = {}  # (node, tactic) -> result: shared prefixes run once
        self.attempts = 0

    async def run(self) -> str:
        try:
            failures = await self._hammer_round()
            if self._proved():
                return "proved"
            if self.writer is None:  # the hammer alone: its one-line proofs were all there was
                return "exhausted"
            prompt = self.format.initial(self.theorem)
            attempts, empty = await self._ask([prompt], round_index=0)
            failures += await self._check(attempts) + empty
            for round_index in range(1, self.repair_rounds + 1):
                if self._proved() or not failures:
                    break
                prompts = [self._repair_prompt(f) for f in _distinct_deepest(failures)[: self.repair_width]]
                attempts, empty = await self._ask(prompts, round_index=round_index)
                failures = await self._check(attempts) + empty
        except _Stop:
            pass
        if self._proved():
            return "proved"
        return self.meter.exhausted_reason or "exhausted"

    def _proved(self) -> bool:
        return self.tree.root_status is NodeStatus.PROVED

    # ---- asking ---------------------------------------------------------------------------
    async def _ask(self, prompts: list[Prompt], *, round_index: int) -> tuple[list[Attempt], list[Failure]]:
        """One request per prompt, all at once (the engine batches them): the attempts, and a
        failure at the start for each prompt whose answers held no proof at all (so a repair
        round asks again, from the goal or with "no proof" as the feedback)."""
        allowed = []
        for prompt in prompts:
            if not self.meter.try_expansion():
                break
            allowed.append(prompt)
        if not allowed:
            raise _Stop
        seeds = [request_seed(self.seed, self.theorem.name, round_index, i) for i in range(len(allowed))]
        answers = await asyncio.gather(*(self._sample(p, s) for p, s in zip(allowed, seeds)))
        attempts: list[Attempt] = []
        empty: list[Failure] = []
        over_budget = False
        for prompt, sampled in zip(allowed, answers):
            without_proof: str | None = None
            found = False
            for answer in sampled:
                if not self.meter.try_tokens(answer.tokens):
                    over_budget = True
                    continue
                tactics = self.format.extract(self.theorem, prompt, answer.text)
                if tactics:
                    found = True
                    attempts.append(Attempt(prompt, answer.text, tuple(tactics), answer.logprob))
                elif without_proof is None:
                    without_proof = answer.text
            if not found and without_proof is not None:
                empty.append(Failure(kept=(), state_pp=self.tree.root, failed_tactic=None,
                                     error="the answer holds no Lean proof", prompt=prompt,
                                     answer=without_proof, no_proof=True))
        if over_budget and not attempts:
            raise _Stop
        return attempts, empty

    async def _sample(self, prompt: Prompt, seed: int | None) -> list:
        left = self.meter.time_left()
        try:
            # a long generation must not outlive the time budget (the engine or server drops it)
            return await asyncio.wait_for(self.writer.sample(prompt, self.samples, seed),
                                          None if left is None else max(left, 0.001))
        except asyncio.TimeoutError:
            self.meter.can_continue()  # records "time limit" as the reason the search stops
            log.warning("%s: a model request ran past the time limit", self.theorem.name)
            return []
        except Exception as exc:
            if getattr(exc, "prompt_too_long", False) or type(exc).__name__ == "PromptTooLongError":
                log.warning("%s: prompt too long for the model, request skipped: %s", self.theorem.name, exc)
                return []
            raise

    def _repair_prompt(self, failure: Failure) -> Prompt:
        if self.repair == "resume":
            return self.format.resume(self.theorem, failure.kept, failure.state_pp)
        return self.format.feedback(self.theorem, failure)

    # ---- checking -------------------------------------------------------------------------
    async def _hammer_round(self) -> list[Failure]:
        if self.tactic_policy is None:
            return []
        if not self.meter.try_expansion():
            raise _Stop
        root = self.tree.state(self.tree.root)
        (candidates,) = await self.tactic_policy.propose([PolicyRequest(self.theorem, [], root)], self.num_candidates)
        attempts = [Attempt(Prompt(text=""), c.tactic, (c.tactic,), c.logprob) for c in candidates]
        return await self._check(attempts)

    async def _check(self, attempts: list[Attempt]) -> list[Failure]:
        failures = []
        for attempt in sorted(attempts, key=lambda a: -a.logprob):
            failure = await self._replay(attempt)
            if self._proved():
                return []
            if failure is not None:
                failures.append(failure)
        return failures

    async def _replay(self, attempt: Attempt) -> Failure | None:
        """Run the attempt's tactics from the root; None when it proves the theorem."""
        self.attempts += 1
        node = self.tree.root
        for tactic in attempt.tactics:
            reasons = check_proof(tactic)
            if reasons:
                return self._failure(attempt, node, tactic, "refused by the guard: " + "; ".join(reasons))
            key = (node, " ".join(tactic.split()))
            step = self._ran.get(key)
            if step is None:
                result = await self.runner.run(self.tree.state(node), tactic)
                if result is None:
                    raise _Stop  # the budget (env calls or time) is spent
                step = self._ran[key] = self._step(node, tactic, attempt.logprob, result)
            kind, node, message = step
            if kind == "proved":
                return None
            if kind == "error":
                return self._failure(attempt, node, tactic, message)
        return self._failure(attempt, node, None, "unsolved goals: the proof ended with goals left")

    def _step(self, node: str, tactic: str, logprob: float, result: object) -> tuple[str, str, str]:
        """Record `result` in the tree: ("proved" | "state" | "error", the node to go on from, message)."""
        added = self.tree.add_result(node, tactic, logprob, result)  # type: ignore[arg-type]
        if added.outcome is Outcome.PROVED:
            return "proved", QED, ""
        if added.outcome is Outcome.STATE:
            return "state", added.node or node, ""
        if added.outcome is Outcome.NO_PROGRESS:
            return "state", node, ""  # e.g. `skip`: harmless, go on
        if added.outcome is Outcome.CYCLE and isinstance(result, TacticState):
            return "state", result.pp, ""  # back at a known state: go on from there
        return "error", node, getattr(result, "error", None) or f"the tactic {added.outcome.value}"

    def _failure(self, attempt: Attempt, node: str, tactic: str | None, error: str) -> Failure:
        kept = tuple(self.tree.path_tactics(node))
        return Failure(kept=kept, state_pp=node, failed_tactic=tactic, error=error,
                       prompt=attempt.prompt, answer=attempt.answer)


def _distinct_deepest(failures: list[Failure]) -> list[Failure]:
    """One failure per (state, failing tactic), those that got furthest first (an answer without
    a proof got nowhere: last)."""
    seen: set[tuple[str, str | None, bool]] = set()
    unique = []
    for failure in failures:
        key = (failure.state_pp, failure.failed_tactic, failure.no_proof)
        if key not in seen:
            seen.add(key)
            unique.append(failure)
    return sorted(unique, key=lambda f: (f.no_proof, -len(f.kept)))


@dataclass
class WholeProofPolicy:
    """What a whole-proof search asks: the model's writer, and a tactic policy whose one-line
    proofs are tried first (the hammer, for the mixed policy). Either may be None, not both."""

    writer: ProofWriter | None
    tactic_policy: Policy | None = None

    def __post_init__(self) -> None:
        if self.writer is None and self.tactic_policy is None:
            raise ValueError("a whole-proof policy needs a model writer, a tactic policy, or both")


async def whole_proof_search(tree: ProofTree, theorem: Theorem, policy: WholeProofPolicy | Policy,
                             runner: TacticRunner, meter: BudgetMeter, config: SearchConfig) -> str:
    """Run the search on `tree` (rooted at the theorem's start); returns why it stopped. A plain
    tactic policy (the hammer) stands for its one-line proofs alone."""
    if not isinstance(policy, WholeProofPolicy):
        policy = WholeProofPolicy(None, policy)
    search = WholeProofSearch(tree, theorem, policy.writer, runner, meter, samples=config.model_samples,
                              repair_rounds=config.repair_rounds, repair=config.repair,
                              repair_width=config.concurrency, seed=config.seed,
                              tactic_policy=policy.tactic_policy, num_candidates=config.num_candidates)
    return await search.run()
