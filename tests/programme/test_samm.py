"""SAMM v2 scoring against hand-computed examples, trends and gaps."""

from __future__ import annotations

import datetime as dt

import pytest

from iotmark.inputs import InputError
from iotmark.programme.samm import load_maturity_model, maturity_gaps, maturity_trends, score_answers
from iotmark.programme.workspace import load_workspace


def practice(scores, practice_id):
    return next(p for p in scores if p.practice == practice_id)


def test_model_has_5_functions_15_practices_2_streams_3_levels():
    model = load_maturity_model("samm-v2")
    assert [f.name for f in model.functions] == ["Governance", "Design", "Implementation", "Verification",
                                                  "Operations"]
    assert len(model.practices()) == 15
    assert all(len(p.streams) == 2 and sorted(q.level for q in s.questions) == [1, 2, 3]
               for _, p in model.practices() for s in p.streams)
    assert "G-SM-1-A" in model.question_ids() and len(model.question_ids()) == 90
    assert [a.value for a in model.answers] == [0, 0.25, 0.5, 1]


def test_partial_answers_score_as_the_toolbox_does():
    """Stream G-SM-A: 1 + 0.5 + 0.25 = 1.75. Stream G-SM-B: 0.5 + 0 + (unanswered) 0 = 0.5.
    G-SM = (1.75 + 0.5) / 2 = 1.125. G-PC unanswered = 0. G-EG: A = 1 (level 1 only), B = 1 -> (1 + 1) / 2 = 1.
    Governance = (1.125 + 0 + 1) / 3 = 0.70833 -> 0.7083. Overall = (1.125 + 1) / 15 = 0.141666 -> 0.1417."""
    answers = {"G-SM-1-A": 1, "G-SM-2-A": 0.5, "G-SM-3-A": 0.25, "G-SM-1-B": 0.5, "G-SM-2-B": 0,
               "G-EG-1-A": 1, "G-EG-1-B": 1}
    practices, functions, overall = score_answers(load_maturity_model("samm-v2"), answers)
    sm = practice(practices, "G-SM")
    assert [s.score for s in sm.streams] == [1.75, 0.5]
    assert sm.score == 1.125
    assert "G-SM-3-B" in sm.unanswered
    assert practice(practices, "G-EG").score == 1.0
    assert functions[0].function == "Governance" and functions[0].score == 0.7083
    assert functions[1].score == 0.0
    assert overall == 0.1417


def test_every_answer_most_or_all_scores_three_everywhere():
    """Each stream 1 + 1 + 1 = 3, each practice (3 + 3) / 2 = 3, overall 3."""
    model = load_maturity_model("iot-practices")
    practices, functions, overall = score_answers(model, {q: 1.0 for q in model.question_ids()})
    assert {p.score for p in practices} == {3.0} and overall == 3.0 and functions[0].score == 3.0


def test_levels_weigh_the_same_regardless_of_order():
    """Only level 3 at 'at least half' (0.5) in both streams of D-TA: (0.5 + 0.5) / 2 = 0.5."""
    practices, _, _ = score_answers(load_maturity_model("samm-v2"), {"D-TA-3-A": 0.5, "D-TA-3-B": 0.5})
    assert practice(practices, "D-TA").score == 0.5


def assessment(root, unit, date, answers):
    from yaml import safe_dump

    (root / "assessments").mkdir(exist_ok=True)
    document = {"unit": unit, "date": date, "answers": answers}
    (root / "assessments" / f"{unit}-{date}.yaml").write_text(safe_dump(document))


def test_trend_reports_change_between_the_last_two_assessments(small_workspace):
    """cam: G-SM 1-A = 1 -> stream A 1, B 0 -> 0.5; later 1-A = 1 and 1-B = 1 -> 1.0; change +0.5.
    overall 0.5/15 = 0.0333 then 1/15 = 0.0667 (rounded separately), change 0.0334."""
    assessment(small_workspace, "cam", "2026-01-01", {"G-SM-1-A": 1})
    assessment(small_workspace, "cam", "2026-07-01", {"G-SM-1-A": 1, "G-SM-1-B": 1})
    [trend] = maturity_trends(load_workspace(small_workspace), "samm-v2")
    assert [p.date for p in trend.points] == [dt.date(2026, 1, 1), dt.date(2026, 7, 1)]
    assert trend.change["G-SM"] == 0.5
    assert trend.change["G-PC"] == 0.0
    assert trend.change["overall"] == pytest.approx(0.0667 - 0.0333)


def test_gaps_name_practices_below_target_and_their_action_problems(small_workspace, write_yaml):
    org = (small_workspace / "organisation.yaml")
    text = org.read_text() + "maturity_targets: {default: 0, G-SM: 1.0, G-PC: 0.5}\n"
    org.write_text(text)
    assessment(small_workspace, "cam", "2026-01-01", {"G-SM-1-A": 1})  # G-SM 0.5 < 1.0, G-PC 0 < 0.5
    write_yaml(small_workspace / "actions.yaml", {"actions": [
        {"id": "A1", "unit": "cam", "practice": "G-SM-2-A", "title": "plan", "owner": "ann", "due": "2026-03-01"}]})
    gaps, actions = maturity_gaps(load_workspace(small_workspace), dt.date(2026, 4, 1))
    by_practice = {g.practice: g for g in gaps if g.unit == "cam"}
    assert set(by_practice) == {"G-SM", "G-PC"}
    assert by_practice["G-SM"].actions == ["A1"] and by_practice["G-SM"].problem == "corrective action overdue"
    assert by_practice["G-PC"].problem == "no open corrective action"
    assert actions[0].overdue is True


def test_an_answer_outside_the_four_values_is_one_line_naming_file_and_field(small_workspace):
    assessment(small_workspace, "cam", "2026-01-01", {"G-SM-1-A": 0.3})
    with pytest.raises(InputError) as err:
        load_workspace(small_workspace)
    message = str(err.value)
    assert "cam-2026-01-01.yaml" in message and "field answers" in message and "0, 0.25, 0.5, 1" in message
    assert "\n" not in message
