"""Prompt formats of the published provers, extraction of the proof from an answer, chat templates."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lean_env.theorem import Theorem
from lean_env.types import TacticState
from search.chat_template import ChatTemplate, ChatTemplateError
from search.config import SearchConfig
from search.prompt import build_prompt
from search.prompt_formats import (
    FORMAT_NAMES,
    FORMATS,
    Failure,
    Prompt,
    default_format,
    get_format,
    last_lean_block,
    proof_in_block,
    split_proof,
)

REPO = Path(__file__).resolve().parents[2]
HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n"
THEOREM = Theorem("mathd_algebra_10", HEADER, "theorem mathd_algebra_10 (x : ℝ) (h₀ : 3 * x + 7 = 22) : x = 5 := by")

# Chat templates written for these tests in the style of the published ones (DeepSeek-V3's
# role markers and namespace flags; Qwen3's system block and `</think>` stripping of history).
DEEPSEEK_STYLE = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(system='') %}"
    "{% for m in messages %}{% if m['role'] == 'system' %}{% set ns.system = m['content'] %}{% endif %}{% endfor %}"
    "{{ bos_token }}{{ ns.system }}"
    "{% for m in messages %}"
    "{% if m['role'] == 'user' %}{{ '<｜User｜>' + m['content'] }}"
    "{% elif m['role'] == 'assistant' %}{{ '<｜Assistant｜>' + m['content'] + eos_token }}"
    "{% elif m['role'] != 'system' %}{{ raise_exception('unknown role ' + m['role']) }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<｜Assistant｜>' }}{% endif %}"
)
QWEN_STYLE = """{%- if messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == 'system' %}{% continue %}{% endif %}
    {%- set content = message.content %}
    {%- if message.role == 'assistant' and '</think>' in content %}
        {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
    {%- endif %}
    {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>\\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""


# ---------------------------------------------------------------------------- completion formats


def test_v15_prompt_is_the_published_one():
    prompt = get_format("deepseek-v1.5").initial(THEOREM)
    assert prompt.text == ("Complete the following Lean 4 code:\n\n```lean4\n" + HEADER.rstrip("\n") + "\n\n"
                           + THEOREM.statement + "\n")
    cot = get_format("deepseek-v1.5-cot").initial(THEOREM)
    assert cot.text.startswith("Complete the following Lean 4 code with explanatory comments preceding each line of code:")
    assert not prompt.is_chat and prompt.kept == ()


def test_v15_resume_prompt_is_the_tactic_prompt_the_model_was_trained_on():
    state = TacticState("x : ℝ\nh₀ : 3 * x + 7 = 22\n⊢ x = 5", 3)
    kept = ("have h : 3 * x = 15 := by\n  linarith", "norm_num")
    prompt = get_format("deepseek-v1.5").resume(THEOREM, kept, state.pp)
    assert prompt.text == build_prompt(THEOREM, list(kept), state)
    assert prompt.kept == kept


def test_completion_answer_continues_the_kept_tactics():
    fmt = get_format("deepseek-v1.5")
    prompt = fmt.resume(THEOREM, ("intro h",), "⊢ x = 5")
    answer = "  nlinarith [sq_nonneg (x - 1),\n    sq_nonneg (x + 1)]\n  <;> linarith\n  -- done\n```\nextra"
    assert fmt.extract(THEOREM, prompt, answer) == [
        "intro h", "nlinarith [sq_nonneg (x - 1),\n  sq_nonneg (x + 1)]\n<;> linarith"]
    assert fmt.extract(THEOREM, fmt.initial(THEOREM), "```\n") is None
    assert fmt.extract(THEOREM, fmt.initial(THEOREM), "  /- a comment\n  only -/\n") is None


def test_split_proof_groups_nested_blocks_and_stops_at_the_next_command():
    text = ("  have h : 3 * x = 15 := by\n    linarith\n  induction n with\n  | zero => simp\n  | succ n ih => omega\n"
            "  · norm_num\n  exact (foo\n    bar)\n\ntheorem next : True := by\n  trivial\n")
    assert split_proof(text) == ["have h : 3 * x = 15 := by\n  linarith",
                                 "induction n with\n| zero => simp\n| succ n ih => omega",
                                 "· norm_num", "exact (foo\n  bar)"]
    assert split_proof("a\nb\nc", limit=2) == ["a", "b"]


def test_feedback_in_a_completion_format_is_a_comment_above_the_state():
    fmt = get_format("deepseek-v1.5")
    failure = Failure(kept=("intro h",), state_pp="⊢ x = 5", failed_tactic="linarith", error="linarith failed -/ x",
                      prompt=fmt.initial(THEOREM), answer="  intro h\n  linarith")
    text = fmt.feedback(THEOREM, failure).text
    assert "  intro h\n  /- error: the tactic `linarith` failed:\n" in text
    assert "linarith failed - / x" in text  # a `-/` in Lean's message cannot end the comment early
    assert text.endswith("  /- tactic state:\n    ⊢ x = 5\n  -/\n")


# ---------------------------------------------------------------------------- chat formats


def test_v2_and_goedel_prompts_are_one_user_turn_with_the_lean_block():
    for name, plan in (("deepseek-v2", False), ("deepseek-v2-cot", True), ("goedel-v2", True)):
        prompt = get_format(name).initial(THEOREM)
        assert prompt.is_chat and len(prompt.messages) == 1 and prompt.messages[0]["role"] == "user"
        user = prompt.messages[0]["content"]
        assert user.startswith("Complete the following Lean 4 code:\n\n```lean4\n" + HEADER.rstrip("\n") + "\n\n")
        assert THEOREM.statement + "\n  sorry\n```" in user
        assert ("detailed proof plan" in user) is plan


def test_kimina_prompt_has_its_system_turn_and_layout():
    (system, user) = get_format("kimina").initial(THEOREM).messages
    assert system == {"role": "system", "content": "You are an expert in mathematics and Lean 4."}
    assert user["content"].startswith("Think about and solve the following problem step by step in Lean 4.\n"
                                      "# Formal statement:\n```lean4\n")
    assert user["content"].endswith(THEOREM.statement + "\n```\n")


def test_chat_answer_gives_the_proof_of_the_named_theorem_in_the_last_block():
    fmt = get_format("kimina")
    answer = ("<think>try ```lean4\ntheorem mathd_algebra_10 : False := by\n  wrong\n```</think>\n"
              "Here is the proof:\n```lean4\nimport Mathlib\n\nlemma helper : True := trivial\n\n"
              "theorem mathd_algebra_10 (x : ℝ) (h₀ : 3 * x + 7 = 22) : x = 5 := by\n"
              "  have h : 3 * x = 15 := by linarith\n  linarith\n```\n```text\nnot lean\n```")
    assert fmt.extract(THEOREM, fmt.initial(THEOREM), answer) == ["have h : 3 * x = 15 := by linarith", "linarith"]
    # no closed lean block, or a term-mode proof: no proof
    assert fmt.extract(THEOREM, fmt.initial(THEOREM), "```lean4\ntheorem t : True := by\n  trivial") is None
    assert proof_in_block("theorem mathd_algebra_10 : True := trivial\n", THEOREM.name) is None
    assert proof_in_block("  norm_num\n  linarith\n", THEOREM.name) == "  norm_num\n  linarith\n"
    assert last_lean_block("```lean\nsimp\n```") == "simp\n"


def test_chat_feedback_continues_the_conversation_with_error_and_goal():
    fmt = get_format("goedel-v2")
    first = fmt.initial(THEOREM)
    failure = Failure(kept=("norm_num at h₀",), state_pp="x : ℝ\nh₀ : 3 * x = 15\n⊢ x = 5", failed_tactic="ring",
                      error="ring failed to prove equality", prompt=first, answer="plan...\n```lean4\n...\n```")
    messages = fmt.feedback(THEOREM, failure).messages
    assert messages[: len(first.messages)] == first.messages
    assert messages[-2] == {"role": "assistant", "content": failure.answer}
    feedback = messages[-1]["content"]
    for fact in ("`ring` failed", "ring failed to prove equality", "norm_num at h₀", "⊢ x = 5"):
        assert fact in feedback
    resumed = fmt.resume(THEOREM, ("norm_num at h₀",), "⊢ x = 5").messages[-1]["content"]
    assert "  norm_num at h₀\n  /- tactic state:\n    ⊢ x = 5\n  -/\n  sorry" in resumed


def test_format_names_default_per_model_and_config_agree():
    assert set(FORMATS) == set(FORMAT_NAMES)
    assert set(FORMAT_NAMES) == set(SearchConfig.model_fields["prompt_format"].annotation.__args__[0].__args__)
    assert default_format("/models/deepseek-ai/DeepSeek-Prover-V1.5-RL") == "deepseek-v1.5"
    assert default_format("models--deepseek-ai--DeepSeek-Prover-V2-7B/snapshots/abc") == "deepseek-v2-cot"
    assert default_format("Goedel-LM/Goedel-Prover-V2-8B") == "goedel-v2"
    assert default_format("AI-MO/Kimina-Prover-RL-1.7B") == "kimina"
    assert default_format(str(REPO / "checkpoints" / "policy")) == "deepseek-v1.5"
    with pytest.raises(ValueError, match="choose one of"):
        get_format("gpt")
    with pytest.raises(ValueError):
        Prompt()


# ---------------------------------------------------------------------------- chat templates


def _checkpoint_with_template(tmp_path: Path, template) -> Path:
    shutil.copy(REPO / "checkpoints" / "policy" / "tokenizer.json", tmp_path / "tokenizer.json")
    config = json.loads((REPO / "checkpoints" / "policy" / "tokenizer_config.json").read_text())
    config["chat_template"] = template
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    return tmp_path


CONVERSATIONS = [
    [{"role": "user", "content": "Complete the following Lean 4 code: ∀ x, x ≤ x"}],
    [{"role": "system", "content": "You are an expert in mathematics and Lean 4."},
     {"role": "user", "content": "prove it"},
     {"role": "assistant", "content": "<think>\nhmm\n</think>\n\n```lean4\nsimp\n```"},
     {"role": "user", "content": "The proof is not correct."}],
]


@pytest.mark.parametrize("template", [DEEPSEEK_STYLE, QWEN_STYLE])
def test_rendering_matches_transformers_apply_chat_template(tmp_path, template):
    from transformers import AutoTokenizer

    directory = _checkpoint_with_template(tmp_path, template)
    reference = AutoTokenizer.from_pretrained(str(directory))
    ours = ChatTemplate.from_dir(directory)
    for messages in CONVERSATIONS:
        for add in (True, False):
            assert ours.render(messages, add_generation_prompt=add) == \
                reference.apply_chat_template(messages, tokenize=False, add_generation_prompt=add)


def test_named_template_list_override_and_missing_template(tmp_path):
    directory = _checkpoint_with_template(tmp_path, [{"name": "tool_use", "template": "x"},
                                                     {"name": "default", "template": "{{ bos_token }}D"}])
    assert ChatTemplate.from_dir(directory).render([]) == "<|bos|>D"
    (tmp_path / "t.jinja").write_text("F{{ messages | length }}")
    assert ChatTemplate.from_dir(directory, tmp_path / "t.jinja").render(CONVERSATIONS[0]) == "F1"
    assert ChatTemplate.from_dir(directory, "I{{ eos_token }}").render([]) == "I<|eos|>"
    with pytest.raises(ChatTemplateError, match="prompt-format deepseek-v1.5"):
        ChatTemplate.from_dir(REPO / "checkpoints" / "policy")


def test_templates_are_sandboxed_and_their_refusals_are_errors():
    escape = ChatTemplate("{{ messages.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ChatTemplateError, match="SecurityError|undefined|failed"):
        escape.render(CONVERSATIONS[0])
    mutate = ChatTemplate("{% set _ = messages.append(1) %}ok")
    with pytest.raises(ChatTemplateError):
        mutate.render(CONVERSATIONS[0])
    with pytest.raises(ChatTemplateError, match="unknown role tool"):
        ChatTemplate(DEEPSEEK_STYLE, {"bos_token": "", "eos_token": ""}).render([{"role": "tool", "content": "x"}])
    with pytest.raises(ChatTemplateError, match="does not parse"):
        ChatTemplate("{% for %}").render([])
