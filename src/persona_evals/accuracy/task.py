"""Persona-prompted task accuracy ("Principled Personas", Luz de Araujo et al., EMNLP 2025).

Paper: https://arxiv.org/abs/2508.19764 (code: github.com/peluz/principled-personas, MIT).
Datasets: truthfulqa/truthful_qa (mc1), openai/gsm8k, TIGER-Lab/MMLU-Pro (14 categories),
DigitalLearningGmbH/MATH-lighteval (7 subjects; mirror of the removed lighteval/MATH),
tasksource/bigbench (4 subtasks, parquet conversion), or offline the real BIG-bench items shipped
with the package (``source=sample``). Tags: personas, accuracy, robustness.

One sample per item x persona; compute expertise advantage, robustness and fidelity from the logs
with ``persona-evals metrics``.
"""

from inspect_ai import Task, task

from persona_evals.accuracy.dataset import Source, build_dataset
from persona_evals.accuracy.scorer import persona_answer
from persona_evals.accuracy.solver import build_solver, check_solver_args
from persona_evals.args import task_args


@task
@task_args(items=(1, None))
def persona_accuracy(
    dataset: str | list[str] = "truthfulqa",
    personas: str | list[str] = "all",
    mitigation: str = "none",
    persona_placement: str = "system",
    baseline_log: str | None = None,
    experts_cache: str | None = None,
    items: int | None = None,
    math_normalize: bool = False,
    source: Source = "hub",
    baseline_system: str = "none",
) -> Task:
    """Accuracy of a model under persona prompts, one sample per item and persona.

    Args:
        dataset: ``truthfulqa``, ``gsm8k``, ``mmlu_pro:<category>``, ``math:<subject>``,
            ``bigbench:<subtask>``, a bare family (all its tasks), ``all``, or a list of these.
        personas: ``all`` or persona groups / ids: ``empty``, ``education``, ``names``, ``colors``,
            ``in_domain``, ``related``, ``out_of_domain``, ``dynamic`` (e.g. ``[empty,names]``).
        mitigation: ``none``, ``instruction`` (persona plus constraints), ``refine`` (three-turn
            refine of the no-persona answer, with constraints) or ``refine_basic`` (without).
        persona_placement: ``system`` message, ``user`` turn, or ``auto`` (user turn for chat
            templates without a system role, e.g. Gemma).
        baseline_log: for refine: a persona_accuracy log of the same model whose empty-persona
            answers are refined (by item id); omitted, they are generated in this run.
        experts_cache: JSON file of dynamic experts by item id (default: the persona-evals cache);
            missing items are written by the ``persona_writer`` model role.
        items: first N items of each task (``--limit`` counts item x persona samples instead).
        math_normalize: compare MATH answers after normalising equivalent forms (not the paper's).
        source: ``hub`` (the pinned Hub data sets) or ``sample``: real BIG-bench items shipped
            with the package (the first 200 of each subtask, 198 of tracking_shuffled_objects;
            offline, ``bigbench`` tasks only).
        baseline_system: the empty persona's prompt: ``none`` (no system message, the paper's) or
            ``neutral`` (the neutral system prompt "You are an assistant.", placed like a persona).
            Use ``neutral`` for chat templates that add their own default system prompt when the
            conversation has none (Qwen2.5), so the baseline differs from the personas only by
            the persona.
    """
    answers = check_solver_args(mitigation, persona_placement, baseline_log, experts_cache, baseline_system)
    samples = build_dataset(dataset, personas, items, source)
    return Task(
        dataset=samples,
        solver=build_solver(
            samples, mitigation, persona_placement, baseline_log, experts_cache, answers, baseline_system
        ),
        scorer=persona_answer(math_normalize=math_normalize),
    )
