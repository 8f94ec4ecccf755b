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
from persona_evals.traits.monitoring import DEFAULT_SHOTS, load_graded, monitoring_samples, parse_shots, shot_examples
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
    monitoring: str | None = None,
    shots: list[int] | None = None,
    shots_log: str | None = None,
    graded_prompts: str | None = None,
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
        monitoring: the monitoring experiment (`persona_evals.traits.monitoring`) instead of an
            instruction: ``graded`` (each question under the trait's 8 system prompts, level 0
            most suppressing to 7 most eliciting) or ``many_shot`` (each question after N example
            exchanges showing the trait, N in `shots`). Run with ``-M monitor=<vector>
            -M monitor_layer=<L>`` and plot with ``persona-evals viz monitoring``.
        shots: with many_shot, the numbers of examples, strictly increasing, >= 0 (default 0,5,10,15,20).
        shots_log: with many_shot, the trait_expression log whose answers are the examples
            (a pos run on the other split: ``-T version=extract -T instruction=pos``).
        graded_prompts: with graded, a file ``{"graded": [8 prompts]}`` instead of the shipped one.
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
    if monitoring is None:
        for arg, value in (("shots", shots), ("shots_log", shots_log), ("graded_prompts", graded_prompts)):
            if value is not None:
                raise ValueError(f"{arg} belongs to the monitoring experiment: add -T monitoring=graded or many_shot")
        dataset = trait_samples(
            name, artifact, instruction, version, assistant_name, samples_per_question  # type: ignore[arg-type]
        )
    else:
        dataset = _monitoring_dataset(
            name, artifact, version, monitoring, instruction, assistant_name, samples_per_question, shots, shots_log, graded_prompts
        )
    return Task(
        dataset=dataset,
        solver=[persona_message("auto", key="system_prompt"), generate()],
        scorer=[
            trait_score(artifact.eval_prompt, min_mass),
            coherence_score(min_mass=min_mass),
            *judged_traits(judge_traits, name, min_mass),
            *([projection_scorer()] if projection else []),
        ],
        config=GenerateConfig(temperature=1.0 if samples_per_question > 1 else 0.0, max_tokens=1000),
        metadata={"trait": name, "version": version, "instruction": instruction, "monitoring": monitoring},
    )


def _monitoring_dataset(name, artifact, version, monitoring, instruction, assistant_name, samples_per_question,
                        shots, shots_log, graded_prompts):  # -> MemoryDataset
    """The samples of `monitoring` (graded or many_shot), after checking the arguments that go with it."""
    if instruction != "none" or assistant_name:
        raise ValueError("monitoring sets each sample's prompt itself: leave instruction (none) and assistant_name out")
    if monitoring == "graded":
        if shots is not None or shots_log is not None:
            raise ValueError("shots and shots_log belong to monitoring=many_shot")
        graded = load_graded(name, graded_prompts)
        return monitoring_samples(name, artifact, version, "graded", samples_per_question, graded=graded)
    if monitoring == "many_shot":
        if graded_prompts is not None:
            raise ValueError("graded_prompts belongs to monitoring=graded")
        counts = parse_shots(DEFAULT_SHOTS if shots is None else shots)
        if counts[-1] > 0 and not shots_log:
            raise ValueError(
                "monitoring=many_shot needs -T shots_log=<a trait_expression log of this trait on the other split, "
                "e.g. -T version=extract -T instruction=pos> for its examples"
            )
        examples = shot_examples(shots_log, counts[-1], list(artifact.questions), name) if counts[-1] else []
        return monitoring_samples(
            name, artifact, version, "many_shot", samples_per_question, shots=counts, examples=examples
        )
    raise ValueError(f"monitoring must be graded or many_shot, got {monitoring!r}")
