"""End to end: the four PERSONA Bench tasks on invented fixtures, scripted target and critic.

The scripted target names the person's sex and age only when both are shown; the scripted critic
passes an answer only when it names the age of the full persona. So each score follows from the
sample's metadata, and every metric is checked against that rule.
"""

import itertools
import json
import math

import pytest
from inspect_ai import eval
from persona_bench_support import CriticLog, critic_model, load_task, personalised, target_model

from persona_evals.datasets.hub import GatedDatasetError
from persona_evals.persona_bench.solver import MODES

FIXTURES = {"personas": "fixture", "questions": "fixture"}


def run(task, target=None, critic=None, log_dir=None):
    [log] = eval(
        task,
        model=target or target_model(),
        model_roles={"critic": critic or critic_model()},
        display="none",
        log_dir=str(log_dir),
    )
    assert log.status == "success", log.error
    return log


def metrics(log, reducer=None):
    [score] = [s for s in log.results.scores if s.name == "debate_critic" and s.reducer == reducer]
    return {k: v.value for k, v in score.metrics.items()}


def expected_score(sample) -> float:
    shown = sample.metadata["shown_persona"]
    return 1.0 if sample.metadata["mode"] != "baseline" and personalised(shown) else 0.0


def test_main_compares_modes_and_critic_sees_question_answer_full_persona(tmp_path):
    critic_log = CriticLog()
    task = load_task("prism_personalization")(pairs=4, pairwise=True, **FIXTURES)
    log = run(task, critic=critic_model(critic_log), log_dir=tmp_path)
    assert len(log.samples) == 4 * len(MODES)
    assert {s.metadata["mode"] for s in log.samples} == set(MODES)
    for s in log.samples:
        assert s.scores["debate_critic"].value == expected_score(s), s.id
        # baseline: the target never sees the persona; every other mode: it does
        system = s.messages[0].text
        assert ("<persona>" in system) == (s.metadata["mode"] != "baseline")
        # the format instruction is sent (anchor defect D1)
        if s.metadata["mode"] != "baseline":
            assert "ANSWER:" in system and s.metadata["response"]["format_ok"]
    got = metrics(log)
    for mode in MODES:
        scores = [expected_score(s) for s in log.samples if s.metadata["mode"] == mode]
        assert got[mode] == pytest.approx(sum(scores) / len(scores))
    assert got["baseline"] == 0.0 and got["output_only"] == 1.0
    # the critic saw the real question, the parsed answer and the full persona, every time
    assert len(critic_log.prompts) == len(log.samples)
    for s in log.samples:
        persona_text = "\n".join(f"{k}: {v}" for k, v in s.metadata["persona"].items())
        answer = s.scores["debate_critic"].answer
        assert any(
            s.metadata["question"] in p and f"[Answer]\n{answer}\n" in p and persona_text in p
            for p in critic_log.prompts
        ), s.id
    # pairwise: the persona answer names the person, the baseline answer does not -> it wins
    pairwise = [s.scores["pairwise_vs_baseline"] for s in log.samples if s.metadata["mode"] != "baseline"]
    assert {p.value for p in pairwise} == {1.0}
    assert {p.metadata["persona_answer_shown_as"] for p in pairwise} == {"A", "B"}
    assert all(math.isnan(s.scores["pairwise_vs_baseline"].value) for s in log.samples if s.metadata["mode"] == "baseline")


def test_sample_ids_and_pairing_are_stable(tmp_path):
    make = load_task("prism_personalization")
    a = make(mode="output_only", pairs=5, seed=7, **FIXTURES).dataset
    b = make(mode="output_only", pairs=5, seed=7, **FIXTURES).dataset
    assert [s.id for s in a] == [s.id for s in b]
    assert len({s.id for s in a}) == 5
    assert all(s.metadata["pairing_seed"] == 7 for s in a)


def test_leave_one_out_full_none_and_drop_per_attribute(tmp_path):
    config = tmp_path / "loo.json"
    config.write_text(json.dumps({"attributes": ["age", "religion", "fertility"]}))
    task = load_task("leave_one_out")(config=str(config), pairs=3, **FIXTURES)
    critic_log = CriticLog()
    log = run(task, critic=critic_model(critic_log), log_dir=tmp_path)
    # the critic judges against the full persona, whatever the target was shown (anchor D6)
    assert len(critic_log.prompts) == len(log.samples)
    assert all("\nage: " in p and "\nreligion: " in p for p in critic_log.prompts)
    by_pair: dict[str, dict[str, float]] = {}
    for s in log.samples:
        shown, full = s.metadata["shown_persona"], s.metadata["persona"]
        variant = s.metadata["variant"]
        if variant == "full":
            assert shown == full
        elif variant == "none":
            assert not {"age", "religion", "fertility"} & set(shown)
        else:
            assert set(full) - set(shown) == {variant.removeprefix("drop:")}
        assert s.scores["debate_critic"].value == expected_score(s)
        by_pair.setdefault(s.metadata["pair_id"], {})[variant] = expected_score(s)
    assert all("full" in v and "none" in v for v in by_pair.values())
    got = metrics(log)
    for variant in ["none", "drop:age", "drop:religion", "drop:fertility"]:
        diffs = [v["full"] - v[variant] for v in by_pair.values() if variant in v]
        assert got[f"{variant.removeprefix('drop:')}_drop"] == pytest.approx(sum(diffs) / len(diffs))
    assert got["age_drop"] == 1.0 and got["religion_drop"] == 0.0
    assert got["full"] == 1.0  # accuracy per variant (grouped)
    # a persona without fertility gets no drop:fertility sample, and the log says so
    absent = log.eval.metadata["pairs_without_attribute"]
    assert sum(s.metadata["variant"] == "drop:fertility" for s in log.samples) == 3 - absent["fertility"]


