"""Expert iteration (DeepSeek-Prover's recipe): search, keep verified proofs, retrain, repeat.

One round:
  1. build the policy from the current checkpoint (`search.policy.make_policy`, "mixed" = the
     model through the serving engine + the hammer);
  2. search every problem (generated theorems of a separate seed, plus miniF2F-valid) with
     `search.aprove` against a `lean_env` ProofEnv (the embedded kernel by default);
  3. from each PROVED result keep the (state, tactic) steps of the proof that was re-verified
     (`SearchResult.proof`, checked by `env.verify` and the guard), read off `SearchResult.tree`;
  4. retrain on the supervised curriculum plus every step kept so far: from scratch (default),
     or continuing from the round's checkpoint for `retrain_steps` steps.
Only proofs that passed re-verification contribute; a tree whose proofs all failed it, or a
failed search, adds nothing. Each round writes `round_K/steps.jsonl`, `round_K/search.jsonl`
(one SearchResult per problem) and `round_K/model/` (the checkpoint).

    python -m training.expert_iteration --out build/expert_iteration --rounds 2
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import networkx as nx

from lean_env import open_env
from lean_env.datasets import minif2f_dir
from lean_env.theorem import Theorem
from model.loader import load_model
from model.tokenizer import load_tokenizer
from search import SearchBudget, SearchConfig, aprove
from search.policy import make_policy
from search.tree import QED, render_proof
from serving import AsyncEngine, EngineConfig
from training.curriculum import generate
from training.examples import SupervisedExample, write_examples
from training.train import TrainConfig, TrainResult, train

log = logging.getLogger(__name__)

STEPS_FILE = "steps.jsonl"
SEARCH_FILE = "search.jsonl"
MODEL_DIR = "model"


@dataclass
class ExpertIterationConfig:
    out_dir: Path = Path("build/expert_iteration")
    rounds: int = 2
    base: TrainConfig = field(default_factory=TrainConfig)  # out_dir is replaced per round
    problem_seed: int = 1  # a different seed from base.curriculum_seed: new theorems to search
    problems_per_family: int = 10
    include_minif2f_valid: bool = True
    minif2f_limit: int | None = None
    policy: str = "mixed"
    search: SearchConfig = field(default_factory=lambda: SearchConfig(
        budget=SearchBudget(max_expansions=32, time_limit_s=30.0), num_candidates=8, concurrency=4))
    parallel_theorems: int = 2
    env_pool_size: int = 2
    # 0: retrain from scratch for base.steps each round (DeepSeek-Prover's way). N > 0: continue
    # from the round's checkpoint for N steps at retrain_learning_rate (a CPU-sized round).
    retrain_steps: int = 0
    retrain_learning_rate: float = 1e-3

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")
        if self.retrain_steps < 0:
            raise ValueError(f"retrain_steps must be >= 0 (0 = retrain from scratch), got {self.retrain_steps}")


@dataclass
class RoundReport:
    round: int
    checkpoint: Path
    problems: int
    proved: int
    proved_by_source: dict[str, int]
    new_steps: int
    total_steps: int
    train: TrainResult | None

    def to_json(self) -> dict[str, Any]:
        return {"round": self.round, "checkpoint": str(self.checkpoint), "problems": self.problems,
                "proved": self.proved, "proved_by_source": self.proved_by_source,
                "new_steps": self.new_steps, "total_steps": self.total_steps,
                "final_loss": None if self.train is None else self.train.final_loss}


@dataclass(frozen=True)
class Problem:
    theorem: Theorem
    source: str  # "curriculum" | "minif2f-valid"


# =============================================================================== problems

def search_problems(config: ExpertIterationConfig) -> list[Problem]:
    problems = [Problem(Theorem(i.name, i.header, i.formal_statement), "curriculum")
                for i in generate(config.problem_seed, "train", config.problems_per_family)]
    if config.include_minif2f_valid:
        path = minif2f_dir() / "valid.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; put the miniF2F data beside the repo or set "
                                    "include_minif2f_valid=False")
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if config.minif2f_limit is not None:
            rows = rows[: config.minif2f_limit]
        problems += [Problem(Theorem(r["name"], r["header"], r["formal_statement"].rstrip()), "minif2f-valid")
                     for r in rows]
    return problems


# =============================================================================== steps from trees

def verified_steps(result: Any, theorem: Theorem, source: str = "expert-iteration",
                   max_paths: int = 16) -> list[SupervisedExample]:
    """(state, tactic) steps of the proof the search re-verified; [] unless result.status == "proved".

    The path is the root-to-QED path of `result.tree` whose tactics render to `result.proof`
    (the proof that `env.verify` and the guard accepted); its nodes are the states."""
    if result.status != "proved" or not result.proof or result.tree is None:
        return []
    tree = result.tree
    if not nx.has_path(tree.graph, tree.root, QED):
        log.warning("%s: reported proved, but its tree has no path to QED; no steps kept", theorem.name)
        return []
    for count, path in enumerate(nx.shortest_simple_paths(tree.graph, tree.root, QED)):
        if count >= max_paths:
            break
        tactics = [tree.graph.edges[a, b]["tactic"] for a, b in zip(path, path[1:])]
        if render_proof(tactics) == result.proof:
            return [SupervisedExample(theorem.name, theorem.header, theorem.statement, tuple(tactics[:i]),
                                      state, tactic, source)
                    for i, (state, tactic) in enumerate(zip(path, tactics))]
    log.warning("%s: the verified proof is not among the tree's %d shortest paths; no steps kept",
                theorem.name, max_paths)
    return []


def dedupe(examples: Iterable[SupervisedExample]) -> list[SupervisedExample]:
    seen, kept = set(), []
    for ex in examples:
        key = (ex.name, ex.state, " ".join(ex.tactic.split()))
        if key not in seen:
            seen.add(key)
            kept.append(ex)
    return kept


# =============================================================================== one round of search

async def search_all(problems: Sequence[Problem], env: Any, policy: Any, config: ExpertIterationConfig) -> list[Any]:
    """aprove every problem, `parallel_theorems` at a time; results in problem order."""
    gate = asyncio.Semaphore(config.parallel_theorems)

    async def one(problem: Problem) -> Any:
        async with gate:
            return await aprove(problem.theorem, env, policy, config.search)

    return list(await asyncio.gather(*(one(p) for p in problems)))


PolicyFactory = Callable[[Path], tuple[Any, Callable[[], None]]]


def engine_policy_factory(config: ExpertIterationConfig) -> PolicyFactory:
    """Checkpoint -> (policy, close): the model served by AsyncEngine, mixed with the hammer if asked."""

    def build(checkpoint: Path) -> tuple[Any, Callable[[], None]]:
        if config.policy == "hammer":
            return make_policy("hammer"), lambda: None
        engine = AsyncEngine(load_model(checkpoint), load_tokenizer(checkpoint), EngineConfig(seed=config.base.seed))
        policy = make_policy(config.policy, engine=engine, samples=config.search.model_samples)
        return policy, engine.shutdown

    return build


def run_round(round_index: int, checkpoint: Path, problems: Sequence[Problem], env: Any,
              policy_factory: PolicyFactory, config: ExpertIterationConfig,
              retrain: Callable[[TrainConfig], TrainResult] | None = None,
              previous_steps: Sequence[SupervisedExample] = ()) -> tuple[RoundReport, list[SupervisedExample]]:
    """Search with the policy of `checkpoint`, keep verified steps, retrain on everything kept so far."""
    round_dir = config.out_dir / f"round_{round_index}"
    round_dir.mkdir(parents=True, exist_ok=True)
    policy, close = policy_factory(checkpoint)
    try:
        results = asyncio.run(search_all(problems, env, policy, config))
    finally:
        close()
    new_steps: list[SupervisedExample] = []
    proved_by_source: dict[str, int] = {}
    with (round_dir / SEARCH_FILE).open("w", encoding="utf-8") as f:
        for problem, result in zip(problems, results):
            f.write(json.dumps({**result.to_json(), "source": problem.source}, ensure_ascii=False) + "\n")
            steps = verified_steps(result, problem.theorem, f"expert-iteration round {round_index}")
            if steps:
                proved_by_source[problem.source] = proved_by_source.get(problem.source, 0) + 1
                new_steps.extend(steps)
    all_steps = dedupe([*previous_steps, *new_steps])
    steps_path = round_dir / STEPS_FILE
    write_examples(all_steps, steps_path)
    train_config = replace(config.base, out_dir=round_dir / MODEL_DIR,
                           extra_examples=[*config.base.extra_examples, steps_path],
                           tokenizer_dir=_tokenizer_dir(checkpoint, config.base))
    if config.retrain_steps:
        train_config = replace(train_config, init_checkpoint=checkpoint, steps=config.retrain_steps,
                               learning_rate=config.retrain_learning_rate,
                               warmup_steps=min(train_config.warmup_steps, 10))
    trained = retrain(train_config) if retrain is not None else train(train_config, env=env)
    report = RoundReport(round_index, train_config.out_dir, len(problems), sum(proved_by_source.values()),
                         proved_by_source, len(dedupe(new_steps)), len(all_steps), trained)
    (round_dir / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    return report, all_steps


def _tokenizer_dir(checkpoint: Path, base: TrainConfig) -> Path:
    """Keep the first tokenizer for every round, so token ids mean the same thing throughout."""
    return base.tokenizer_dir if base.tokenizer_dir is not None else checkpoint


def expert_iteration(config: ExpertIterationConfig, env: Any = None,
                     policy_factory: PolicyFactory | None = None,
                     initial_checkpoint: Path | None = None) -> list[RoundReport]:
    """Supervised start (unless `initial_checkpoint`), then `rounds` rounds; the last checkpoint is
    `config.out_dir / f"round_{rounds}" / "model"`."""
    own_env = env is None
    if own_env:
        env = open_env("embedded", pool_size=config.env_pool_size)
    try:
        checkpoint = initial_checkpoint
        if checkpoint is None:
            start = replace(config.base, out_dir=config.out_dir / "round_0" / MODEL_DIR)
            train(start, env=env)
            checkpoint = start.out_dir
        problems = search_problems(config)
        factory = policy_factory or engine_policy_factory(config)
        reports: list[RoundReport] = []
        steps: list[SupervisedExample] = []
        for k in range(1, config.rounds + 1):
            report, steps = run_round(k, checkpoint, problems, env, factory, config, previous_steps=steps)
            log.info("round %d: proved %d/%d, %d new steps", k, report.proved, report.problems, report.new_steps)
            reports.append(report)
            checkpoint = report.checkpoint
        return reports
    finally:
        if own_env:
            env.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Expert iteration: search, keep verified proofs, retrain.")
    parser.add_argument("--out", type=Path, default=Path("build/expert_iteration"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=TrainConfig.steps, help="training steps per round")
    parser.add_argument("--problems-per-family", type=int, default=10)
    parser.add_argument("--no-minif2f", action="store_true")
    parser.add_argument("--policy", default="mixed", choices=("hammer", "model", "mixed"))
    parser.add_argument("--initial-checkpoint", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    config = ExpertIterationConfig(out_dir=args.out, rounds=args.rounds, base=TrainConfig(steps=args.steps),
                                   problems_per_family=args.problems_per_family,
                                   include_minif2f_valid=not args.no_minif2f, policy=args.policy)
    for report in expert_iteration(config, initial_checkpoint=args.initial_checkpoint):
        print(json.dumps(report.to_json()))


if __name__ == "__main__":
    main()
