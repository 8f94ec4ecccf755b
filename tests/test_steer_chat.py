"""Chat rendering (`steering/chat.py`) for templates without a system role: an error, or a fold
the caller records, never a silent one; and where a persona goes for such a model."""

import asyncio

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig, get_model
from inspect_ai.solver import generate

from persona_evals.datasets.chats import Chat, ChatFileError
from persona_evals.solvers.persona import persona_message, resolve_placement
from persona_evals.steering.chat import NoSystemRoleError, render_prompt, render_turns, supports_system_role
from persona_evals.steering.loading import load_shared
from persona_evals.training.data import encode_chat

SYSTEM, QUESTION = "You are a pirate.", "What is the capital of France?"


def test_a_system_message_is_refused_or_folded_into_the_user_turn_only_when_asked(tiny_llama, tiny_no_system):
    plain, no_system = load_shared(tiny_llama).tokenizer, load_shared(tiny_no_system).tokenizer
    assert supports_system_role(plain) and not supports_system_role(no_system)
    turns = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    with pytest.raises(NoSystemRoleError, match="has no system role.*'You are a pirate.'"):
        render_turns(no_system, turns, add_generation_prompt=True)
    folded = render_turns(no_system, turns, add_generation_prompt=True, fold_system=True)
    as_user = render_turns(no_system, [{"role": "user", "content": f"{SYSTEM}\n\n{QUESTION}"}], True)
    assert folded == as_user  # what the user persona placement shows
    assert render_turns(plain, turns, True, fold_system=True) == render_turns(plain, turns, True)  # nothing to fold


def test_the_provider_records_a_system_message_it_folded(tiny_llama, tiny_no_system):
    config = GenerateConfig(temperature=0, max_tokens=4)
    messages = [ChatMessageSystem(content=SYSTEM), ChatMessageUser(content=QUESTION)]
    as_user = [ChatMessageUser(content=f"{SYSTEM}\n\n{QUESTION}")]
    model = get_model(f"steer/{tiny_no_system}", memoize=False, dtype="float32")
    folded = asyncio.run(model.generate(messages, config=config))
    shown = asyncio.run(model.generate(as_user, config=config))
    assert folded.metadata["system_folded"] is True and "system_folded" not in shown.metadata
    assert folded.completion == shown.completion  # the same prompt
    tok = model.api.shared.tokenizer
    assert render_prompt(tok, messages) == render_prompt(tok, as_user)
    kept = asyncio.run(get_model(f"steer/{tiny_llama}", memoize=False, dtype="float32").generate(messages, config=config))
    assert "system_folded" not in kept.metadata


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


def test_training_data_with_a_system_message_for_a_template_without_one_names_the_line(tiny_no_system):
    tok = load_shared(tiny_no_system).tokenizer
    turns = ({"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}, {"role": "assistant", "content": "Paris."})
    chat = Chat(line=7, messages=turns, record={"messages": list(turns)})
    with pytest.raises(ChatFileError, match="line 7: a system message, but the model's chat template has no system role"):
        encode_chat(tok, chat, max_len=256)
