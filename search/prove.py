"""Prove one theorem: start a session, search, then re-verify the proof from scratch.

A proof is reported only if `guard.check_proof` finds nothing forbidden in it AND
`env.verify` accepts it in a fresh environment. If the search's tree holds a proof that fails
either check, that is logged and the next distinct proof in the tree is tried (up to
`MAX_PROOFS_TO_VERIFY`); none passing means "failed", never "proved".

Every result says why the search stopped: a stable code in `stop_reason` (search.result) and,
unless it is a proof, one line in `error` with the counts behind it.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

from lean_env.env import ProofEnv
from lean_env.guard import check_proof
from lean_env.theorem import Theorem
from search.best_first import best_first_search
from search.budget import BudgetMeter
from search.candidates import Policy
from search.config import SearchConfig
from search.result import (
    BACKEND_ERROR,
    NO_CANDIDATES,
    PROVED,
    SEARCH_ERROR,
    VERIFICATION_FAILED,
    SearchResult,
    explain_start_error,
    explain_stop,
    explain_verify_failures,
    one_line,
)
from search.rmaxts import rmaxts_search
from search.tactic_runner import TacticRunner
from search.tree import NodeStatus, ProofTree, render_proof
from search.whole_proof import whole_proof_search

log = logging.getLogger(__name__)

MAX_PROOFS_TO_VERIFY = 3


async def aprove(theorem: Theorem, env: ProofEnv, policy: Policy, config: SearchConfig | None = None, *,
                 clock: Callable[[], float] = time.monotonic, **overrides: Any) -> SearchResult:
    """Search for a proof of `theorem`; never raises for a failed search (status "error" instead).

    `config` (default `SearchConfig()`) says how; keyword `overrides` replace its fields
    (`budget=SearchBudget(...)`, `algorithm="rmaxts"`, ...) and are validated like it.
    `clock` = the time source of the budget (tests)."""
    config = config or SearchConfig()
    if overrides:
        config = SearchConfig.model_validate({**dict(config), **overrides})
    algorithm, budget = config.algorithm, config.budget
    meter = BudgetMeter(budget, clock)
    backend = getattr(env, "backend", "unknown")

    def finish(status: str, *, proof: str | None = None, error: str | None = None,
               tree: ProofTree | None = None, stop_reason: str | None = None,
               verify_failures: list[str] | None = None) -> SearchResult:
        return SearchResult(name=theorem.name, status=status, proof=proof, time_s=meter.elapsed(),
                            expansions=meter.expansions, env_calls=meter.env_calls, tokens=meter.tokens,
                            backend=backend, error=error, tree=tree, algorithm=algorithm,
                            stop_reason=stop_reason, verify_failures=verify_failures or [])

    try:
        session, root = await asyncio.to_thread(env.start, theorem)
    except Exception as exc:
        log.debug("%s: could not start a proof session: %s", theorem.name, exc)
        reason, sentence = explain_start_error(exc)
        return finish("error", error=sentence, stop_reason=reason)

    tree = ProofTree(root)
    runner = TacticRunner(session, meter)
    try:
        if algorithm == "best-first":
            stop_reason = await best_first_search(tree, theorem, policy, runner, meter,
                                                  num_candidates=config.num_candidates,
                                                  concurrency=config.concurrency,
                                                  length_normalized=config.length_normalized)
        elif algorithm == "whole-proof":
            stop_reason = await whole_proof_search(tree, theorem, policy, runner, meter, config)
        else:
            stop_reason = await rmaxts_search(tree, theorem, policy, runner, meter,
                                              num_candidates=config.num_candidates,
                                              concurrency=config.concurrency,
                                              rollout_depth=config.rollout_depth)
    except Exception as exc:
        log.exception("%s: search failed", theorem.name)
        return finish("error", error=one_line(f"search error: {type(exc).__name__}: {exc}"), tree=tree,
                      stop_reason=SEARCH_ERROR)
    finally:
        try:
            await runner.drain()
            await asyncio.to_thread(session.close)
        except Exception as exc:  # closing is best effort; the result stands
            log.warning("%s: closing the session failed: %s", theorem.name, exc)

    if tree.root_status is not NodeStatus.PROVED:
        status = "failed"
        if stop_reason == NO_CANDIDATES and runner.backend_errors and runner.backend_errors == meter.env_calls:
            status, stop_reason = "error", BACKEND_ERROR  # nothing failed on its merits: Lean did
        return finish(status, tree=tree, stop_reason=stop_reason,
                      error=explain_stop(stop_reason, tree, meter, backend_errors=runner.backend_errors))

    failures: list[str] = []
    for tactics in tree.proofs(limit=MAX_PROOFS_TO_VERIFY):
        proof = render_proof(tactics)
        reasons = check_proof(proof)
        if reasons:
            failures.append(f"guard rejected {proof!r}: {'; '.join(reasons)}")
            log.warning("%s: %s", theorem.name, failures[-1])
            continue
        try:
            verdict = await asyncio.to_thread(env.verify, theorem, proof)
        except Exception as exc:
            failures.append(f"verification of {proof!r} raised {type(exc).__name__}: {exc}")
            log.warning("%s: %s", theorem.name, failures[-1])
            continue
        if verdict.ok:
            return finish("proved", proof=proof, tree=tree, stop_reason=PROVED,
                          verify_failures=failures)
        failures.append(f"re-verification rejected {proof!r}: {' | '.join(verdict.messages)[:500]}")
        log.warning("%s: %s", theorem.name, failures[-1])
    return finish("failed", tree=tree, stop_reason=VERIFICATION_FAILED, verify_failures=failures,
                  error=explain_verify_failures(failures))


def prove(theorem: Theorem, env: ProofEnv, policy: Policy, config: SearchConfig | None = None,
          **options: Any) -> SearchResult:
    """Synchronous `aprove` (runs its own event loop; call it from plain threads, not from async code)."""
    return asyncio.run(aprove(theorem, env, policy, config, **options))
