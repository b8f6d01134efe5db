"""`prover`: prove a .lean file, evaluate on miniF2F (locally or on Ray), serve the HTTP API.

Exit codes (`EXIT_HELP`, shown by --help): `prove` 0 every open theorem proved, 1 some not, 2 bad
input or an unusable backend (nothing written; the message says what to fix). `eval` 0 the run
finished (whatever was proved), 2 bad input, an unusable backend or a --resume of another run,
130 interrupted (the results file stays valid; rerun with --resume).

Output: a table on a terminal; piped, one line per theorem as it finishes; `--json` one JSON
object per theorem (JSON Lines) then a summary object; `--quiet` only the summary and errors.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import json
import signal
import sys
import typing
import uuid
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Optional

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from prover.config import (
    DEFAULT_POLICY,
    ClusterConfig,
    ConfigError,
    EnvKind,
    PolicyName,
    ProverConfig,
    theorem_deadline,
)
from search.config import SearchAlgorithm, SearchConfig

EXIT_ALL_PROVED = 0
EXIT_SOME_UNPROVED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

EXIT_HELP = ("Exit codes: 0 all proved, 1 some not proved, 2 bad input or an unusable backend "
             "(nothing is written then); eval: 0 run finished, 2 bad input, unusable backend or a --resume of "
             "another run, 130 interrupted.")
app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Lean 4 theorem prover: proof search with a policy, checked by a Lean backend.\n\n" + EXIT_HELP)
console = Console(stderr=True, soft_wrap=True)  # one message, one line (logs and grep)
out = Console()


def _choices(name: str, literal: Any) -> type[Enum]:
    """A str Enum of a config Literal's values (typer lists them in --help)."""
    return Enum(name, {value: value for value in typing.get_args(literal)}, type=str)  # type: ignore[return-value]


EnvChoice = _choices("EnvChoice", EnvKind)
SearchChoice = _choices("SearchChoice", SearchAlgorithm)
PolicyChoice = _choices("PolicyChoice", PolicyName)
Benchmark = _choices("Benchmark", Literal["minif2f"])


# Options shared by `prove`, `eval` and `serve` (added by `with_prover_options`).
ENV_OPT = typer.Option(EnvChoice("embedded"), "--env", help="Lean backend: embedded kernel, Lean REPL, or LeanDojo.")
POLICY_OPT = typer.Option(PolicyChoice(DEFAULT_POLICY), "--policy",
                          help="Tactic source: the hammer's fixed tactic list, the model, or both (mixed).")
MODEL_OPT = typer.Option(None, "--model", help="HF-layout checkpoint directory (config.json, *.safetensors, "
                         "tokenizer.json) for --policy model/mixed; default: the shipped checkpoints/policy.")

# Every `search.SearchConfig` knob as a flag: (field path, flag). Defaults and help come from the
# pydantic fields, so `--help` shows what the search would use.
SEARCH_FLAGS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("algorithm",), "--search"),
    (("budget", "time_limit_s"), "--time-limit"),
    (("budget", "max_expansions"), "--max-expansions"),
    (("budget", "max_env_calls"), "--max-env-calls"),
    (("budget", "max_tokens"), "--max-tokens"),
    (("budget", "tactic_timeout_s"), "--tactic-timeout"),
    (("concurrency",), "--concurrency"),
    (("num_candidates",), "--candidates"),
    (("rollout_depth",), "--rollout-depth"),
    (("model_samples",), "--model-samples"),
    (("length_normalized",), "--length-normalized/--total-logprob"),
    (("prompt_format",), "--prompt-format"),
    (("repair_rounds",), "--repair-rounds"),
    (("repair",), "--repair"),
    (("proof_max_tokens",), "--proof-max-tokens"),
    (("temperature",), "--temperature"),
    (("top_p",), "--top-p"),
    (("seed",), "--seed"),
)
POLICY_URL_OPT = typer.Option(None, "--policy-url", help="An OpenAI-compatible server (vLLM, SGLang, `prover "
                              "serve-model`) to sample from instead of loading --model here, e.g. http://127.0.0.1:8100/v1.")
POLICY_MODEL_OPT = typer.Option(None, "--policy-model", help="The model name to ask --policy-url for (default: the "
                                "first it lists); also picks the default --prompt-format.")


