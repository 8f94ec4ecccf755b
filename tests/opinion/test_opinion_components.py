"""Units of the opinion benchmark: parser, question files, persona files, shuffles, alignment, truth."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from inspect_ai.scorer import SampleScore, Score

from persona_evals.opinion.alignment import (
    Tally,
    election_alignment,
    nominal_alignment,
    ordinal_alignment,
)
from persona_evals.opinion.dataset import opinion_samples, option_order
from persona_evals.opinion.elections import election_results
from persona_evals.opinion.parsing import extract_reasoning, parse_answer
from persona_evals.opinion.questions import (
    SHIPPED_CONTEXTS,
    QuestionFileError,
    load_context,
    parse_context,
)
from persona_evals.opinion.records import PersonaFileError, PersonaRecord, read_personas
from persona_evals.opinion.scorer import rep_two_party_share, valid_rate
from persona_evals.opinion.solver import pick_peers
from persona_evals.stats.intervals import wilson_interval

SHOWN = {"A": "Kamala Harris", "B": "Donald Trump"}


@pytest.mark.parametrize(
    "text,letter,method",
    [
        ("Answer: B", "B", "answer_line"),
        ("**Answer:** B", "B", "answer_line"),
        ("Answer: (A)", "A", "answer_line"),
        ("Reasoning: taxes.\nanswer: a", "A", "answer_line"),
        ("B", "B", "bare_letter"),
        ("(A).", "A", "bare_letter"),
        ("A: Kamala Harris", "A", "bare_letter"),
        ("I would vote for Donald Trump this time.", "B", "option_text"),
        ("Answer: C", None, "invalid"),  # a letter that was not shown
        ("Kamala Harris or Donald Trump, hard to say", None, "invalid"),
        ("A lot depends on the economy.", None, "invalid"),  # 'A' as an article is not an answer
    ],
)
def test_parse_answer(text, letter, method):
    assert parse_answer(text, SHOWN) == (letter, method)


def test_option_text_prefers_the_longer_matching_option():
    shown = {"A": "Agree", "B": "Strongly agree", "C": "Disagree"}
    assert parse_answer("I strongly agree with that.", shown) == ("B", "option_text")


def test_extract_reasoning():
    assert extract_reasoning("Reasoning: Prices went up.\nAnswer: A") == "Prices went up."
    assert extract_reasoning("I care about jobs.\nAnswer: B") == "I care about jobs."


def _topic(**over):
    item = {
        "question_id": "q1", "topic": "Topic",
        "candidates": {"A": {"stance": "Yes"}, "B": {"stance": "No"}},
    }  # fmt: skip
    item.update(over)
    return item


def test_shipped_contexts_load():
    for name in SHIPPED_CONTEXTS:
        assert load_context(name)
    for year in (2016, 2020, 2024):
        (q,) = load_context(f"election_{year}")
        assert q.year == year and sorted(o.party for o in q.candidates.values()) == ["DEM", "REP"]
    custom = load_context("custom")
    assert len(custom) >= 10 and any(q.scale == "ordinal" for q in custom)


def test_duplicate_option_letters_rejected():
    text = '{"t1": {"question_id": "q1", "topic": "T", "candidates": {"A": {"stance": "x"}, "A": {"stance": "y"}}}}'
    with pytest.raises(QuestionFileError, match=r"my.json: duplicate key\(s\) \['A'\]"):
        parse_context(text, "my.json")


@pytest.mark.parametrize(
    "item,message",
    [
        (
            _topic(candidates={"A": {"party": "DEM"}, "B": {"stance": "No"}}),
            r"topic 't1': candidates.A.stance: Field required",
        ),
        (_topic(candidates={"A": {"stance": "Yes"}}), "at least 2 options"),
        (_topic(candidates={"a": {"stance": "Yes"}, "B": {"stance": "No"}}), "single capitals"),
        (_topic(scale="ordinal"), "needs an 'ordinal' value"),
        (_topic(kind="election", year=2012), "year in"),
        (_topic(kind="election", year=2020), "party DEM"),
        (_topic(colour="red"), "colour: Extra inputs"),
    ],
)
def test_question_schema_errors(item, message):
    with pytest.raises(QuestionFileError, match=message):
        parse_context(json.dumps({"t1": item}), "f.json")


def test_duplicate_question_ids_and_unknown_context(tmp_path):
    with pytest.raises(QuestionFileError, match="duplicate question_id"):
        parse_context(json.dumps({"t1": _topic(), "t2": _topic()}))
    with pytest.raises(QuestionFileError, match="election_2016, election_2020"):
        load_context("election_2012")
    assert load_context(2020)[0].year == 2020 and load_context("2016")[0].year == 2016
    with pytest.raises(
        ValueError, match=r"year: no election data for 2012; expected one of \(2016, 2020, 2024\)"
    ):
        load_context(2012)
    user = tmp_path / "mine.json"
    user.write_text(json.dumps({"t1": _topic()}))
    assert load_context(str(user))[0].question_id == "q1"


def test_persona_file_errors_carry_line_numbers(tmp_path):
    good = PersonaRecord(id="NY-1", state="NY", meta={"state": "NY", "age": 30}).model_dump_json()
    path = tmp_path / "p.jsonl"
    path.write_text(good + "\n" + '{"id": "NY-2", "state": "NY"}\n')
    with pytest.raises(PersonaFileError, match=r"p.jsonl:2: meta: Field required"):
        read_personas(path)
    path.write_text(good + "\n\n{not json\n")
    with pytest.raises(PersonaFileError, match=r"p.jsonl:3: not valid JSON"):
        read_personas(path)
    path.write_text(good + "\n" + good + "\n")
    with pytest.raises(PersonaFileError, match=r":2: duplicate persona id 'NY-1' \(first on line 1\)"):
        read_personas(path)
    with pytest.raises(PersonaFileError, match="does not exist"):
        read_personas(tmp_path / "missing.jsonl")


def test_option_order_is_seeded_per_sample_and_recorded():
    (q,) = load_context("election_2024")
    orders = [option_order(q, f"NY-{i}", seed=0) for i in range(40)]
    assert orders == [option_order(q, f"NY-{i}", seed=0) for i in range(40)]
    firsts = Counter(o["A"] for o in orders)
    assert set(firsts) == {"A", "B"}  # both candidates appear first
    rec = PersonaRecord(id="NY-1", state="NY", meta={"state": "NY", "age": 30})
    (sample,) = opinion_samples([rec], [q], "meta", seed=0)
    md = sample.metadata
    for shown_letter, key in md["order"].items():
        assert md["shown"][shown_letter] == q.candidates[key].stance
        assert f"{shown_letter}: {q.candidates[key].stance}" in sample.input


def test_tier_errors():
    rec = PersonaRecord(id="NY-1", state="NY", meta={"state": "NY"})
    with pytest.raises(ValueError, match="tier: expected one of meta, objective"):
        opinion_samples([rec], load_context("custom"), "vivid")
    with pytest.raises(PersonaFileError, match="lack the 'subjective' tier"):
        opinion_samples([rec], load_context("custom"), "subjective")


def test_ordinal_and_nominal_alignment():
    ords = {"A": 1, "B": 2, "C": 3, "R": None}
    ords = {k: v for k, v in ords.items() if v is not None}
    assert ordinal_alignment({"A": 0.5, "C": 0.5}, {"A": 0.5, "C": 0.5}, ords) == pytest.approx(1.0)
    assert ordinal_alignment({"A": 1.0}, {"C": 1.0}, ords) == pytest.approx(0.0)
    # refusal mass is dropped and the rest renormalised
    assert ordinal_alignment({"A": 0.4, "B": 0.4, "R": 0.2}, {"A": 0.5, "B": 0.5}, ords) == pytest.approx(1.0)
    # two options: 1 - |pA - pA'|
    assert ordinal_alignment({"A": 0.7, "B": 0.3}, {"A": 0.4, "B": 0.6}, {"A": 1, "B": 2}) == pytest.approx(
        0.7
    )
    assert nominal_alignment({"X": 0.6, "Y": 0.4}, {"X": 0.3, "Y": 0.7}, ["X", "Y"]) == pytest.approx(0.7)


def test_election_results_and_electoral_votes():
    for year, (rep, dem) in {2016: (305, 233), 2020: (232, 306), 2024: (312, 226)}.items():
        res = election_results(year)
        assert len(res) == 51
        ev = Counter()
        for r in res.values():
            ev[r.winner] += r.electoral_votes
        assert (ev["REP"], ev["DEM"]) == (rep, dem)  # the totals the data README validates
    states_won = Counter(r.winner for s, r in election_results(2020).items() if s not in ("AK", "HI", "DC"))
    assert states_won == {"REP": 24, "DEM": 24}
    with pytest.raises(ValueError, match=r"year: no election results for 2012"):
        election_results(2012)


def test_election_alignment_weights_and_winners():
    parties = {"A": "REP", "B": "DEM"}
    tallies = {"NY": Tally(Counter({"A": 1, "B": 3}), invalid=2), "WY": Tally(Counter({"A": 3, "B": 1}))}
    adults = {"NY": 300.0, "WY": 100.0}
    rep = election_alignment(tallies, parties, 2024, adults)
    s = rep["summary"]
    assert s["winners_agree"] == 2 and s["invalid_rate"] == pytest.approx(2 / 10)
    assert s["national_sim_rep_share_population"] == pytest.approx((0.25 * 300 + 0.75 * 100) / 400)
    ny = election_results(2024)["NY"]
    assert rep["states"][0]["error"] == pytest.approx(0.25 - ny.rep_two_party_share)
    lo, hi = rep["states"][0]["sim_rep_share_ci95"]
    assert lo < 0.25 < hi and hi - lo > 0.4  # four answers say little
    assert wilson_interval(500, 1000)[1] - wilson_interval(500, 1000)[0] == pytest.approx(0.062, abs=0.002)
    # a state with no valid two-party answer is reported, not scored
    tallies["WY"] = Tally(Counter(), invalid=4)
    assert election_alignment(tallies, parties, 2024, adults)["summary"]["states_without_answers"] == ["WY"]


def test_scorer_metrics_exclude_invalid():
    def s(answer, party=None):
        return SampleScore(score=Score(value=1 if answer else 0, answer=answer, metadata={"party": party}))

    scores = [s("A", "REP"), s("B", "DEM"), s("B", "DEM"), s(None)]
    assert valid_rate()(scores) == pytest.approx(0.75)
    assert rep_two_party_share()(scores) == pytest.approx(1 / 3)


def test_pick_peers_excludes_self_and_is_seeded():
    index = {("NY", "q"): [(f"p{i}", f"reason {i}") for i in range(10)]}
    a = pick_peers(index, "NY", "q", "p3", 5, seed=1)
    assert len(a) == 5 and "reason 3" not in a
    assert a == pick_peers(index, "NY", "q", "p3", 5, seed=1)
    assert pick_peers(index, "WY", "q", "p3", 5, seed=1) == []


def test_cli_bad_input_is_reported_with_exit_code_2(tmp_path, capsys):
    from persona_evals.cli import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "state": "NY", "meta": {}}\n{"id": "y"}\n')
    assert (
        main(
            ["personas", "generate", str(bad), "--model", "mockllm/model", "--out", str(tmp_path / "o.jsonl")]
        )
        == 2
    )
    assert "bad.jsonl:2: state: Field required" in capsys.readouterr().err
    assert main(["personas", "sample", "--states", "NY,PR", "--out", str(tmp_path / "m.jsonl")]) == 2
    assert "unknown state code(s) PR" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # refused while parsing
        main(["personas", "sample", "--states", "NY", "--n", "0", "--out", str(tmp_path / "m.jsonl")])
    assert "argument --n: expected a whole number from 1 to 10,000" in capsys.readouterr().err
    assert main(["opinion", "metrics", str(tmp_path / "none")]) == 2


def test_table_tiers_render_as_key_value_blocks():
    rec = PersonaRecord(
        id="NY-1",
        state="NY",
        meta={"state": "NY", "age": 30},
        tiers={
            "subjective": {"ideology": "Moderate", "big_five_scores": {"openness": "High"}},
            "descriptive": "Text.",
        },
    )
    assert rec.render("meta") == "state: NY\nage: 30"
    assert rec.render("subjective") == "ideology: Moderate\nbig five scores: openness High"
    assert rec.render("descriptive") == "Text."
    with pytest.raises(KeyError, match="no 'objective' tier"):
        rec.render("objective")


def test_generation_and_calibration_argument_errors():
    from persona_evals.opinion.pipeline import calibrate_personas
    from persona_evals.opinion.generation import generation_samples
    from persona_evals.opinion.tiers import clean_descriptive

    rec = PersonaRecord(id="NY-1", state="NY", meta={"state": "NY"})
    with pytest.raises(ValueError, match="tiers: expected some of objective, subjective, descriptive"):
        generation_samples([rec], ["meta"])
    with pytest.raises(ValueError, match="max_rounds"):
        calibrate_personas([rec], "mockllm/model", "logs", max_rounds=-1)
    (s,) = generation_samples([rec], ["descriptive"])
    assert s.id == "NY-1:descriptive" and "state: NY" in s.input[-1].text
    assert clean_descriptive("Persona:  Ann, 40.") == "Ann, 40."


def test_calibration_drops_stale_tiers_visibly():
    from persona_evals.opinion.calibration import merge_calibration
    from persona_evals.personas.persona import Persona

    rec = PersonaRecord(
        id="NY-1", state="NY", meta={"state": "NY", "age": 30}, tiers={"descriptive": "Old text."}
    )
    final = Persona(id="NY-1", attributes={"state": "NY", "age": 30, "education": "x"})
    out = merge_calibration(rec, final, True, 1, [], "mockllm/model", ["round0.eval", "round1.eval"])
    assert out.tiers == {} and out.provenance["calibration"]["tiers_dropped"] == ["descriptive"]
    assert out.provenance["calibration"]["logs"] == ["round0.eval", "round1.eval"]
    assert out.calibration.original_meta == {"state": "NY", "age": 30} and out.calibration.accepted


def _people(*educations: str):
    from persona_evals.personas.persona import Persona

    return [Persona(id=f"NY-{i}", attributes={"state": "NY", "age": 40, "education": e}) for i, e in enumerate(educations)]


def test_value_budget_counts_takes_with_a_floor_and_weighs_by_what_is_left():
    from persona_evals.opinion.calibration import ValueBudget

    a1, a2, b = _people("A", "A", "B")
    budget = ValueBudget([a1, a2, b], attributes=("education",))
    assert budget.initial == {("NY", "education"): Counter({"A": 2, "B": 1})}
    assert budget.weight(a1) == 1.0 and budget.weight(b) == 1.0
    budget.take(a1)
    assert budget.weight(a2) == pytest.approx(1 / 2)  # one of A's two units used
    budget.take(a2)
    budget.take(b)
    assert budget.remaining[("NY", "education")] == Counter({"A": 1, "B": 1})  # never below 1
    (c,) = _people("C")
    assert budget.weight(c) == 0.0  # a value no input persona had has no budget, as in the anchor


def test_budgeted_redraw_picks_candidates_in_proportion_to_their_weight():
    import numpy as np

    from persona_evals.opinion.calibration import ValueBudget

    a, b, c = _people("A", "B", "C")
    budget = ValueBudget(_people("A", "A", "B"), attributes=("education",))
    budget.take(a)  # weights: A 1/2, B 1, C 0 -> picks 1/3, 2/3, 0

    class Candidates:  # a sampler whose redraws are always these three
        def redraw_non_anchor(self, persona, rng, n):
            return [a, b, c]

    picks = Counter(budget.redraw(a, Candidates(), np.random.default_rng(k))["education"] for k in range(3000))
    assert picks["C"] == 0
    assert picks["A"] / 3000 == pytest.approx(1 / 3, abs=4 * (2 / 9 / 3000) ** 0.5)
    none_left = ValueBudget(_people("Z"), attributes=("education",))  # every candidate weighs 0
    uniform = Counter(none_left.redraw(a, Candidates(), np.random.default_rng(k))["education"] for k in range(3000))
    assert all(abs(uniform[v] / 3000 - 1 / 3) < 0.04 for v in "ABC")


def test_a_scope_of_refusals_is_an_error_row_not_an_aborted_report():
    from persona_evals.opinion.alignment import Tally
    from persona_evals.opinion.results import SimulationRun, run_report

    options = {
        "A": {"stance": "Agree", "ordinal": 1},
        "B": {"stance": "Disagree", "ordinal": 2},
        "R": {"stance": "Refused", "refusal": True},
    }
    run = SimulationRun(path="x.eval", model="m", tier="meta", mode="fast", context="custom")
    run.questions["q1"] = {"kind": "survey", "year": None, "scale": "ordinal", "category": "c", "options": options}
    run.tallies["q1"] = {
        "NY": Tally(Counter({"R": 3})),  # every valid answer is a refusal
        "TX": Tally(Counter({"A": 1, "B": 3})),
        "CA": Tally(Counter({"A": 2})),
    }
    truth = {"q1": {"NY": {"A": 0.5, "B": 0.5}, "TX": {"A": 0.25, "B": 0.75}, "CA": {"R": 1.0}, "US": {"A": 1.0}}}
    entry = run_report(run, truth)["questions"]["q1"]
    assert entry["alignment"]["TX"] == pytest.approx(1.0) and set(entry["alignment"]) == {"TX", "US"}
    assert entry["alignment_errors"] == {
        "NY": "question q1, state NY: simulated answers: every valid answer is a refusal option (R)",
        "CA": "question q1, state CA: ground truth: every valid answer is a refusal option (R)",
    }


def test_the_budget_keeps_a_marginal_that_the_verifier_rejects_once():
    """A verifier that rejects every persona with the commonest education in round 0 and accepts
    everything after: plain redraws bring that value back only at its conditional rate, budgeted
    redraws restore the input share (its budget is untouched while the others' is used up)."""
    import numpy as np

    from persona_evals.opinion.calibration import ValueBudget
    from persona_evals.personas.census import CensusSampler

    sampler = CensusSampler()
    people = sampler.sample("NY", 300, seed=0)
    counts = Counter(p["education"] for p in people)
    target, n_target = counts.most_common(1)[0]
    budget = ValueBudget(people)
    for p in people:
        if p["education"] != target:
            budget.take(p)
    rejected = [(i, p) for i, p in enumerate(people) if p["education"] == target]
    plain = [sampler.redraw_non_anchor(p, np.random.default_rng(i), 1)[0] for i, p in rejected]
    budgeted = [budget.redraw(p, sampler, np.random.default_rng(i)) for i, p in rejected]
    share = n_target / len(people)
    plain_share = sum(p["education"] == target for p in plain) / len(people)
    budget_share = sum(p["education"] == target for p in budgeted) / len(people)
    assert plain_share < 0.5 * share  # the drift the anchor's budget exists to prevent
    assert budget_share == pytest.approx(share, rel=0.25)
    for (_, before), after in zip(rejected, budgeted, strict=True):  # anchors stay
        assert all(after[a] == before[a] for a in ("state", "age", "sex", "race", "hispanic_origin"))