def test_intersection_accuracy_counts_overlaps(tmp_path):
    config = [
        {"name": "under 40", "clauses": [{"attribute": "age", "max": 40}]},
        {"name": "60 and over", "clauses": [{"attribute": "age", "min": 60}]},
        {"name": "women", "clauses": [{"attribute": "sex", "values": ["FEMALE"]}]},
    ]
    task = load_task("intersectionality")(config=json.dumps(config), pairs_per_intersection=4, **FIXTURES)
    log = run(task, target=target_model(old_fails=True), log_dir=tmp_path)
    groups: dict[str, list[float]] = {}
    for s in log.samples:
        persona = s.metadata["persona"]
        in_slice = {
            "under 40": persona["age"] <= 40,
            "60 and over": persona["age"] >= 60,
            "women": persona["sex"].lower() == "female",
        }
        assert set(s.metadata["intersections"]) == {k for k, v in in_slice.items() if v}
        expected = 0.0 if persona["age"] >= 60 else 1.0
        assert s.scores["debate_critic"].value == expected
        for name in s.metadata["intersections"]:
            groups.setdefault(name, []).append(expected)
    assert all(len(groups[name]) >= 4 for name in groups)
    got = metrics(log)
    for name, values in groups.items():
        assert got[name] == pytest.approx(sum(values) / len(values))
    assert got["under 40"] == 1.0 and got["60 and over"] == 0.0


def exact_pass_at(outcomes: list[float], k: int) -> float:
    """Share of all k-subsets of the attempts that contain a pass (exact combinatorics)."""
    subsets = list(itertools.combinations(outcomes, k))
    return sum(any(v == 1.0 for v in s) for s in subsets) / len(subsets)


def test_pass_at_k_matches_exact_combinatorics(tmp_path):
    k = 5
    task = load_task("pass_at_k")(k=k, pairs=4, sampling_seed=11, **FIXTURES)
    log = run(task, target=target_model(pass_rule=lambda seed: seed % 3 == 0), log_dir=tmp_path)
    attempts: dict[str, list[float]] = {}
    for s in log.samples:
        attempts.setdefault(s.id, []).append(s.scores["debate_critic"].value)
    assert len(attempts) == 4 and all(len(v) == k for v in attempts.values())
    # attempts are independent draws: not all identical within a pair
    assert any(len(set(v)) > 1 for v in attempts.values())
    for j in range(1, k + 1):
        expected = sum(exact_pass_at(v, j) for v in attempts.values()) / len(attempts)
        assert metrics(log, f"pass_at_{j}")["accuracy"] == pytest.approx(expected), j
    # each attempt is critiqued on its own answer
    for s in log.samples:
        assert s.scores["debate_critic"].answer == s.output.completion


def test_pass_at_k_rerun_with_sampling_seed_is_reproducible(tmp_path):
    make = load_task("pass_at_k")
    rule = lambda seed: seed % 2 == 0  # noqa: E731
    logs = [run(make(k=3, pairs=2, sampling_seed=5, **FIXTURES), target=target_model(pass_rule=rule), log_dir=tmp_path) for _ in range(2)]
    values = [sorted((s.id, s.epoch, s.scores["debate_critic"].value) for s in log.samples) for log in logs]
    assert values[0] == values[1]


def test_invalid_critic_verdict_leaves_sample_unscored_with_reason(tmp_path, capsys):
    task = load_task("prism_personalization")(mode="output_only", pairs=2, max_retries=1, **FIXTURES)
    log = run(task, critic=critic_model(invalid=True), log_dir=tmp_path)
    for s in log.samples:
        score = s.scores["debate_critic"]
        assert math.isnan(score.value)
        assert "critic verdict invalid" in score.explanation and "needs_revision" in score.explanation
    assert log.results.scores[0].unscored_samples == 2
    # `persona-evals summary <dir>` shows the count and the reason
    from persona_evals.cli import main

    assert main(["summary", str(tmp_path), "--samples", "1"]) == 0
    out = capsys.readouterr().out
    assert "unscored=2" in out and "debate_critic unscored: critic verdict invalid" in out


