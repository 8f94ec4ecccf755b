import pytest
from pydantic import BaseModel, Field

from persona_evals.structured import StructuredOutputError, generate_structured
from persona_evals.testing import scripted_model


class Verdict(BaseModel):
    critique: str
    score: int = Field(ge=0, le=10)


async def test_reasks_after_invalid_reply_and_shows_the_error():
    seen = []

    def reply(messages, config):
        seen.append([m.text for m in messages])
        assert config.response_schema is not None and config.response_schema.name == "Verdict"
        return ["nonsense", '{"critique": "ok", "score": 11}', '{"critique": "ok", "score": 7}'][len(seen) - 1]

    verdict = await generate_structured(scripted_model(reply), "judge", Verdict, max_retries=2)
    assert verdict == Verdict(critique="ok", score=7)
    assert len(seen) == 3
    # the third attempt carries the validation error of the second (score out of range)
    assert any("less than or equal to 10" in text for text in seen[2])


async def test_gives_up_with_a_reason_naming_the_field():
    model = scripted_model(lambda m, c: '{"critique": "ok"}')
    with pytest.raises(StructuredOutputError) as info:
        await generate_structured(model, "judge", Verdict, max_retries=1)
    assert "score" in info.value.reason
    assert "<" not in info.value.reason  # instructor's XML wrapper is stripped
    assert info.value.last_text == '{"critique": "ok"}'