# How the user spells each setting, for error messages (pydantic names the internal field).
FLAG_NAMES: dict[tuple[str, ...], str] = {
    ("env", "kind"): "--env", ("policy", "name"): "--policy", ("policy", "model_dir"): "--model",
    ("policy", "url"): "--policy-url", ("policy", "served_model"): "--policy-model",
    **{("search", *path): flag.split("/")[0] for path, flag in SEARCH_FLAGS},
}

QUIET_OPT = typer.Option(False, "--quiet", "-q", help="Print only the summary and errors (no progress, no table).")
JSON_OPT = typer.Option(False, "--json", help="Machine-readable stdout: one JSON object per theorem as it "
                        "finishes (JSON Lines, \"type\": \"theorem\"), then one \"type\": \"summary\" object.")


def _search_parameter(path: tuple[str, ...], flag: str) -> inspect.Parameter:
    model: Any = SearchConfig
    for part in path[:-1]:
        model = model.model_fields[part].annotation
    field = model.model_fields[path[-1]]
    annotation: Any = SearchChoice if path == ("algorithm",) else field.annotation
    default = SearchChoice(field.default) if path == ("algorithm",) else field.default
    literal = next((a for a in (field.annotation, *typing.get_args(field.annotation))
                    if typing.get_origin(a) is Literal), None)
    if literal is not None and path != ("algorithm",):  # a choice: an Enum typer lists in --help
        choices = _choices(path[-1].title().replace("_", ""), literal)
        annotation = Optional[choices] if field.default is None else choices
        default = None if field.default is None else choices(field.default)
    elif annotation in (int | None, float | None):
        annotation = Optional[annotation.__args__[0]]
    option = typer.Option(default, flag, help=field.description,
                          show_default="unlimited" if default is None else True)
    return inspect.Parameter("_".join(path), inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)


