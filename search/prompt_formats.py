"""Prompt formats of the published whole-proof provers, and the proof in what they answer.

Two kinds of format:

- **Completion** (DeepSeek-Prover-V1.5, and this project's shipped checkpoint): the prompt is
  "Complete the following Lean 4 code:\\n\\n```lean4\\n" + header + statement, and the model
  *continues the code*: its answer up to the first ```` ``` ```` is the proof's tactics. A
  resumed attempt (truncate-and-resume) shows the tactics kept so far and the proof state after
  them as a `/- tactic state: … -/` comment (V1.5's RMaxTS format; `search.prompt.build_prompt`).
- **Chat** (DeepSeek-Prover-V2, Goedel-Prover-V2, Kimina-Prover): the prompt is a conversation,
  rendered to text by the checkpoint's own chat template (`search.chat_template`) or sent as
  messages to a chat endpoint; the model answers with reasoning, then a ```` ```lean4 ```` block
  holding the whole theorem, whose proof we take (the last such block, after any `</think>`).

Error feedback (a repair round) continues the conversation for chat formats: the model's
answer, then a user turn with Lean's error, the failing tactic and the goal there. A
completion format shows the same facts as comments above the tactic state.

`PromptFormat.extract` returns the proof as a list of top-level tactics from the theorem's
start (the kept tactics first, for a completion that continues them), or None when the answer
holds no proof. Nothing here decides that a proof is right: Lean does, then `env.verify` and
the guard.
"""
from __future__ import annotations

import re
import textwrap
import typing
from dataclasses import dataclass, field

from lean_env.theorem import Theorem
from lean_env.types import TacticState
from search.config import PromptFormatName
from search.prompt import PROMPT_PREFIX as V15_PREFIX
from search.prompt import build_prompt

FORMAT_NAMES: tuple[str, ...] = typing.get_args(PromptFormatName)
INDENT = "  "
V15_COT_PREFIX = "Complete the following Lean 4 code with explanatory comments preceding each line of code:\n\n```lean4\n"
PLAN_REQUEST = (
    "Before producing the Lean 4 code to formally prove the given theorem, provide a detailed proof plan "
    "outlining the main proof steps and strategies.\nThe plan should highlight key ideas, intermediate lemmas, "
    "and proof structures that will guide the construction of the final formal proof."
)
KIMINA_SYSTEM = "You are an expert in mathematics and Lean 4."
MAX_TACTICS = 256  # a longer "proof" is a model stuck in a loop
MAX_ERROR_CHARS = 1500  # of Lean's message, in a feedback prompt
MAX_STATE_CHARS = 3000


@dataclass(frozen=True)
class Prompt:
    """What to send: `text` (a completion prompt) or `messages` (a chat). `kept` are the tactics
    an answer to a completion prompt continues (its proof = kept + what it writes)."""

    text: str | None = None
    messages: tuple[dict, ...] | None = None
    kept: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.text is None) == (self.messages is None):
            raise ValueError("a Prompt is either text or messages")

    @property
    def is_chat(self) -> bool:
        return self.messages is not None


@dataclass(frozen=True)
class Failure:
    """Where an attempt went wrong, for a repair prompt: the tactics that ran (`kept`), the
    state after them (`state_pp`), the tactic that failed there (None: the proof stopped with
    goals left) and Lean's message, plus the prompt and answer that produced the attempt."""

    kept: tuple[str, ...]
    state_pp: str
    failed_tactic: str | None
    error: str
    prompt: Prompt
    answer: str
    no_proof: bool = False  # the answer held no proof at all (no lean block, cut off, …)


