"""Policies: who proposes the next tactics.

`Policy` is a protocol (`async propose(requests, k) -> list[list[Candidate]]`); the searches
send many requests per call so a model-backed policy sees batches. Three implementations:
`HammerPolicy` (fixed tactic list), `ModelPolicy` (the engine, DeepSeek-Prover prompt format)
and `MixedPolicy` (several policies merged by score).
"""
from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from typing import Any, Sequence

from search.candidates import Candidate, Policy, PolicyRequest, dedupe_best_first, unusable_tokens
from search.hammer import HammerPolicy, hammer_tactics
from search.model_policy import ModelPolicy
from search.prompt import build_prompt, first_tactic
from search.prompt_formats import default_format, get_format
from search.whole_proof import WholeProofPolicy

__all__ = [
    "Candidate", "Policy", "PolicyRequest", "HammerPolicy", "ModelPolicy", "MixedPolicy",
    "make_policy", "make_search_policy", "hammer_tactics", "build_prompt", "first_tactic", "POLICY_NAMES",
    "WholeProofPolicy",
]

POLICY_NAMES = ("hammer", "model", "mixed")


class MixedPolicy:
    """Asks every policy, adds log(weight) to each candidate's log-prob, keeps the best k.

    Weights are normalised to sum to 1 (default: equal), so a candidate's score is the
    log-probability of "pick this policy, then this tactic"."""

    def __init__(self, policies: Sequence[Policy], weights: Sequence[float] | None = None):
        if not policies:
            raise ValueError("MixedPolicy needs at least one policy")
        weights = list(weights) if weights is not None else [1.0] * len(policies)
        if len(weights) != len(policies) or any(w <= 0 for w in weights):
            raise ValueError(f"MixedPolicy weights must be one positive number per policy, got {weights}")
        total = sum(weights)
        self.policies = list(policies)
        self.log_weights = [math.log(w / total) for w in weights]

    async def propose(self, requests: list[PolicyRequest], k: int) -> list[list[Candidate]]:
        answers = await asyncio.gather(*(p.propose(requests, k) for p in self.policies))
        merged: list[list[Candidate]] = []
        for i in range(len(requests)):
            pool = [replace(c, logprob=c.logprob + lw)
                    for answer, lw in zip(answers, self.log_weights) for c in answer[i]]
            merged.append(dedupe_best_first(pool, k, extra_tokens=sum(unusable_tokens(a[i]) for a in answers)))
        return merged


def make_policy(name: str, *, engine: Any = None, **model_options: Any) -> Policy:
    """"hammer" | "model" | "mixed" (model + hammer). The last two need a serving engine."""
    if name == "hammer":
        return HammerPolicy()
    if name in ("model", "mixed"):
        if engine is None:
            raise ValueError(f"policy {name!r} needs a serving engine (pass engine=AsyncEngine(...)); "
                             "use policy 'hammer' to search without a model")
        model = ModelPolicy(engine, **model_options)
        return model if name == "model" else MixedPolicy([model, HammerPolicy()])
    raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(POLICY_NAMES)}")


def make_search_policy(name: str, search: Any, *, engine: Any = None, model_name: str | None = None,
                       model_dir: Any = None, chat_template: str | None = None,
                       sampling_params: Any = None) -> Policy | WholeProofPolicy:
    """The policy `search` (a `SearchConfig`) needs: tactics for best-first and RMaxTS, whole
    proofs for whole-proof (then "mixed" also tries the hammer's one-line proofs first).

    `model_name` (a checkpoint path or a served model's name) picks the default prompt format;
    `model_dir` holds the chat template a chat format needs when the engine is ours
    (`chat_template` overrides it: a .jinja path or the template text)."""
    options: dict[str, Any] = dict(samples=search.model_samples, temperature=search.temperature, top_p=search.top_p,
                                   seed=search.seed)
    if sampling_params is not None:
        options["sampling_params"] = sampling_params
    if search.algorithm != "whole-proof" or name == "hammer":
        return make_policy(name, engine=engine, **options)
    if name not in POLICY_NAMES:
        raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(POLICY_NAMES)}")
    if engine is None:
        raise ValueError(f"whole-proof search with policy {name!r} needs a model: a serving engine or --policy-url")
    from search.chat_template import ChatTemplate
    from search.proof_writer import ProofWriter

    prompt_format = get_format(search.prompt_format or default_format(model_name))
    template = None
    if prompt_format.chat and not hasattr(engine, "submit_chat"):
        if model_dir is None and chat_template is None:
            raise ValueError(f"prompt format {prompt_format.name!r} needs the model's chat template; pass the "
                             "checkpoint directory or use --prompt-format deepseek-v1.5")
        template = ChatTemplate.from_dir(model_dir or ".", chat_template)
    writer = ProofWriter(engine, prompt_format, temperature=search.temperature, top_p=search.top_p,
                         max_tokens=search.proof_max_tokens, chat_template=template,
                         sampling_params=sampling_params)
    return WholeProofPolicy(writer, HammerPolicy() if name == "mixed" else None)