def with_prover_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give `command` the shared options (--env, --policy, --model and every search knob); it
    receives them as one validated `config: ProverConfig`."""
    hints = typing.get_type_hints(command)
    own = [p.replace(annotation=hints[p.name]) for p in inspect.signature(command).parameters.values()
           if p.name != "config"]
    shared = [
        inspect.Parameter("env", inspect.Parameter.KEYWORD_ONLY, default=ENV_OPT, annotation=EnvChoice),
        inspect.Parameter("policy", inspect.Parameter.KEYWORD_ONLY, default=POLICY_OPT, annotation=PolicyChoice),
        inspect.Parameter("model", inspect.Parameter.KEYWORD_ONLY, default=MODEL_OPT, annotation=Optional[Path]),
        inspect.Parameter("policy_url", inspect.Parameter.KEYWORD_ONLY, default=POLICY_URL_OPT, annotation=Optional[str]),
        inspect.Parameter("policy_model", inspect.Parameter.KEYWORD_ONLY, default=POLICY_MODEL_OPT,
                          annotation=Optional[str]),
        *(_search_parameter(path, flag) for path, flag in SEARCH_FLAGS),
    ]

    @functools.wraps(command)
    def run(**kwargs: Any) -> Any:
        search: dict[str, Any] = {"budget": {}}
        for path, _ in SEARCH_FLAGS:
            value = kwargs.pop("_".join(path))
            (search["budget"] if path[0] == "budget" else search)[path[-1]] = getattr(value, "value", value)
        env, policy, model = kwargs.pop("env"), kwargs.pop("policy"), kwargs.pop("model")
        if model is not None and policy.value == "hammer":
            console.print(f"[yellow]warning[/]: --model {escape(str(model))} is ignored with --policy hammer "
                          "(the hammer uses no model); pass --policy model or mixed to use it")
        policy_url, policy_model = kwargs.pop("policy_url"), kwargs.pop("policy_model")
        try:
            config = ProverConfig.build(env=env.value, policy=policy.value, model_dir=model, search_options=search,
                                        policy_url=policy_url, policy_model=policy_model)
        except ConfigError as exc:
            raise fail(exc.describe(FLAG_NAMES)) from None
        return command(config=config, **kwargs)

    parameters = [*own, *shared]
    run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    return run


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


def backend_note(backend: str) -> str:
    if "embedded" in backend:
        return f"checked by: {backend} (this project's own checker for a fragment of Lean 4 + Mathlib, not Lean)"
    return f"checked by: {backend}" if backend else "checked by: (no proof was checked)"


def policy_note(config: ProverConfig) -> str:
    policy = config.policy
    if not policy.uses_model:
        return f"policy: {policy.name}"
    if policy.url:
        return f"policy: {policy.name} (model {policy.served_model or '(the first listed)'} at {policy.url}" \
               f"{' + hammer' if policy.name == 'mixed' else ''})"
    return f"policy: {policy.name} (model {policy.model_dir}{' + hammer' if policy.name == 'mixed' else ''})"


def check_backend(config: ProverConfig) -> None:
    """Exit 2 with one line, before any work or output file, when the Lean backend cannot run here."""
    from lean_env import BackendUnavailable, check_usable, open_env

    kind = config.env.kind
    try:
        env = open_env(kind, **config.env.options)
    except BackendUnavailable as exc:
        raise fail(f"--env {kind}: {exc}") from None
    except Exception as exc:
        raise fail(f"--env {kind}: cannot open the backend: {type(exc).__name__}: {exc}") from None
    try:
        check_usable(env)
    except BackendUnavailable as exc:
        raise fail(f"--env {kind}: {exc}") from None
    finally:
        env.close()


class ResultStream:
    """Where results go as theorems finish: nothing until the end on a terminal (a progress bar on
    stderr, then the table); a plain line each when stdout is not a terminal; a JSON object each
    with --json; nothing with --quiet. stdout carries only results, stderr progress and warnings."""

    def __init__(self, *, quiet: bool, json_lines: bool, total: int, label: str,
                 extra: dict[str, Any] | None = None) -> None:
        if quiet and json_lines:
            raise fail("--quiet and --json together: pick one (--json already keeps stdout machine-readable)")
        self.mode = "json" if json_lines else "quiet" if quiet else "table" if out.is_terminal else "lines"
        self.total = total
        self.label = label
        self.extra = extra or {}
        self.done = 0
        self.proved = 0
        self._progress: Progress | None = None
        self._task: Any = None

    @contextlib.contextmanager
    def running(self, transient: bool = True) -> Iterator["ResultStream"]:
        """A progress bar on stderr while the block runs, when stderr is a terminal (never with --quiet)."""
        if self.mode == "quiet" or not console.is_terminal:
            yield self
            return
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TextColumn("proved {task.fields[proved]}"),
                                  console=console, transient=transient,
                                  redirect_stdout=False)  # rich would move our stdout lines onto stderr
        with self._progress:
            self._task = self._progress.add_task(self.label, total=self.total, proved=0)
            yield self

    def started(self, name: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=f"{self.label}: {name}")

    def finished(self, record: Any) -> None:
        from prover.report import record_json, theorem_line

        self.done += 1
        self.proved += record.status == "proved"
        if self._progress is not None:
            self._progress.update(self._task, advance=1, proved=self.proved)
        if self.mode == "lines":
            emit(theorem_line(record, self.done, self.total))
        elif self.mode == "json":
            emit(record_json(record, **self.extra))

    def summary(self, lines: list[str], document: dict[str, Any], table: Any = None) -> None:
        """The end of the output: `table` (terminal only) and `lines` for people, `document` with --json."""
        if self.mode == "json":
            emit(json.dumps({"type": "summary", **document}, ensure_ascii=False, default=str))
            return
        if table is not None and self.mode == "table":
            out.print(table)
        for line in lines:
            if self.mode == "table":
                out.print(line, markup=False, highlight=False)
            else:
                emit(line)


def emit(line: str) -> None:
    """One line on stdout, flushed at once (a log file or pipe sees it as it happens)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@app.command()
