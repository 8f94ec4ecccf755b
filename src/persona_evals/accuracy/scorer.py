"""The persona_accuracy scorer: per answer type, extract the answer and compare it with the gold.

- ``choice``: the option letter by the paper's ordered patterns, limited to the item's options.
- ``number`` (GSM8K): the last number of the reply, compared as a float.
- ``boxed`` (MATH): the last ``\\boxed{}``; exact by default, or after `normalize_math`.

The extracted answer and the rule that found it go in the explanation; a reply with no
extractable answer is INCORRECT with that reason, never an error.
"""

from __future__ import annotations

from inspect_ai.scorer import (
    CORRECT,
    INCORRECT,
    Score,
    Scorer,
    Target,
    accuracy,
    grouped,
    scorer,
    stderr,
)
from inspect_ai.solver import TaskState

from persona_evals.accuracy.boxed import last_boxed, normalize_math
from persona_evals.accuracy.extract import extract_choice, extract_last_number


def judge(
    answer_type: str, completion: str, gold: str, n_options: int = 0, math_normalize: bool = False
) -> Score:
    """Score one reply (pure: used by the scorer and by tests)."""
    answer: str | None
    if answer_type == "choice":
        answer, how = extract_choice(completion, n_options)
        correct = answer is not None and answer == gold
    elif answer_type == "number":
        value, how = extract_last_number(completion)
        answer = None if value is None else (str(int(value)) if value.is_integer() else repr(value))
        correct = value is not None and abs(value - float(gold)) < 1e-6
    elif answer_type == "boxed":
        answer = last_boxed(completion)
        how = (
            "last \\boxed{}"
            if answer is not None
            else "no answer could be extracted: no \\boxed{} in the reply"
        )
        if answer is not None and math_normalize:
            correct, how = normalize_math(answer) == normalize_math(gold), how + " (normalised)"
        else:
            correct = answer is not None and answer.strip() == gold.strip()
    else:
        raise ValueError(f"unknown answer_type {answer_type!r}: expected choice, number or boxed")
    verdict = "matches" if correct else "does not match"
    explanation = (
        f"{how}: extracted {answer!r}, which {verdict} the gold {gold!r}"
        if answer is not None
        else how
    )
    return Score(
        value=CORRECT if correct else INCORRECT,
        answer=answer,
        explanation=explanation,
        metadata={"extracted": answer, "extraction": how},
    )


@scorer(metrics=[accuracy(), stderr(), grouped(accuracy(), "persona_id", all=False)])
def persona_answer(math_normalize: bool = False) -> Scorer:
    """Accuracy against the gold, with the extraction rule of the sample's answer type.

    Args:
        math_normalize: compare MATH answers after `normalize_math` (a labelled, non-paper variant).
    """

    async def score(state: TaskState, target: Target) -> Score:
        meta = state.metadata
        return judge(
            meta["answer_type"],
            state.output.completion,
            target.text,
            n_options=int(meta.get("n_options", 0)),
            math_normalize=math_normalize,
        )

    return score
