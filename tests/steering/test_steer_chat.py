"""Chat rendering (`steering/chat.py`) for templates without a system role: an error, or a fold
the caller records (the `steer` provider, in its output), never a silent one."""

import asyncio

import pytest
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig, get_model

from persona_evals.steering.chat import NoSystemRoleError, render_prompt, render_turns, supports_system_role
from persona_evals.steering.loading import load_shared

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
