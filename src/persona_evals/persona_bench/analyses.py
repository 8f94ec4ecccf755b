"""The paper's two answer analyses, as scorers judged by the ``critic`` role.

- `subtlety`: is the personalisation woven in (1.0) or does the answer recite the person back to
  them (0.0, "on-the-nose")? The paper labelled 50 answers per model; here every persona answer.
- `summary_fidelity`: in ``demographic_summary`` mode, does the model's summary of the person say
  only what the persona supports (1.0), or does it invent or contradict traits (0.0)? The summary
  is the model's own text after ``SUMMARY:``.

Samples where the analysis does not apply are unscored with the reason, as is a label that never
validates.
"""

from __future__ import annotations

from typing import Literal

from inspect_ai.model import Model
from inspect_ai.scorer import Score, Scorer, mean, scorer, stderr
from inspect_ai.solver import TaskState
from pydantic import BaseModel, Field

from persona_evals.persona_bench.critic import CRITIC_ROLE
from persona_evals.persona_bench.prompts import FIDELITY_PROMPT, SUBTLETY_PROMPT
from persona_evals.personas.persona import Persona
from persona_evals.scorers.judge import JudgeRequest, not_applicable, structured_judge


class SubtletyLabel(BaseModel):
    reasoning: str = Field(description="One or two sentences on how the answer uses what it knows about the person.")
    label: Literal["subtle", "on_the_nose"] = Field(
        description="subtle: tailored without naming the person's attributes; on_the_nose: states or lists them."
    )


@scorer(metrics=[mean(), stderr()])
def subtlety(max_retries: int = 2, role: str = CRITIC_ROLE) -> Scorer:
    """1.0 when the answer's personalisation is subtle, 0.0 when it is on-the-nose."""

    async def label(state: TaskState, critic: Model) -> JudgeRequest | Score:
        if state.metadata.get("mode") == "baseline":
            return not_applicable("baseline mode: no persona was given")
        answer = state.output.completion
        prompt = SUBTLETY_PROMPT.format(
            question=state.metadata.get("question") or state.input_text,
            answer=answer,
            persona=Persona(attributes=state.metadata.get("shown_persona") or {}).render(),
        )
        return JudgeRequest(prompt, answer=answer)

    def to_score(verdict: SubtletyLabel, request: JudgeRequest) -> Score:
        return Score(value=1.0 if verdict.label == "subtle" else 0.0, answer=verdict.label, explanation=verdict.reasoning)

    return structured_judge(label, SubtletyLabel, to_score, role=role, name="subtlety label", max_retries=max_retries)


class FidelityVerdict(BaseModel):
    unsupported: list[str] = Field(description="Claims in the summary that the persona does not support or contradicts.")
    faithful: bool = Field(description="True if every claim in the summary is supported by the persona.")


@scorer(metrics=[mean(), stderr()])
def summary_fidelity(max_retries: int = 2, role: str = CRITIC_ROLE) -> Scorer:
    """1.0 when the demographic summary only says what the persona supports, else 0.0."""

    async def check(state: TaskState, critic: Model) -> JudgeRequest | Score:
        summary = (state.metadata.get("response") or {}).get("summary")
        if state.metadata.get("mode") != "demographic_summary" or not summary:
            return not_applicable("no summary: the model wrote no SUMMARY part" if summary == "" else "not demographic_summary mode")
        persona = Persona(attributes=state.metadata.get("shown_persona") or {}).render()
        return JudgeRequest(FIDELITY_PROMPT.format(summary=summary, persona=persona), answer=summary)

    def to_score(verdict: FidelityVerdict, request: JudgeRequest) -> Score:
        return Score(
            value=1.0 if verdict.faithful and not verdict.unsupported else 0.0,
            answer=request.answer,
            explanation="; ".join(verdict.unsupported) or "every claim is supported",
            metadata={"unsupported": verdict.unsupported},
        )

    return structured_judge(check, FidelityVerdict, to_score, role=role, name="fidelity verdict", max_retries=max_retries)
