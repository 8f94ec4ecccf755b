"""Scripted trait_expression graders shared by the trait plot tests."""

from __future__ import annotations

import math

from persona_evals.testing import scripted_model, scripted_output


def grader(trait_value, coherence_value):
    """A judge scoring every answer `trait_value` for the trait and `coherence_value` for coherence."""

    def reply(messages, config):
        coherent = "Coherence is not correctness" in messages[-1].text
        value = coherence_value if coherent else trait_value
        # two integer tokens around the value, equally likely: the weighted mean is the value
        return scripted_output("x", top_logprobs={str(int(value) - 1): math.log(0.5), str(int(value) + 1): math.log(0.5)})

    return scripted_model(reply)


def sweep_logs(log_dir, graders, cells, vector):
    """One eval of trait_expression (evil), a task per judge of `graders`, 2 samples each: a sweep's
    logs. The first ``len(cells)`` logs get the steering args of their (layer, coef) cell and `vector`;
    any further ones stay unsteered."""
    from inspect_ai import eval, task_with
    from inspect_ai.log import write_eval_log

    from persona_evals.traits.task import trait_expression

    tasks = [task_with(trait_expression(trait="evil", instruction="none"), model_roles={"grader": g}) for g in graders]
    logs = eval(tasks, model=scripted_model(lambda m, c: "an answer"), limit=2, log_dir=str(log_dir),
                max_tasks=len(tasks), display="none")
    assert [log.status for log in logs] == ["success"] * len(tasks)
    for log, (layer, coef) in zip(logs, cells):
        log.eval.model_args = {"vector": vector, "coef": coef, "layer": layer}
        write_eval_log(log, log.location)
    return log_dir
