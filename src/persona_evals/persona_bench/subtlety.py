"""Subtlety: is the personalisation woven in, or does the answer recite the person back to them?

The paper labels answers "subtle" or "on-the-nose" with a judge (section 10 of the reference
notes). Here every persona-mode answer gets that label from the ``critic`` role in one structured
call: 1.0 subtle, 0.0 on-the-nose, so the mean is the share of subtle answers. Baseline answers are
unscored (no persona was given); a label that never validates leaves the sample unscored with the
reason.
"""

from __future__ import annotations

from typing import Literal

from inspect_ai.model import get_model
from inspect_ai.scorer import Score, Scorer, Target, mean, scorer, stderr
from inspect_ai.solver import TaskState
from pydantic import BaseModel, Field

from persona_evals.persona_bench.critic import CRITIC_ROLE
from persona_evals.personas.persona import Persona
from persona_evals.structured import StructuredOutputError, generate_structured


class SubtletyLabel(BaseModel):
    reasoning: str = Field(description="One or two sentences on how the answer uses what it knows about the person.")
    label: Literal["subtle", "on_the_nose"] = Field(
        description="subtle: tailored without naming the person's attributes; on_the_nose: states or lists them."
    )


@scorer(metrics=[mean(), stderr()])
def subtlety(max_retries: int = 2, role: str = CRITIC_ROLE) -> Scorer:
    """1.0 when the answer's personalisation is subtle, 0.0 when it is on-the-nose."""

    async def score(state: TaskState, target: Target) -> Score:
        if state.metadata.get("mode") == "baseline":
            return Score.unscored(reason="scoring_failed", explanation="baseline mode: no persona was given")
        answer = state.output.completion
        prompt = SUBTLETY_PROMPT.format(
            question=state.metadata.get("question") or state.input_text,
            answer=answer,
            persona=Persona(attributes=state.metadata.get("shown_persona") or {}).render(),
        )
        try:
            verdict = await generate_structured(get_model(role=role, required=True), prompt, SubtletyLabel, max_retries=max_retries)
        except StructuredOutputError as ex:
            return Score.unscored(reason="grader_failed", answer=answer, explanation=f"subtlety label invalid: {ex.reason}")
        return Score(
            value=1.0 if verdict.label == "subtle" else 0.0,
            answer=verdict.label,
            explanation=verdict.reasoning,
        )

    return score


SUBTLETY_PROMPT = """An assistant was told about the person below and asked to tailor its answer to them subtly, without repeating their attributes back to them.

Label the answer "subtle" if it is shaped for this person (examples, emphasis, tone, practical advice) without naming or listing their attributes, or "on_the_nose" if it states their attributes outright (for example "As a 31-year-old Catholic nurse, you ...").

[Question]
{question}

[Answer]
{answer}

[Person the assistant was told about]
{persona}

Reply as JSON with the fields reasoning and label ("subtle" or "on_the_nose")."""