@dataclass(frozen=True)
class PromptFormat:
    """One published prover's prompt format."""

    name: str
    chat: bool
    description: str
    code_prefix: str = V15_PREFIX          # completion formats
    user_template: str = ""                # chat formats: "{code}" is the Lean block's content
    system: str | None = None
    code_ends_with_sorry: bool = True      # chat: the statement is shown as `:= by\n  sorry`
    stop: tuple[str, ...] = field(default=())  # completion formats stop at the closing fence

    # ---- prompts ----------------------------------------------------------------------
    def initial(self, theorem: Theorem) -> Prompt:
        """The first prompt for `theorem`: write a whole proof."""
        if not self.chat:
            return Prompt(text=self._code(theorem, (), None))
        return Prompt(messages=self._conversation(self._lean_code(theorem)))

    def resume(self, theorem: Theorem, kept: tuple[str, ...], state_pp: str) -> Prompt:
        """Truncate-and-resume: continue the proof from the state the kept tactics reach."""
        if not self.chat:
            return Prompt(text=self._code(theorem, kept, state_pp), kept=tuple(kept))
        code = self._lean_code(theorem, kept=kept, state_pp=state_pp)
        return Prompt(messages=self._conversation(code))

    def feedback(self, theorem: Theorem, failure: Failure) -> Prompt:
        """Error feedback: Lean's error and the goal where it happened, sent back to the model."""
        if not self.chat:
            notes = _error_comment(failure)
            return Prompt(text=self._code(theorem, failure.kept, failure.state_pp, notes), kept=tuple(failure.kept))
        previous = failure.prompt.messages if failure.prompt.is_chat else self._conversation(self._lean_code(theorem))
        return Prompt(messages=(*previous, {"role": "assistant", "content": failure.answer},
                                {"role": "user", "content": self._feedback_text(failure)}))

    def _code(self, theorem: Theorem, kept: tuple[str, ...], state_pp: str | None, notes: str = "") -> str:
        state = None if state_pp is None else TacticState(state_pp, 0)
        return build_prompt(theorem, list(kept), state, prefix=self.code_prefix, notes=notes)

    def _lean_code(self, theorem: Theorem, kept: tuple[str, ...] = (), state_pp: str | None = None) -> str:
        lines = [theorem.header.rstrip("\n"), "", theorem.statement.rstrip()]
        lines += [textwrap.indent(t, INDENT) for t in kept]
        if state_pp is not None:
            lines.append(textwrap.indent("/- tactic state:\n" + textwrap.indent(state_pp, INDENT) + "\n-/", INDENT))
        if self.code_ends_with_sorry:
            lines.append(INDENT + "sorry")
        return "\n".join(lines)

    def _conversation(self, code: str) -> tuple[dict, ...]:
        user = self.user_template.format(code=code)
        messages = [{"role": "system", "content": self.system}] if self.system else []
        return (*messages, {"role": "user", "content": user})

    def _feedback_text(self, failure: Failure) -> str:
        if failure.no_proof:
            return ("Your answer holds no complete Lean 4 proof. Write the complete theorem with its proof in a "
                    "```lean4``` block." + ("\n\n" + PLAN_REQUEST if self.name in ("deepseek-v2-cot", "goedel-v2") else ""))
        where = (f"The tactic `{_one_line(failure.failed_tactic)}` failed" if failure.failed_tactic
                 else "The proof ended with goals left")
        kept = ("\n".join(failure.kept) if failure.kept else "(none)")
        text = (f"The proof is not correct. {where}; Lean 4 reports:\n\n{_clip(failure.error, MAX_ERROR_CHARS)}\n\n"
                f"The tactics before it were accepted:\n```lean4\n{kept}\n```\n"
                f"The proof state there is:\n```\n{_clip(failure.state_pp, MAX_STATE_CHARS)}\n```\n\n"
                "Write a corrected complete proof of the theorem in a ```lean4``` block.")
        return text + ("\n\n" + PLAN_REQUEST if self.name in ("deepseek-v2-cot", "goedel-v2") else "")

    # ---- answers ------------------------------------------------------------------------
    def extract(self, theorem: Theorem, prompt: Prompt, answer: str) -> list[str] | None:
        """The proof in `answer` as top-level tactics from the theorem's start, or None."""
        if not self.chat and not prompt.is_chat:
            tactics = split_proof(answer.split("```", 1)[0])
            return [*prompt.kept, *tactics] if tactics else None
        block = last_lean_block(answer)
        if block is None:
            return None
        body = proof_in_block(block, theorem.name)
        tactics = split_proof(body) if body is not None else None
        return tactics or None