@with_prover_options
def prove(
    file: Path = typer.Argument(..., help="The .lean file; theorems ending in `:= by sorry` or `:= by` are proved."),
    out_path: Optional[Path] = typer.Option(None, "--out", help="Where to write the file with proofs (default FILE.proved.lean)."),
    report: Optional[Path] = typer.Option(None, "--report", help="JSON report path (default FILE.report.json)."),
    quiet: bool = QUIET_OPT,
    json_lines: bool = JSON_OPT,
    config: ProverConfig = None,  # type: ignore[assignment]  # from with_prover_options
) -> None:
    """Prove every theorem of FILE whose proof is missing or ends in `sorry`; write the completed
    file (every other byte as it was) and a report.

    Exit codes: 0 all proved (or nothing to prove), 1 some not, 2 bad input or an unusable backend
    (nothing written)."""
    from prover.agent import AgentSolver, plan_file, prove_file, read_lean_file
    from prover.report import theorem_table

    try:
        text = read_lean_file(file)
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {file}: {exc}. Pass a readable UTF-8 .lean file.") from None
    plan = plan_file(text, path=str(file))
    if plan.problems:
        raise fail(f"{file} is refused; nothing was attempted:\n" + "\n".join(plan.problems))
    pending = plan.parsed.sites
    out_path = out_path or file.with_suffix(".proved.lean")
    report = report or file.with_suffix(".report.json")
    if out_path.resolve() == file.resolve():
        raise fail(f"--out {out_path} is the input file; choose another path (the input is never overwritten)")
    stream = ResultStream(quiet=quiet, json_lines=json_lines, total=len(pending), label="proving",
                          extra={"file": str(file)})

    solver = AgentSolver(config)
    if pending:
        check_backend(config)  # one clear line, exit 2, nothing written: not one failure per theorem
        try:
            solver.open()  # fail fast, once, when the policy or the backend cannot start at all
        except Exception as exc:
            solver.close()
            raise fail(f"cannot open the {config.env.kind} backend: {exc}") from None
    try:
        with stream.running():
            outcome = prove_file(plan, solver,
                                 on_start=lambda theorem: stream.started(theorem.name), on_result=stream.finished)
    finally:
        solver.close()

    for path in (out_path, report):
        path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(outcome.text.encode("utf-8"))  # byte-exact: no newline translation
    report.write_text(json.dumps(outcome.report(), indent=2, default=str) + "\n", encoding="utf-8")

    proved = sum(record.status == "proved" for record in outcome.records)
    notes = [f"{file}: {note}" for note in outcome.notes]
    lines = notes + [f"{proved}/{len(outcome.records)} proved; {backend_note(outcome.backend)}",
                     policy_note(config), f"wrote {out_path} and {report}"]
    if plan.nothing_to_prove:
        lines = notes + [f"wrote {out_path} (unchanged) and {report}"]
    stream.summary(
        lines,
        {"file": str(file), "theorems": len(outcome.records), "proved": proved,
         "failed": sum(r.status == "failed" for r in outcome.records),
         "error": sum(r.status == "error" for r in outcome.records), "notes": list(outcome.notes),
         "checked_by": outcome.backend, "policy": config.policy.name, "out": str(out_path), "report": str(report)},
        table=None if plan.nothing_to_prove else theorem_table(outcome.records, title=f"{file}"),
    )
    raise typer.Exit(EXIT_ALL_PROVED if outcome.all_proved or plan.nothing_to_prove else EXIT_SOME_UNPROVED)


# Identity fields of an eval run (prover.evaluate.run_identity) as the user sets them.
IDENTITY_FLAGS = {
    "data": "--data / --split", "data_sha256": "the data file's content", "split": "--split", "limit": "--limit",
    "names": "--names", **{".".join(path): flag for path, flag in FLAG_NAMES.items()},
}


