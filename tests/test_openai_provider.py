"""The README's API judges (`--model-role grader=openai/...`) must load in the dev environment.

inspect's OpenAI provider refuses openai<3.4.0 at model creation; pip alone would install 3.3.x
beside instructor (see overrides.txt). Creating the model makes no request, so this stays offline.
"""

from inspect_ai.model import get_model


def test_openai_models_load(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-not-used")
    model = get_model("openai/gpt-4o-mini")
    assert model.name == "gpt-4o-mini"
