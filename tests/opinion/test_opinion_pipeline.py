"""Offline end-to-end: sample -> calibrate -> generate tiers (scripted writer) -> simulate -> metrics."""

from __future__ import annotations

import json

import pytest
from inspect_ai import eval
from inspect_ai.log import write_eval_log

from persona_evals.cli import main
from persona_evals.opinion.pipeline import calibrate_personas, generate_personas
from persona_evals.opinion.elections import election_results
from persona_evals.opinion import results
from persona_evals.opinion.records import read_personas, write_personas
from persona_evals.opinion.task import opinion_simulation
from persona_evals.testing import scripted_model

OBJECTIVE = {
    "age": 40, "sex": "Female", "race": "White", "state": "NY", "ancestry": "Irish",
    "household_language": "English", "education": "Bachelor's degree", "employment_status": "Employed",
    "class_of_worker": "Private", "industry_category": "Health care", "occupation_category": "Nurse",
    "income": 72000, "marital_status": "Married", "household_type": "Married couple",
    "family_presence_and_age": "Two children under 12", "place_of_birth": "New York",
    "citizenship": "U.S. citizen by birth", "veteran_status": "Nonveteran", "disability": "None",
    "health_insurance": "Private",
}  # fmt: skip
SUBJECTIVE = OBJECTIVE | {
    "detailed_job_description": "Night-shift nurse on a cardiac ward.",
    "big_five_scores": {k: "Average" for k in ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")},
    "defining_quirks": "Keeps lists", "mannerisms": "Talks fast", "personal_time": "Gardening",
    "lifestyle": "Busy", "ideology": "Moderate", "political_views": "Independent", "religion": "Catholic",
    "cognitive_difficulty": "None", "ability_to_speak_english": "Only English", "vision_difficulty": "None",
    "fertility": "Two children", "hearing_difficulty": "None",
}  # fmt: skip


def writer(messages, config):
    users = [m.text for m in messages if m.role == "user"]
    prompt = users[0]
    if "objective profile" in prompt:
        return json.dumps(OBJECTIVE)
    if "subjective fields" in prompt:
        # the first attempt misses a field: the writer must be re-asked, not accepted
        return json.dumps(SUBJECTIVE) if len(users) > 1 else json.dumps(OBJECTIVE)
    return "Persona: Maria is a forty-year-old nurse who works nights in Albany."


def verifier(messages, config):
    """Rejects graduate degrees, so some personas are resampled and some may never pass."""
    record = messages[-1].text
    ok = "Graduate or professional degree" not in record
    return json.dumps({"consistent": ok, "issues": [] if ok else ["graduate degree flagged"]})


def voter(messages, config):
    """Votes Republican in Wyoming and Democratic elsewhere, by the option's text, never by letter."""
    system, user = messages[0].text, messages[-1].text
    want = "Donald Trump" if "state: WY" in system or "Wyoming" in system else "Kamala Harris"
    for line in user.splitlines():
        if line.endswith(want):
            return f"Reasoning: my own situation.\nAnswer: {line[0]}"
    return "no idea"


def test_sample_calibrate_generate_simulate_metrics(tmp_path):
    meta = tmp_path / "meta.jsonl"
    assert (
        main(["personas", "sample", "--states", "NY,WY", "--n", "4", "--seed", "1", "--out", str(meta)]) == 0
    )
    records = read_personas(meta)
    assert len(records) == 8 and records[0].provenance["seed"] == 1

    calibrated = calibrate_personas(records, scripted_model(verifier), str(tmp_path / "logs"), max_rounds=3)
    assert [r.id for r in calibrated] == [r.id for r in records]  # every persona kept
    for before, after in zip(records, calibrated):
        v = after.calibration
        assert v is not None and v.rounds <= 3
        assert v.accepted == ("Graduate or professional degree" != after.meta.get("education"))
        for anchor in ("state", "age", "sex", "race", "hispanic_origin"):
            assert after.meta[anchor] == before.meta[anchor]
        assert (v.original_meta is not None) == (after.meta != before.meta)

    written = generate_personas(
        calibrated, ["objective", "subjective", "descriptive"], scripted_model(writer), str(tmp_path / "logs")
    )
    for r in written:
        assert r.tiers["objective"]["income"] == 72000
        assert r.tiers["subjective"]["ideology"] == "Moderate"
        assert r.tiers["descriptive"].startswith("Maria is")  # the label is stripped
        assert r.provenance["tiers"]["subjective"]["error"] is None
        assert r.provenance["tiers"]["descriptive"]["sample_id"] == f"{r.id}:descriptive"
    personas = tmp_path / "personas.jsonl"
    write_personas(personas, written)

    for tier in ("meta", "descriptive"):
        task = opinion_simulation(
            personas=str(personas), tier=tier, mode="reasoning", context="election_2024"
        )
        log = eval(
            task,
            model=scripted_model(voter if tier == "meta" else lambda m, c: "Answer: Z"),
            display="none",
            log_dir=str(tmp_path / "sim"),
        )[0]
        assert log.status == "success"
        metrics = {k: v.value for k, v in log.results.scores[0].metrics.items()}
        if tier == "meta":
            assert metrics["valid_rate"] == 1.0 and metrics["invalid_count"] == 0
            assert metrics["rep_two_party_share"] == pytest.approx(0.5)
            (report,) = results.reports([log.location])
            summary = report["questions"]["president_2024"]["election"]["summary"]
            assert summary["winners_agree"] == 2 and summary["n_states"] == 2
            truth = election_results(2024)
            expected = (
                truth["NY"].rep_two_party_share + (1 - truth["WY"].rep_two_party_share)
            ) / 2  # NY all D, WY all R
            assert summary["mean_abs_error"] == pytest.approx(expected)
            assert summary["sim_electoral_votes"] == {"REP": 3, "DEM": 28}
        else:
            assert metrics["valid_rate"] == 0.0 and metrics["invalid_count"] == 8
            assert "Maria" in log.samples[0].messages[0].text

    out = tmp_path / "report.json"
    assert main(["opinion", "metrics", str(tmp_path / "sim"), "--per-state", "--json", str(out)]) == 0
    reports = json.loads(out.read_text())
    assert {r["tier"] for r in reports} == {"meta", "descriptive"}


def test_table_that_never_validates_is_kept_as_null_and_refused_by_simulation(tmp_path):
    meta = tmp_path / "meta.jsonl"
    main(["personas", "sample", "--states", "WY", "--n", "2", "--out", str(meta)])
    written = generate_personas(
        read_personas(meta),
        ["objective"],
        scripted_model(lambda m, c: "{}"),
        str(tmp_path / "logs"),
        max_retries=1,
    )
    assert all(r.tiers["objective"] is None for r in written)
    assert all("no valid ObjectiveTable" in r.provenance["tiers"]["objective"]["error"] for r in written)
    path = tmp_path / "p.jsonl"
    write_personas(path, written)
    with pytest.raises(ValueError, match="lack the 'objective' tier"):
        opinion_simulation(personas=str(path), tier="objective")
    with pytest.raises(ValueError, match="lack the 'descriptive' tier"):
        opinion_simulation(personas=str(path), tier="descriptive")


def test_multi_turn_reads_peers_from_a_reasoning_log(tmp_path):
    def reasoner(messages, config):
        return "Reasoning: I weigh prices most.\nAnswer: A"

    first = eval(
        opinion_simulation(states="WY", n_per_state=3, mode="reasoning"),
        model=scripted_model(reasoner),
        display="none",
        log_dir=str(tmp_path),
    )[0]
    assert first.status == "success"
    seen = []

    def listener(messages, config):
        seen.append(messages[-1].text)
        return "Answer: B"

    task = opinion_simulation(
        states="WY", n_per_state=3, mode="multi_turn", peers_log=first.location, n_peers=5
    )
    log = eval(task, model=scripted_model(listener), display="none", log_dir=str(tmp_path))[0]
    assert log.status == "success"
    assert all(text.count("- I weigh prices most.") == 2 for text in seen)  # the 2 other personas, not self
    assert all(len(s.metadata["peers"]) == 2 for s in log.samples)
    first.status = "started"  # an interrupted run's reasoning: the rule of every log reader refuses it
    write_eval_log(first, first.location)
    with pytest.raises(ValueError, match=r"peers_log: .* did not complete \(status started\)"):
        opinion_simulation(states="WY", n_per_state=3, mode="multi_turn", peers_log=first.location)
    with pytest.raises(ValueError, match="needs peers_log"):
        opinion_simulation(states="WY", n_per_state=1, mode="multi_turn")
    with pytest.raises(ValueError, match="mode: expected one of fast, reasoning, multi_turn"):
        opinion_simulation(states="WY", n_per_state=1, mode="slow")
    with pytest.raises(ValueError, match="needs a personas file"):
        opinion_simulation(states="WY", tier="objective")
    with pytest.raises(ValueError, match="unknown state code"):
        opinion_simulation(states="NY,QQ")


def test_custom_topics_with_user_truth(tmp_path):
    def agreeable(messages, config):
        user = messages[-1].text
        for line in user.splitlines():
            if line.endswith(": Strongly agree") or line.endswith(": Very worried"):
                return f"Answer: {line[0]}"
        return "Answer: A"

    log = eval(
        opinion_simulation(context="custom", states="NY,TX", n_per_state=2),
        model=scripted_model(agreeable),
        display="none",
        log_dir=str(tmp_path),
    )[0]
    assert log.status == "success" and len(log.samples) == 4 * 12
    truth = tmp_path / "truth.json"
    # carbon tax: A = Strongly agree (ordinal 5) ... E = Strongly disagree (ordinal 1)
    truth.write_text(
        json.dumps(
            {
                "climate_carbon_tax": {
                    "US": {"A": 0.0, "B": 0.0, "C": 0.0, "D": 0.0, "E": 1.0},
                    "NY": {"A": 1.0},
                }
            }
        )
    )
    (report,) = results.reports([log.location], str(truth))
    align = report["questions"]["climate_carbon_tax"]["alignment"]
    assert align["NY"] == pytest.approx(1.0)  # everyone strongly agrees, as in the truth
    assert align["US"] == pytest.approx(0.0)  # opposite end of the scale
    assert main(["opinion", "metrics", log.location, "--truth", str(tmp_path / "nope.json")]) == 2