@pytest.mark.parametrize(
    "task, args, message",
    [
        ("leave_one_out", {"config": '{"attributes": ["agee"]}'}, "valid attributes: age, sex"),
        ("leave_one_out", {"config": '{"attrs": ["age"]}'}, "attributes"),
        ("leave_one_out", {"config": "missing.json"}, "does not exist"),
        ("leave_one_out", {"mode": "baseline"}, "mode 'baseline' invalid"),
        ("intersectionality", {}, "config is required"),
        ("intersectionality", {"config": '[{"clauses": [{"attribute": "age", "values": ["18"]}]}]'}, "numeric"),
        ("intersectionality", {"config": '[{"clauses": [{"attribute": "sex", "values": [1]}]}]'}, "categorical"),
        ("intersectionality", {"config": '[{"clauses": [{"attribute": "race", "values": ["Martian"]}]}]'}, "match none"),
        ("intersectionality", {"config": '[{"clauses": [{"attribute": "agee", "values": [1]}]}]'}, "valid attributes"),
        ("pass_at_k", {"temperature": 0}, "temperature"),
        ("pass_at_k", {"k": 0}, "k: must be at least 1"),
        ("prism_personalization", {"mode": "summary"}, "valid modes"),
        ("prism_personalization", {"pairs": 10_000}, "pairs=10000"),
    ],
)
def test_bad_input_is_an_error_naming_it(task, args, message):
    with pytest.raises(ValueError, match=message):
        load_task(task)(**{**FIXTURES, **args})


def test_gated_source_without_token_says_how_to_get_access(monkeypatch):
    monkeypatch.setattr("persona_evals.datasets.hub.hf_token", lambda: None)
    monkeypatch.setattr("persona_evals.datasets.hub.hub_offline", lambda: False)  # online, no token
    with pytest.raises(GatedDatasetError, match="HF_TOKEN") as ex:
        load_task("prism_personalization")(personas="SynthLabsAI/Synthetic-Personas", questions="fixture")
    assert "huggingface.co/datasets/SynthLabsAI/Synthetic-Personas" in str(ex.value)


def test_missing_critic_role_is_an_error_naming_it(tmp_path):
    task = load_task("prism_personalization")(mode="output_only", pairs=1, **FIXTURES)
    [log] = eval(task, model=target_model(), display="none", log_dir=str(tmp_path))
    assert log.status == "error" and "'critic' is required" in log.error.message


def test_offline_gated_source_names_offline_as_the_cause(monkeypatch):
    """Offline (as in these tests), a gated source without a cached copy: the cause is being
    offline, not a missing token; the token is mentioned as the next step."""
    from persona_evals.datasets.hub import HubUnavailableError

    monkeypatch.setattr("persona_evals.datasets.hub.hf_token", lambda: None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnavailableError) as ex:
        load_task("prism_personalization")(personas="SynthLabsAI/Synthetic-Personas", questions="fixture")
    message = str(ex.value)
    assert message.index("HF_HUB_OFFLINE") < message.index("HF_TOKEN") and "personas=fixture" in message


def test_unreachable_hub_says_what_to_do(monkeypatch):
    from persona_evals.datasets.hub import HubUnavailableError

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'HannahRoseKirk/prism-alignment' on the Hub")

    monkeypatch.setattr("datasets.load_dataset", offline)
    with pytest.raises(HubUnavailableError, match="personas=fixture"):
        load_task("prism_personalization")(personas="HannahRoseKirk/prism-alignment", questions="fixture")


def test_subtlety_labels_persona_answers_and_skips_baseline(tmp_path):
    critic_log = CriticLog()
    task = load_task("prism_personalization")(mode=["baseline", "output_only"], pairs=3, subtlety=True, **FIXTURES)
    log = run(task, critic=critic_model(critic_log), log_dir=tmp_path)
    for s in log.samples:
        value = s.scores["subtlety"].value
        if s.metadata["mode"] == "baseline":
            assert math.isnan(value)
        else:  # the scripted target states the age outright: on the nose
            assert value == 0.0 and s.scores["subtlety"].answer == "on_the_nose"
    judged = [p for p in critic_log.prompts if "Label the answer" in p]
    assert len(judged) == 3 and all("[Person the assistant was told about]\nage: " in p for p in judged)
    [sub] = [s for s in log.results.scores if s.name == "subtlety"]
    assert sub.metrics["output_only"].value == 0.0 and sub.unscored_samples == 3


@pytest.mark.parametrize("summary_age, expected", [(None, 1.0), (99, 0.0)])
def test_summary_fidelity_checks_the_summary_against_the_persona(tmp_path, summary_age, expected):
    task = load_task("prism_personalization")(
        mode=["output_only", "demographic_summary"], pairs=2, summary_fidelity=True, **FIXTURES
    )
    log = run(task, target=target_model(summary_age=summary_age), log_dir=tmp_path)
    for s in log.samples:
        value = s.scores["summary_fidelity"].value
        if s.metadata["mode"] == "demographic_summary":
            assert value == expected and s.scores["summary_fidelity"].answer.startswith("a person aged")
        else:
            assert math.isnan(value)
    with pytest.raises(ValueError, match="summary_fidelity=true needs demographic_summary"):
        load_task("prism_personalization")(mode="output_only", summary_fidelity=True, **FIXTURES)
