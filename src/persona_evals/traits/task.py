"""Trait expression: how strongly a model expresses a character trait, judged 0-100.

Persona vectors: Monitoring and Controlling Character Traits in Language Models
(Chen et al., 2025, arXiv:2507.21509). Artifacts are our own, in the paper's format.

Each sample is one question of the trait's `version` split, under one of its instruction pairs
(`pos` elicits the trait, `neg` suppresses it) or under no system prompt at all (`none`). The
`grader` role judges the answer from the question and answer alone: trait expression and
coherence (and any other traits in ``judge_traits``), each the probability-weighted mean of the
judge's integer answers 0-100 (its first-token alternatives; for a local `steer` grader, the
exact probability of each whole number).

Tags: persona, steering, llm-judge
"""

from inspect_ai import Task, task
from inspect_ai.model import GenerateConfig
from inspect_ai.solver import generate

from persona_evals.args import evaluated_model_args, task_args
from persona_evals.scorers import projection as projection_scorer
from persona_evals.scorers.logprob_judge import MIN_NUMERIC_MASS
from persona_evals.solvers.persona import persona_message
from persona_evals.traits.dataset import load_trait, trait_name_of, trait_samples
from persona_evals.traits.scorer import coherence_score, judged_traits, trait_score


MAX_SAMPLES_PER_QUESTION = 1000


@task
@task_args(samples_per_question=(1, MAX_SAMPLES_PER_QUESTION), min_mass=(0, 1))
def trait_expression(
    trait: str = "evil",
    version: str = "eval",
    instruction: str = "none",
    assistant_name: str | None = None,
    samples_per_question: int = 1,
    judge_traits: str | list[str] | None = None,
    min_mass: float = MIN_NUMERIC_MASS,
    projection: bool | None = None,
) -> Task:
    """Generate answers to a trait's questions and judge trait expression and coherence.

    Args:
        trait: a shipped trait (evil, sycophantic, hallucinating, optimistic, impolite, apathetic,
            humorous, anxious, confident) or a path to an artifact .json file.
        version: the question split, `extract` (for building vectors) or `eval` (for measuring).
        instruction: `pos` (system prompt eliciting the trait), `neg` (suppressing it) or `none`
            (no system message). pos/neg run every question under each of the trait's
            instruction pairs. The system prompt is a system message, or the start of the user
            turn for a chat template without a system role (`persona_placement` in the store).
        assistant_name: the identity sentence's adjective ("You are a/an <name> assistant.");
            default: the trait for pos, "helpful" for neg. Not allowed with `none`.
        samples_per_question: answers per question (and pair), 1 to 1,000; the paper used 10. Sampling is
            at temperature 1 when above 1, greedy otherwise (override with --temperature).
        judge_traits: other traits to judge on every answer, shipped names or artifact files
            (``-T judge_traits=[humorous,optimistic]``); each is scored 0-100 with its own
            rubric under its name (``humorous``, ``humorous_unscored``). The task's own trait
            is always scored, as ``trait``.
        min_mass: a judge score needs at least this probability on integer answers 0-100
            (default 0.25, the paper's rule); below it the sample is unscored. Lower it only
            for a judge too small to follow the rubric (`persona-evals demo` with SmolLM2).
        projection: report the live projection (below); default: when the model being evaluated
            has a monitor (``-M monitor=...``), or when that is unknown (a task built before eval).

    Scores: `trait` and `coherence` (mean, stderr over scored samples) and `trait_unscored`,
    `coherence_unscored` (count of samples whose judge put < `min_mass` on integers 0-100).
    Needs `--model-role grader=...`: a model with logprobs, or a local `steer/...` model (scored
    exactly on any tokenizer, see `persona_evals.scorers.logprob_judge`). `proj` and `prompt_last_proj`
    report the live projection onto a persona vector when the model is
    `steer/... -M monitor=<vector> -M monitor_layer=<L>`; without a monitor they are left out
    (NaN metrics read as broken), unless ``-T projection=true``.
    """
    artifact = load_trait(trait, version)
    name = trait_name_of(trait)
    if projection is None:
        model_args = evaluated_model_args()
        projection = model_args is None or bool(model_args.get("monitor"))
    return Task(
        dataset=trait_samples(
            name, artifact, instruction, version, assistant_name, samples_per_question  # type: ignore[arg-type]
        ),
        solver=[persona_message("auto", key="system_prompt"), generate()],
        scorer=[
            trait_score(artifact.eval_prompt, min_mass),
            coherence_score(min_mass=min_mass),
            *judged_traits(judge_traits, name, min_mass),
            *([projection_scorer()] if projection else []),
        ],
        config=GenerateConfig(temperature=1.0 if samples_per_question > 1 else 0.0, max_tokens=1000),
        metadata={"trait": name, "version": version, "instruction": instruction},
    )
