"""Persona placement (`solvers/persona.py`): the text as a system message or in the user turn,
decided once for the model being evaluated and recorded; `system` on a chat template without a
system role is an error."""

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, get_model
from inspect_ai.solver import generate

from persona_evals.solvers.persona import persona_message, resolve_placement, show_persona
from persona_evals.testing import scripted_model

SYSTEM, QUESTION = "You are a pirate.", "What is the capital of France?"


def test_show_persona_places_the_text_as_system_or_before_the_user_turn():
    messages = [ChatMessageUser(content="What now?")]
    system = show_persona(messages, "You are a nurse.", "system")
    assert isinstance(system[0], ChatMessageSystem) and system[0].text == "You are a nurse."
    assert system[1].text == "What now?"
    user = show_persona(messages, "You are a nurse.", "user")
    assert len(user) == 1 and user[0].text == "You are a nurse.\n\nWhat now?"
    assert messages[0].text == "What now?"  # the input list is left alone
    with pytest.raises(ValueError, match="already has a system message"):
        show_persona(system, "You are a pilot.", "system")


def test_persona_message_fills_the_template_and_skips_samples_without_a_persona():
    seen = []

    def reply(messages, config):
        seen.append([(m.role, m.text) for m in messages])
        return "ok"

    samples = [
        Sample(id="a", input="Q1", metadata={"persona_sentence": "You are {a} pirate."}),
        Sample(id="b", input="Q2", metadata={"persona_sentence": None}),
    ]
    task = Task(dataset=samples, solver=[persona_message("user", template="{persona}\nRules {x}."), generate()])
    log = eval(task, model=scripted_model(reply), display="none", max_connections=1)[0]
    assert log.status == "success"
    assert sorted(seen) == [[("user", "Q2")], [("user", "You are {a} pirate.\nRules {x}.\n\nQ1")]]
    assert {s.store["persona_placement"] for s in log.samples} == {"user"}
    with pytest.raises(ValueError, match="must contain"):
        persona_message(template="no slot")
    with pytest.raises(ValueError, match="persona_placement must be one of"):
        persona_message("assistant")  # type: ignore[arg-type]


def _persona_eval(model_dir, placement):
    task = Task(
        dataset=[Sample(input=QUESTION, metadata={"persona_sentence": SYSTEM})],
        solver=[persona_message(placement), generate()],
    )
    return eval(task, model=get_model(f"steer/{model_dir}", memoize=False, dtype="float32"), max_tokens=2, display="none")[0]


def test_an_explicit_system_placement_on_a_template_without_one_is_an_error(tiny_no_system):
    log = _persona_eval(tiny_no_system, "system")
    assert log.status == "error"
    assert "persona_placement=system: the chat template of" in log.error.message
    assert "has no system role" in log.error.message
    log = _persona_eval(tiny_no_system, "auto")
    assert log.status == "success", log.error
    sample = log.samples[0]
    assert sample.store["persona_placement"] == "user"
    assert (sample.messages[0].role, sample.messages[0].text) == ("user", f"{SYSTEM}\n\n{QUESTION}")


def test_placement_for_api_models_goes_by_name():
    assert resolve_placement("auto", "google/gemma-2-9b-it") == "user"
    assert resolve_placement("auto", "openai/gpt-4o") == resolve_placement("system", "google/gemma-2-9b-it") == "system"
    with pytest.raises(ValueError, match="persona_placement must be one of system, user, auto"):
        resolve_placement("both", "openai/gpt-4o")