@app.command("eval")
@with_prover_options
def evaluate(
    benchmark: Benchmark = typer.Argument(Benchmark("minif2f"), help="Benchmark name (data format of miniF2F JSONL)."),
    split: str = typer.Option("valid", "--split", help="Split: reads datasets/minif2f/<split>.jsonl."),
    data: Optional[Path] = typer.Option(None, "--data", help="Any JSONL file with name, header, formal_statement."),
    workers: int = typer.Option(2, "--workers", help="Ray prover workers; 0 proves in this process without Ray."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in OUT: skip the theorems already in "
                                "OUT/results.jsonl. Refused (exit 2) if the dataset or settings differ from that run's."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output directory (default build/eval/<benchmark>-<split>)."),
    address: Optional[str] = typer.Option(None, "--address", help="Join a Ray cluster ('auto' or host:port); default local Ray."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N theorems (quick runs)."),
    names: Optional[str] = typer.Option(None, "--names", help="Comma-separated theorem names to run."),
    quiet: bool = QUIET_OPT,
    json_lines: bool = JSON_OPT,
    config: ProverConfig = None,  # type: ignore[assignment]  # from with_prover_options
) -> None:
    """Prove a benchmark split; results.jsonl (one line per theorem), run.json (the run's identity),
    summary.json and proved.png in OUT.

    Exit codes: 0 the run finished (whatever was proved), 2 bad input, an unusable backend or a
    --resume of another run, 130 interrupted (rerun with --resume)."""
    from prover.agent import AgentSolver
    from prover.config import describe_validation_error
    from prover.evaluate import (
        PLOT_FILE,
        RESULTS_FILE,
        SUMMARY_FILE,
        DataError,
        LocalRunner,
        check_resume,
        default_data_path,
        load_problems,
        run_evaluation,
        run_identity,
        summarize_by_source,
        write_summary,
    )
    from prover.report import plot_proved, source_table

    try:
        cluster = ClusterConfig(workers=workers, address=address,
                                theorem_deadline_s=theorem_deadline(config.search.budget))
    except ValidationError as exc:
        raise fail(describe_validation_error(exc, {("workers",): "--workers", ("address",): "--address"})) from None
    if limit is not None and limit < 0:
        raise fail(f"--limit {limit}: must be at least 0")
    path = data or default_data_path(split)
    try:
        problems = load_problems(path)
    except DataError as exc:
        raise fail(str(exc)) from None
    wanted: list[str] = []
    if names:
        wanted = [n.strip() for n in names.split(",") if n.strip()]
        unknown = sorted(set(wanted) - {p.name for p in problems})
        if unknown:
            raise fail(f"--names: not in {path}: {', '.join(unknown)}")
        problems = [p for p in problems if p.name in set(wanted)]
    if limit is not None:
        problems = problems[:limit]
    out_dir = out_dir or Path("build") / "eval" / f"{benchmark.value}-{split if data is None else path.stem}"
    identity = run_identity(data=path, split=None if data is not None else split, limit=limit, names=wanted,
                            settings=config.model_dump(mode="json"))
    try:  # before Ray or Lean start: a run that would mix results is refused at once
        check_resume(out_dir, identity, resume=resume, names=IDENTITY_FLAGS)
    except DataError as exc:
        raise fail(str(exc)) from None
    if problems and address is None:  # on a cluster the workers' machines, not this one, run Lean
        check_backend(config)

    runner: Any
    if cluster.workers == 0:
        runner = LocalRunner(AgentSolver(config))
    else:
        runner = _ray_runner(config, cluster)

    stream = ResultStream(quiet=quiet, json_lines=json_lines, total=len(problems),
                          label=f"{benchmark.value} {split if data is None else path.stem}")
    try:
        with stream.running(transient=False):
            _sigterm_as_interrupt()
            outcome = run_evaluation(problems, runner, out_dir, resume=resume, on_result=stream.finished,
                                     identity=identity)
    except DataError as exc:
        raise fail(str(exc)) from None

    outcome.extra["workers"] = cluster.workers
    summary = write_summary(outcome, out_dir / SUMMARY_FILE, settings={
        **config.model_dump(mode="json"), "data": str(path), "workers": cluster.workers})
    plot_proved(outcome.records, out_dir / PLOT_FILE, title=f"{benchmark.value} {split}")
    checked = ", ".join(summary["checked_by"]) or "nothing"
    lines = [f"{outcome.proved}/{outcome.total} proved ({outcome.skipped} from an earlier run); {backend_note(checked)}",
             policy_note(config),
             f"results: {out_dir / RESULTS_FILE}; summary: {out_dir / SUMMARY_FILE}; plot: {out_dir / PLOT_FILE}"]
    by_source = source_table(summarize_by_source(outcome.records), title=f"{benchmark.value} {split}: by source")
    if stream.mode == "lines":
        out.print(by_source)  # small (one row per source), and a log reader wants it
    stream.summary(lines, {key: summary[key] for key in (
        "theorems", "finished", "proved", "failed", "error", "interrupted", "checked_by", "by_source")}
        | {"skipped": outcome.skipped, "policy": config.policy.name, "results": str(out_dir / RESULTS_FILE),
           "summary": str(out_dir / SUMMARY_FILE)}, table=by_source)
    if outcome.interrupted:
        console.print(f"[yellow]interrupted[/]: {len(outcome.records)}/{outcome.total} finished and saved; "
                      "rerun the same command with --resume to continue")
        raise typer.Exit(EXIT_INTERRUPTED)


def _sigterm_as_interrupt() -> None:
    """`ray job stop` and schedulers send SIGTERM: stop like Ctrl-C, keeping the results file valid."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        pass


def _ray_runner(config: ProverConfig, cluster: ClusterConfig) -> Any:
    from prover.agent import AgentSolver, ModelEngineFactory
    from prover.cluster import NamedEngine, ProverPool, connect, start_policy_server

    connect(cluster.address, namespace=cluster.namespace)
    run_id = uuid.uuid4().hex[:8]
    resolver = server = None
    if config.policy.uses_model and not config.policy.url:  # with --policy-url each worker asks the server
        import torch

        name = f"prover-{run_id}-policy"
        server = start_policy_server(ModelEngineFactory(config.policy.model_dir), name=name,
                                     num_gpus=1.0 if torch.cuda.is_available() else 0.0)
        resolver = NamedEngine(name=name, namespace=cluster.namespace, tokenizer_dir=config.policy.model_dir)
    return ProverPool(AgentSolver(config, engine_resolver=resolver), cluster, run_id=run_id, policy_server=server)


@app.command()
def train(
    out_dir: Path = typer.Option(Path("build/policy"), "--out", help="Checkpoint directory (HF layout) to write."),
    steps: int = typer.Option(600, "--steps", help="Optimizer steps (batch --batch-size)."),
    seed: int = typer.Option(0, "--seed", help="Seed of initialisation and batch order."),
    curriculum_seed: int = typer.Option(0, "--curriculum-seed", help="Seed of the generated training theorems."),
    per_family: int = typer.Option(40, "--per-family", help="Generated theorems per curriculum family."),
    focus_families: str = typer.Option("", "--focus-families",
                                       help="Comma-separated families to draw more of (what the hammer misses)."),
    focus_per_family: int = typer.Option(0, "--focus-per-family", help="Theorems per focus family."),
    focus_repeat: int = typer.Option(1, "--focus-repeat", help="Times each focus example appears per epoch."),
    batch_size: int = typer.Option(16, "--batch-size"),
    learning_rate: float = typer.Option(3e-3, "--lr"),
    warmup_steps: int = typer.Option(50, "--warmup-steps"),
    init_checkpoint: Optional[Path] = typer.Option(None, "--init",
                                                   help="Continue from this checkpoint (same shape; pass its --tokenizer)."),
    tokenizer_dir: Optional[Path] = typer.Option(None, "--tokenizer", help="Reuse this tokenizer (default: train one)."),
    extra_examples: Optional[list[Path]] = typer.Option(None, "--examples", help="Extra (state, tactic) JSONL files."),
    save_dtype: str = typer.Option("float32", "--dtype", help="float32 or bfloat16 weights on disk."),
    plots: Optional[Path] = typer.Option(None, "--plots", help="Also write training_loss.png and expert_load.png here."),
    threads: int = typer.Option(2, "--threads", help="torch CPU threads (results are reproducible per thread count)."),
    rounds: int = typer.Option(0, "--expert-iteration-rounds",
                               help="After training, rounds of search + retrain (training.expert_iteration)."),
    ei_per_family: int = typer.Option(10, "--ei-per-family", help="Generated problems per family searched per round."),
    ei_steps: int = typer.Option(0, "--ei-steps",
                                 help="Per round: 0 = retrain from scratch for --steps; N = continue from the "
                                      "round's checkpoint for N steps."),
    ei_lr: float = typer.Option(1e-3, "--ei-lr", help="Learning rate of a continued (--ei-steps N) round."),
) -> None:
    """Train the policy checkpoint (tokenizer, curriculum, MoE+MLA model); optionally expert iteration."""
    import torch

    from lean_env import open_env
    from training.plots import plot_training
    from training.train import TRAINING_LOG, TrainConfig
    from training.train import train as run_training

    torch.set_num_threads(max(1, threads))
    try:
        config = TrainConfig(out_dir=out_dir, seed=seed, curriculum_seed=curriculum_seed,
                             curriculum_per_family=per_family, focus_families=focus_families,
                             focus_per_family=focus_per_family, focus_repeat=focus_repeat,
                             batch_size=batch_size, learning_rate=learning_rate, steps=steps,
                             warmup_steps=warmup_steps, init_checkpoint=init_checkpoint,
                             tokenizer_dir=tokenizer_dir, extra_examples=list(extra_examples or []),
                             save_dtype=save_dtype)
    except ValueError as exc:
        raise fail(str(exc)) from None
    env = open_env("embedded", pool_size=1)  # replays multi-step reference proofs for their states
    try:
        result = run_training(config, env=env, log=lambda line: console.print(escape(line)))
        loss = "no steps" if result.final_loss is None else f"final loss {result.final_loss:.4f}"
        out.print(f"saved {result.out_dir}: {result.parameters:,} parameters, {result.num_examples} examples, "
                  f"{loss}, {result.seconds:.0f} s")
        if plots is not None:
            for path in plot_training(config.out_dir / TRAINING_LOG, plots):
                out.print(f"wrote {path}")
        if rounds > 0:
            from dataclasses import replace

            from training.expert_iteration import ExpertIterationConfig, expert_iteration

            ei = ExpertIterationConfig(out_dir=out_dir / "expert_iteration", rounds=rounds,
                                       base=replace(config, tokenizer_dir=tokenizer_dir or out_dir),
                                       problems_per_family=ei_per_family, retrain_steps=ei_steps,
                                       retrain_learning_rate=ei_lr)
            for report in expert_iteration(ei, env=env, initial_checkpoint=out_dir):
                out.print(json.dumps(report.to_json()))
    finally:
        env.close()


@app.command()
@with_prover_options
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; the API has no authentication."),
    port: int = typer.Option(8000, "--port"),
    address: Optional[str] = typer.Option(None, "--address", help="Join a Ray cluster; default local Ray."),
    config: ProverConfig = None,  # type: ignore[assignment]  # from with_prover_options
) -> None:
    """Serve the HTTP API (POST /prove, GET /jobs/{id}, docs at /docs) on Ray Serve."""
    from prover.agent import ModelEngineFactory
    from prover.cluster import NamedEngine, connect, start_policy_server
    from prover.service import deploy

    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]warning[/]: binding {host}: anyone who can reach it can submit jobs (no authentication)")
    if address is None:  # jobs run on this machine: a missing Lean is one error now, not one per job
        check_backend(config)
    namespace = ClusterConfig().namespace
    connect(address, namespace=namespace)
    _sigterm_as_interrupt()  # after Ray's own handlers are in place, so ours wins
    resolver = server = None
    try:
        if config.policy.uses_model and not config.policy.url:
            import torch

            server = start_policy_server(ModelEngineFactory(config.policy.model_dir), name="prover-serve-policy",
                                         num_gpus=1.0 if torch.cuda.is_available() else 0.0)
            resolver = NamedEngine(name="prover-serve-policy", namespace=namespace,
                                   tokenizer_dir=config.policy.model_dir)
        url = deploy(config, host=host, port=port, engine_resolver=resolver)
        out.print(f"serving on {url} (docs: {url}/docs); Ctrl-C stops")
        signal.pause()
    except KeyboardInterrupt:
        console.print("stopping the HTTP service")
    finally:
        from ray import serve as ray_serve

        ray_serve.shutdown()
        del server  # referenced until here: an unreferenced policy server actor would be collected


@app.command("serve-model")
def serve_model(
    model: Path = typer.Option(..., "--model", help="HF-layout checkpoint directory to serve (config.json, "
                               "*.safetensors, tokenizer.json; tokenizer_config.json's chat template for chat)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; the API has no authentication."),
    port: int = typer.Option(8100, "--port"),
    served_model_name: Optional[str] = typer.Option(None, "--served-model-name",
                                                    help="The name clients ask for (default: the directory's name)."),
    chat_template: Optional[str] = typer.Option(None, "--chat-template",
                                                help="A .jinja file (or template text) replacing the checkpoint's."),
    address: Optional[str] = typer.Option(None, "--address", help="Join a Ray cluster; default local Ray."),
) -> None:
    """Serve a checkpoint over the OpenAI API (/v1/models, /v1/completions, /v1/chat/completions) on Ray Serve."""
    from prover.openai_server import deploy_model_server

    if not (model / "config.json").is_file():
        raise fail(f"--model {model}: no config.json there; pass the checkpoint's directory")
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]warning[/]: binding {host}: anyone who can reach it can use the model (no authentication)")
    from prover.cluster import connect as connect_ray

    connect_ray(address, namespace=ClusterConfig().namespace)
    _sigterm_as_interrupt()
    try:
        import httpx
        import torch

        url = deploy_model_server(model, host=host, port=port, name=served_model_name, chat_template=chat_template,
                                  num_gpus=1.0 if torch.cuda.is_available() else 0.0)
        listed = httpx.get(f"{url}/models", timeout=600).json()  # loads the model now, not on the first request
        out.print(f"serving {listed['data'][0]['id']} at {url} (OpenAI API); Ctrl-C stops", markup=False)
        signal.pause()
    except KeyboardInterrupt:
        console.print("stopping the model server")
    finally:
        from ray import serve as ray_serve

        ray_serve.shutdown()


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