def _one_line(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= 200 else line[:200] + "…"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "\n…"


def _error_comment(failure: Failure) -> str:
    if failure.no_proof:
        return "/- the previous attempt held no proof -/"
    what = f"the tactic `{_one_line(failure.failed_tactic)}` failed" if failure.failed_tactic else "goals are left"
    error = _clip(failure.error, MAX_ERROR_CHARS).replace("-/", "- /")
    return f"/- error: {what}:\n{error}\n-/"


_FENCE = re.compile(r"```[ \t]*(lean4|lean)?[ \t]*\n(.*?)```", re.S)


def last_lean_block(answer: str) -> str | None:
    """The last closed ```lean4 (or ```lean) block of the final answer (after any `</think>`)."""
    final = answer.rsplit("</think>", 1)[-1]
    blocks = [m.group(2) for m in _FENCE.finditer(final) if m.group(1) is not None]
    return blocks[-1] if blocks else None


def proof_in_block(block: str, name: str) -> str | None:
    """The tactic text after `:= by` of the theorem `name` in a Lean block (the last theorem if
    none has that name); a block of bare tactics is taken as the proof itself."""
    from lean_env.theorem import split_commands

    if not re.search(r"(?<![\w.'])(theorem|lemma|example)\b", block):
        return block if block.strip() else None
    try:
        commands = split_commands(block)
    except ValueError:  # LeanSyntaxError and kin: text that is not Lean commands holds no proof
        return None
    provable = [c for c in commands if c.keyword in ("theorem", "lemma", "example") and c.assign is not None]
    if not provable:
        return None
    chosen = next((c for c in provable if c.name == name), provable[-1])
    body = chosen.text[chosen.assign + 2 - chosen.start:]
    match = re.match(r"\s*by\b", body)
    if match is None:
        return None  # a term-mode proof: not a tactic block
    return body[match.end():]


_OPEN, _CLOSE = "([{⟨", ")]}⟩"


def split_proof(text: str, limit: int = MAX_TACTICS) -> list[str]:
    """A tactic block cut into its top-level tactics (each dedented, inner lines kept).

    A line belongs to the tactic above it when it is indented further, starts with `<;>`, `|`
    or a closing bracket, or a bracket is still open; comment lines are dropped. The text
    stops at a line that starts a new command (`theorem`, `end`, …): the proof is over."""
    lines = [ln.rstrip() for ln in _drop_comments(text).split("\n")]
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        return []
    base = min(len(ln) - len(ln.lstrip()) for ln in lines[:1])
    tactics: list[list[str]] = []
    depth = 0
    for line in lines:
        indent = len(line) - len(line.lstrip())
        stripped = line.strip()
        if indent <= base and re.match(r"(theorem|lemma|example|end|namespace|section|open|#)\b", stripped):
            break
        if indent < base:
            break  # dedented past the proof: whatever follows is not part of it
        continues = (indent > base or depth > 0 or stripped.startswith(("<;>", "|", *_CLOSE))) and tactics
        if continues:
            tactics[-1].append(line)
        else:
            if len(tactics) >= limit:
                break
            tactics.append([line])
        depth = max(0, depth + sum(stripped.count(c) for c in _OPEN) - sum(stripped.count(c) for c in _CLOSE))
    return [textwrap.dedent("\n".join(t)).strip("\n") for t in tactics]


def _drop_comments(text: str) -> str:
    """Remove `/- … -/` (nested) and `-- …` comments; keep the line structure."""
    out: list[str] = []
    depth, i = 0, 0
    while i < len(text):
        if text.startswith("/-", i):
            depth += 1
            i += 2
        elif depth and text.startswith("-/", i):
            depth -= 1
            i += 2
        elif depth:
            if text[i] == "\n":
                out.append("\n")
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


FORMATS: dict[str, PromptFormat] = {
    "deepseek-v1.5": PromptFormat(
        "deepseek-v1.5", chat=False, stop=("```",),
        description="DeepSeek-Prover-V1.5 (SFT/RL) and this project's checkpoint: plain completion of the Lean code."),
    "deepseek-v1.5-cot": PromptFormat(
        "deepseek-v1.5-cot", chat=False, code_prefix=V15_COT_PREFIX, stop=("```",),
        description="DeepSeek-Prover-V1.5 with explanatory comments before each line (its CoT mode)."),
    "deepseek-v2": PromptFormat(
        "deepseek-v2", chat=True, user_template="Complete the following Lean 4 code:\n\n```lean4\n{code}\n```",
        description="DeepSeek-Prover-V2 without a proof plan (non-CoT), chat template."),
    "deepseek-v2-cot": PromptFormat(
        "deepseek-v2-cot", chat=True,
        user_template="Complete the following Lean 4 code:\n\n```lean4\n{code}\n```\n\n" + PLAN_REQUEST,
        description="DeepSeek-Prover-V2 with a proof plan first (CoT), chat template."),
    "goedel-v2": PromptFormat(
        "goedel-v2", chat=True,
        user_template="Complete the following Lean 4 code:\n\n```lean4\n{code}\n```\n\n" + PLAN_REQUEST,
        description="Goedel-Prover-V2 (proof plan, then the code), Qwen3 chat template."),
    "kimina": PromptFormat(
        "kimina", chat=True, system=KIMINA_SYSTEM, code_ends_with_sorry=False,
        user_template=("Think about and solve the following problem step by step in Lean 4.\n"
                       "# Formal statement:\n```lean4\n{code}\n```\n"),
        description="Kimina-Prover (thinking, then a lean4 block), Qwen chat template with its system prompt."),
}


def get_format(name: str) -> PromptFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown prompt format {name!r}; choose one of {', '.join(FORMAT_NAMES)}") from None


def default_format(model: str | None) -> str:
    """The format a model was trained with, guessed from its name or path (a published
    checkpoint's name says which prover it is); the shipped checkpoint and unknown models get
    the plain-completion DeepSeek-Prover-V1.5 format."""
    name = (model or "").lower().replace("_", "-")
    if "kimina" in name:
        return "kimina"
    if "goedel" in name and "v2" in name:
        return "goedel-v2"
    if "prover-v2" in name:
        return "deepseek-v2-cot"
    return "deepseek-v1.5"
