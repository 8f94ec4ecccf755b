"""Prompt text for the persona_accuracy task, in our own words.

User turns follow the paper's shape: multiple choice is the question then one ``(A) text`` line per
option with no format instruction; GSM8K and MATH put a one-sentence request for the answer
format, a blank line, then the problem. Mitigation texts paraphrase the paper's constraints.
"""

from __future__ import annotations

from string import ascii_uppercase

from persona_evals.accuracy.benchmarks import AnswerType


def format_user_prompt(
    question: str, answer_type: AnswerType, choices: list[str] | None = None
) -> str:
    """The user turn for one item (no persona)."""
    if answer_type == "choice":
        if not choices:
            raise ValueError("a multiple-choice item needs its choices")
        options = "\n".join(
            f"({letter}) {text}" for letter, text in zip(ascii_uppercase, choices, strict=False)
        )
        return f"{question.strip()}\n{options}"
    if answer_type == "number":
        return f"{NUMBER_REQUEST}\n\n{question.strip()}"
    return f"{BOXED_REQUEST}\n\n{question.strip()}"


def with_constraints(persona_sentence: str) -> str:
    """The `instruction` mitigation: the persona sentence followed by the three constraints."""
    return f"{persona_sentence}\n{INSTRUCTION_CONSTRAINTS}"


def refine_request(persona_sentence: str, with_instruction: bool) -> str:
    """The last user turn of the refine protocol (``refine`` adds the constraints and a format rule)."""
    text = REFINE_REQUEST.format(persona=persona_sentence)
    if with_instruction:
        text += f"\n{INSTRUCTION_CONSTRAINTS}\n{FORMAT_CONSTRAINT}"
    return text


# The empty persona's system prompt under baseline_system=neutral: a system message that says
# nothing about who answers, so templates that add their own default system prompt when there is
# none (Qwen2.5) treat the baseline like every persona prompt.
NEUTRAL_SYSTEM_PROMPT = "You are an assistant."
BASELINE_SYSTEMS: tuple[str, ...] = ("none", "neutral")

NUMBER_REQUEST = "Solve this problem, then give the final number by itself on the last line."
BOXED_REQUEST = "Solve this problem and write the final answer inside \\boxed{}."

INSTRUCTION_CONSTRAINTS = (
    "While answering, keep to these rules:\n"
    "- Bring in exactly the expertise this persona implies, if it implies any.\n"
    "- Answer at the level of knowledge this persona would really have.\n"
    "- Attributes of the persona that have nothing to do with the task (a name, a favourite "
    "colour) must not change how you reason or how good your answer is."
)
FORMAT_CONSTRAINT = "- Keep the answer format the task asks for."

REFINE_REQUEST = (
    "Take the persona below and revise your previous answer as that persona would, without "
    "mentioning the persona. If the task is multiple choice, answer with an option letter; keep "
    "the same answer format as before.\nPersona: {persona}"
)
