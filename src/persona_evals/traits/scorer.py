"""The judges of a trait-expression sample: trait expression 0-100, coherence 0-100, and any
other traits asked for (``-T judge_traits``), each 0-100 under its own name.

Both are single-token logprob judges (`persona_evals.scorers.logprob_judge`) bound to the ``grader`` role (resolved inside the scorer,
required, so a steered model never grades itself). The judge sees only the question and the
answer, never the system prompt. Each score is a dict ``{"<key>": value, "<key>_unscored": 0|1}``:
an unscored sample has NaN under ``<key>`` (excluded from mean and stderr, as `Score.unscored`
is) and 1 under ``<key>_unscored``, whose `count` metric reports how many there were.
"""

from __future__ import annotations

from collections.abc import Sequence

from inspect_ai.scorer import Scorer, mean, scorer, stderr

from persona_evals.protocol import PROJ, PROMPT_LAST_PROJ
from persona_evals.scorers.logprob_judge import MIN_NUMERIC_MASS, rating_judge
from persona_evals.scorers.metrics import count
from persona_evals.traits.artifact import TraitArtifactError, check_rubric
from persona_evals.traits.dataset import judge_rubric, trait_name_of
from persona_evals.traits.prompts import COHERENCE_RUBRIC

RESERVED_KEYS = ("trait", "coherence", PROJ, PROMPT_LAST_PROJ)
"""Score names the task uses already; no judged trait may take one."""


@scorer(metrics={"trait": [mean(), stderr()], "trait_unscored": [count()]})
def trait_score(rubric: str, min_mass: float = MIN_NUMERIC_MASS) -> Scorer:
    """How strongly the answer expresses the trait (0-100), judged by the ``grader`` role.

    Args:
        rubric: the trait's judge template, with ``{question}`` and ``{answer}`` slots.
        min_mass: below this probability on integer tokens the sample is unscored.
    """
    return _rubric_judge(rubric, key="trait", min_mass=min_mass)


@scorer(metrics={"coherence": [mean(), stderr()], "coherence_unscored": [count()]})
def coherence_score(rubric: str | None = None, min_mass: float = MIN_NUMERIC_MASS) -> Scorer:
    """How coherent the answer is (0-100) regardless of correctness and trait, by ``grader``.

    Args:
        rubric: a template with ``{question}`` and ``{answer}`` slots (default: COHERENCE_RUBRIC).
        min_mass: below this probability on integer tokens the sample is unscored.
    """
    return _rubric_judge(rubric or COHERENCE_RUBRIC, key="coherence", min_mass=min_mass)


def judged_traits(traits: str | Sequence[str] | None, own: str, min_mass: float = MIN_NUMERIC_MASS) -> list[Scorer]:
    """A scorer per other trait to judge on the same answer (`trait_expression`'s ``judge_traits``).

    Each is registered as ``<name>_score`` and reports `name` (mean, stderr) and
    ``<name>_unscored`` (count), with that trait's own rubric. The task's own trait (`own`) is
    already scored as ``trait`` and repeats are judged once.

    Args:
        traits: shipped names or artifact files; a list, or one string (commas separate).
        own: the name of the task's trait.
        min_mass: below this probability on integer tokens a sample is unscored.
    """
    items = [t.strip() for t in (traits.split(",") if isinstance(traits, str) else traits or []) if str(t).strip()]
    scorers, seen = [], {own}
    for item in items:
        name = trait_name_of(str(item))
        if name in seen:
            continue
        if name in RESERVED_KEYS or name.endswith("_unscored"):
            raise ValueError(f"judge_traits: a trait may not be named {name!r} (a score of the task has that name)")
        try:
            rubric = judge_rubric(str(item))
        except TraitArtifactError as ex:
            raise TraitArtifactError(f"judge_traits: {ex}") from None
        seen.add(name)
        scorers.append(_judged_trait(name, rubric, min_mass))
    return scorers


def _judged_trait(name: str, rubric: str, min_mass: float) -> Scorer:
    @scorer(metrics={name: [mean(), stderr()], f"{name}_unscored": [count()]}, name=f"{name}_score")
    def judged_trait() -> Scorer:
        return _rubric_judge(rubric, key=name, min_mass=min_mass)

    return judged_trait()


def _rubric_judge(rubric: str, key: str, min_mass: float) -> Scorer:
    try:
        check_rubric(rubric)
    except ValueError as ex:
        raise ValueError(f"{key} rubric {ex}") from ex
    return rating_judge(rubric, key=key, min_mass=min_mass, role="grader")
