"""What one search on one theorem returns, and why a search that found no proof stopped."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from lean_env.repl import TheoremStartError
from search.budget import ENV_CALL_LIMIT, EXPANSION_LIMIT, TIME_LIMIT, TOKEN_LIMIT, BudgetMeter
from search.tree import QED, NodeStatus, ProofTree

# Why a search stopped: short stable codes (reports and HTTP clients may match on them). Every
# result carries one; every result that is not a proof also carries a sentence in `error`.
PROVED = "proved"
NO_CANDIDATES = "no candidates left"        # every proposed tactic failed or was refused
# EXPANSION_LIMIT, TIME_LIMIT, ENV_CALL_LIMIT, TOKEN_LIMIT: the budget's (search.budget)
VERIFICATION_FAILED = "verification failed"  # proofs found, all rejected by the guard or re-verification
STATEMENT_REJECTED = "statement rejected"    # the statement does not elaborate
OUTSIDE_FRAGMENT = "outside fragment"        # the embedded kernel does not model the statement
BACKEND_ERROR = "backend error"              # the Lean backend failed (start, or every tactic run)
SEARCH_ERROR = "search error"                # the search or the policy raised
STOP_REASONS = (PROVED, NO_CANDIDATES, EXPANSION_LIMIT, TIME_LIMIT, ENV_CALL_LIMIT, TOKEN_LIMIT,
                VERIFICATION_FAILED, STATEMENT_REJECTED, OUTSIDE_FRAGMENT, BACKEND_ERROR, SEARCH_ERROR)

# budget code -> (what was spent, budget field, CLI flag)
_LIMITS = {
    EXPANSION_LIMIT: ("expansions", "max_expansions", "--max-expansions"),
    TIME_LIMIT: ("seconds", "time_limit_s", "--time-limit"),
    ENV_CALL_LIMIT: ("tactic runs", "max_env_calls", "--max-env-calls"),
    TOKEN_LIMIT: ("generated tokens", "max_tokens", "--max-tokens"),
}


@dataclass
class SearchResult:
    """`proof` is the indented tactic block that follows `:= by`, set only when status is
    "proved", i.e. after `env.verify` and `guard.check_proof` both accepted it.
    "failed" = budget spent, no candidates left, or no found proof survived re-verification;
    "error" = the search could not run (the statement was rejected, the backend or the policy
    failed). `stop_reason` is one of `STOP_REASONS`; `error` is one line saying why for every
    result that is not a proof (None for a proof). `time_s` is the wall time of the whole call
    (session start and re-verification included). `verify_failures` lists proofs the search
    found that re-verification or the guard rejected."""

    name: str
    status: Literal["proved", "failed", "error"]
    proof: str | None
    time_s: float
    expansions: int
    env_calls: int
    tokens: int
    backend: str
    error: str | None = None
    tree: ProofTree | None = field(default=None, repr=False)
    algorithm: str = "best-first"
    stop_reason: str | None = None
    verify_failures: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "status": self.status, "proof": self.proof,
            "time_s": round(self.time_s, 4), "expansions": self.expansions,
            "env_calls": self.env_calls, "tokens": self.tokens, "backend": self.backend,
            "error": self.error, "algorithm": self.algorithm, "stop_reason": self.stop_reason,
            "verify_failures": list(self.verify_failures),
        }


# ---- the sentences ---------------------------------------------------------------------------

def one_line(text: str, limit: int = 400) -> str:
    """`text` on one line (tables show the first line only), cut at `limit` characters."""
    flat = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _spent(meter: BudgetMeter) -> str:
    limit = meter.budget.time_limit_s
    of = f" of a {limit:g} s budget" if limit is not None else ""
    return (f"{_plural(meter.expansions, 'expansion')}, {_plural(meter.env_calls, 'tactic run')}, "
            f"{meter.elapsed():.2f} s{of}")


def tree_counts(tree: ProofTree) -> dict[str, int]:
    """States, open states, tactic attempts and failed attempts by outcome, over the whole tree."""
    counts = {"states": 0, "open": 0, "tried": 0, "to_states": 0}
    for node, data in tree.graph.nodes(data=True):
        if node == QED:
            continue
        counts["states"] += 1
        counts["open"] += data["status"] == NodeStatus.OPEN.value
        # an edge stands for every tactic that reached the same child (`alternatives` more)
        counts["to_states"] += sum(1 + e["alternatives"] for _, _, e in tree.graph.out_edges(node, data=True))
        for failure in data["failures"]:
            counts[failure["outcome"]] = counts.get(failure["outcome"], 0) + 1
    counts["tried"] = counts["to_states"] + sum(
        v for k, v in counts.items() if k not in ("states", "open", "tried", "to_states"))
    return counts


def _failure_breakdown(counts: dict[str, int]) -> str:
    words = {"error": "failed", "timeout": "timed out", "rejected": "refused by the guard",
             "no_progress": "changed nothing", "cycle": "went back to an earlier state",
             "given_up": "gave up (sorry)"}
    parts = [f"{counts[k]} {w}" for k, w in words.items() if counts.get(k)]
    if counts["to_states"]:
        parts.append(f"{counts['to_states']} led to states that failed in turn")
    return ", ".join(parts)


def explain_stop(reason: str, tree: ProofTree, meter: BudgetMeter, *, backend_errors: int = 0) -> str:
    """The sentence for a search that ended without a proof in the tree (`reason` from the search)."""
    counts = tree_counts(tree)
    if reason == NO_CANDIDATES:
        if counts["tried"] == 0:
            return f"no candidates left: the policy proposed no tactic for the first state ({_spent(meter)})"
        backend = f"; {backend_errors} of the runs were backend errors" if backend_errors else ""
        # the counts first: tables show the first 160 characters
        return (f"no candidates left: all {_plural(counts['tried'], 'tactic')} tried at "
                f"{_plural(counts['states'], 'state')} failed or were refused; {_spent(meter)} "
                f"({_failure_breakdown(counts)}{backend})")
    if reason == BACKEND_ERROR:
        return (f"backend error: the Lean backend failed on all {_plural(backend_errors, 'tactic run')} "
                f"({_spent(meter)}); see the log for its messages")
    if reason in _LIMITS:
        what, name, flag = _LIMITS[reason]
        limit = getattr(meter.budget, name)
        used = {EXPANSION_LIMIT: meter.expansions, ENV_CALL_LIMIT: meter.env_calls,
                TOKEN_LIMIT: meter.tokens}.get(reason)
        spent = f"{used} of {limit} {what}" if used is not None else f"{meter.elapsed():.2f} of {limit:g} {what}"
        return (f"{reason}: {spent} spent, {_plural(counts['open'], 'open state')} left; {_spent(meter)}; "
                f"raise {name} ({flag}) to search further")
    return f"{reason}: the search stopped without a proof ({_spent(meter)})"


def explain_verify_failures(failures: list[str]) -> str:
    """The sentence for proofs found by the search that the guard or re-verification rejected."""
    if not failures:
        return "verification failed: the tree holds a proof but no tactic list could be read from it"
    guard = sum(f.startswith("guard rejected") for f in failures)
    raised = sum(f.startswith("verification of") for f in failures)
    rejected = len(failures) - guard - raised
    which = [part for part in (f"the guard rejected {guard}" if guard else "",
                               f"re-verification rejected {rejected}" if rejected else "",
                               f"re-verification raised on {raised}" if raised else "") if part]
    return one_line(f"verification failed: the search found {_plural(len(failures), 'proof')}, but "
                    f"{' and '.join(which)}; first: {failures[0] if failures else '-'}")


def explain_start_error(exc: BaseException) -> tuple[str, str]:
    """(stop reason, sentence) for a proof session that could not start."""
    # A start error caused by a crashed or hung process is the backend's fault, not the statement's.
    if isinstance(exc, TheoremStartError) and exc.__cause__ is None:
        text = str(exc)
        # the embedded kernel's refusals: "unsupported construct: …", "… outside the (trusted core's) fragment"
        outside = "unsupported construct" in text or ("embedded kernel" in text and "fragment" in text)
        reason = OUTSIDE_FRAGMENT if outside else STATEMENT_REJECTED
        return reason, one_line(f"{reason}: {exc}")
    return BACKEND_ERROR, one_line(f"{BACKEND_ERROR}: could not start a proof session: {type(exc).__name__}: {exc}")
