"""The shared scorers: structured verdicts (`scorers/judge.py`), NaN-aware metrics and groupings."""

import math

from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.scorer import Score, mean, scorer
from inspect_ai.solver import generate
from pydantic import BaseModel

from persona_evals.scorers.judge import JudgeRequest, not_applicable, structured_judge
from persona_evals.scorers.metrics import mean_of, metric_value, paired_differences, slice_scores
from persona_evals.structured import ask_verdict
from persona_evals.testing import scripted_model


class Label(BaseModel):
    good: bool


async def test_ask_verdict_returns_the_failure_instead_of_raising():
    ok = await ask_verdict(scripted_model(['{"good": true}']), "judge", Label)
    assert ok.value == Label(good=True) and ok.error is None
    bad = await ask_verdict(scripted_model(lambda m, c: "no json here"), "judge", Label, max_retries=1)
    assert bad.value is None and "Label" in bad.error and bad.last_text == "no json here"


@scorer(metrics=[mean()])
def _label_judge():
    async def request(state, judge):
        if state.metadata.get("skip"):
            return not_applicable("nothing to judge")
        return JudgeRequest(f"judge: {state.output.completion}", answer=state.output.completion, metadata={"n": 1})

    def to_score(verdict: Label, req: JudgeRequest) -> Score:
        return Score(value=1.0 if verdict.good else 0.0, answer=req.answer, metadata={"good": verdict.good})

    return structured_judge(request, Label, to_score, role="critic", name="label", max_retries=0)


def test_structured_judge_scores_unscores_and_skips():
    def critic(messages, config):
        text = messages[-1].text
        return '{"good": true}' if "fine" in text else ("broken" if "junk" in text else '{"good": false}')

    samples = [Sample(id=i, input=i) for i in ("fine", "poor", "junk")] + [Sample(id="skip", input="x", metadata={"skip": True})]
    task = Task(dataset=samples, solver=generate(), scorer=_label_judge())
    target = scripted_model(lambda m, c: m[-1].text)
    log = eval(task, model=target, model_roles={"critic": scripted_model(critic, name="mockllm/critic")}, display="none")[0]
    scores = {s.id: s.scores["_label_judge"] for s in log.samples}
    assert scores["fine"].value == 1.0 and scores["fine"].metadata == {"n": 1, "good": True}
    assert scores["poor"].value == 0.0
    assert math.isnan(scores["junk"].value) and scores["junk"].explanation.startswith("label invalid:")
    assert scores["junk"].metadata["last_text"] == "broken"
    assert math.isnan(scores["skip"].value) and scores["skip"].explanation == "nothing to judge"
    assert log.results.scores[0].metrics["mean"].value == 0.5


def test_grouping_helpers_skip_unscored_values():
    rows = [("full", "p1", 1.0), ("full", "p2", 1.0), ("drop:age", "p1", 0.0), ("drop:age", "p2", math.nan)]
    assert paired_differences(rows, "full") == {"drop:age": [1.0]}
    assert slice_scores([(["a", "b"], 1.0), (["b"], math.nan)]) == {"a": [1.0], "b": [1.0]}
    assert mean_of([1.0, math.nan, 0.0]) == 0.5 and math.isnan(mean_of([math.nan]))


def test_metric_values_are_read_with_or_without_the_package_prefix():
    """inspect prefixes our metrics only for a site-packages or editable install (the GPU
    machine's `pip install --target` + PYTHONPATH logged them bare: KeyError 'persona_evals/finite_mean')."""
    assert metric_value({"persona_evals/finite_mean": 1.5}, "finite_mean") == 1.5
    assert metric_value({"finite_mean": 2.5, "mean": 0.0}, "finite_mean") == 2.5
    assert metric_value({"mean": 0.0}, "finite_mean") is None
