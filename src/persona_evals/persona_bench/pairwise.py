"""Pairwise judging: the persona-conditioned answer against the baseline answer for the same pair.

`baseline_reference` asks the model under evaluation the same question without the persona (the
``baseline`` mode prompt) and keeps that answer in ``metadata["baseline_answer"]``; the
`pairwise_vs_baseline` scorer then asks the critic which of the two suits the person better.
The two answers are shown in an order fixed by a hash of the sample id, so position bias averages
out and reruns see the same order. Score: 1 win, 0.5 tie, 0 loss; the mean is the win rate.
"""

from __future__ import annotations

from typing import Literal

from inspect_ai.model import ChatMessageSystem, ChatMessageUser, Model, get_model
from inspect_ai.scorer import Score, Scorer, mean, scorer, stderr
from inspect_ai.solver import Generate, Solver, TaskState, solver
from pydantic import BaseModel, Field

from persona_evals.ids import keyed_seed
from persona_evals.persona_bench.critic import CRITIC_ROLE
from persona_evals.persona_bench.prompts import BASELINE_PROMPT, PAIRWISE_PROMPT
from persona_evals.personas.persona import Persona
from persona_evals.scorers.judge import JudgeRequest, not_applicable, structured_judge

_POINTS = {"persona": 1.0, "tie": 0.5, "baseline": 0.0}


class PairwiseVerdict(BaseModel):
    """Which answer suits the person better."""

    reasoning: str = Field(description="A short comparison of the two answers for this person.")
    better: Literal["A", "B", "tie"] = Field(description="The answer that suits the person better, or tie.")


def persona_first(sample_id: str | int) -> bool:
    """Whether the persona-conditioned answer is shown as A (a fixed coin flip per sample id)."""
    return keyed_seed(str(sample_id), bits=8) % 2 == 0


@solver
def baseline_reference() -> Solver:
    """Generate the no-persona answer for the pair (skipped in ``baseline`` mode)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        if state.metadata.get("mode") == "baseline":
            return state
        question = state.metadata.get("question") or state.input_text
        output = await get_model().generate(
            [ChatMessageSystem(content=BASELINE_PROMPT), ChatMessageUser(content=question)]
        )
        state.metadata["baseline_answer"] = output.completion.strip()
        return state

    return solve


@scorer(metrics=[mean(), stderr()])
def pairwise_vs_baseline(max_retries: int = 2, role: str = CRITIC_ROLE) -> Scorer:
    """Win rate of the persona-conditioned answer over the baseline answer (ties count half).

    Needs `baseline_reference` in the solver chain. Baseline-mode samples are unscored: there is
    nothing to compare them with.
    """

    async def compare(state: TaskState, critic: Model) -> JudgeRequest | Score:
        if state.metadata.get("mode") == "baseline":
            return not_applicable("baseline mode: nothing to compare")
        baseline = state.metadata.get("baseline_answer")
        if baseline is None:
            raise RuntimeError("pairwise_vs_baseline needs the baseline_reference() solver in the chain")
        answer = state.output.completion
        first = persona_first(state.sample_id)
        a, b = (answer, baseline) if first else (baseline, answer)
        prompt = PAIRWISE_PROMPT.format(
            question=state.metadata.get("question") or state.input_text,
            persona=Persona(attributes=state.metadata["persona"]).render(),
            a=a,
            b=b,
        )
        return JudgeRequest(prompt, answer=answer, metadata={"persona_answer_shown_as": "A" if first else "B"})

    def to_score(verdict: PairwiseVerdict, request: JudgeRequest) -> Score:
        first = request.metadata["persona_answer_shown_as"] == "A"
        winner = "tie" if verdict.better == "tie" else ("persona" if (verdict.better == "A") == first else "baseline")
        return Score(value=_POINTS[winner], answer=request.answer, explanation=verdict.reasoning, metadata={"winner": winner})

    return structured_judge(compare, PairwiseVerdict, to_score, role=role, name="pairwise verdict", max_retries=max_retries)
