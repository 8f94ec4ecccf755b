"""JSON-schema constrained decoding: inspect's ``response_schema`` honoured by the steer provider.

Judges, critics and persona writers ask for pydantic models through `generate_structured`, which
sets ``response_schema``. API providers enforce it server-side; here each decode step masks the
logits to the tokens the schema allows next (llguidance, the grammar engine transformers and
llama.cpp use), so even a small local model returns JSON that parses and validates. Rows stop
when their JSON value is complete.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import torch

_TOKENIZERS: dict[int, Any] = {}
_LOCK = threading.Lock()


class JsonConstraint:
    """One matcher per row of a batch, all for the same schema."""

    def __init__(self, tokenizer: Any, schema: str, rows: int) -> None:
        try:
            import llguidance
            import llguidance.torch as llt
        except ImportError as ex:  # pragma: no cover - llguidance is in the steering extra
            raise ValueError(
                "response_schema with the steer provider needs llguidance: pip install llguidance"
            ) from ex
        self._llt = llt
        lltok = _ll_tokenizer(tokenizer)
        grammar = llguidance.LLMatcher.grammar_from_json_schema(schema, defaults={"whitespace_flexible": False})
        error = llguidance.LLMatcher.validate_grammar(grammar, lltok)
        if error:
            raise ValueError(f"response_schema is not a JSON schema the steer provider can enforce: {error}")
        self.vocab = lltok.vocab_size
        self.matchers = [llguidance.LLMatcher(lltok, grammar) for _ in range(rows)]
        self.mask = llt.allocate_token_bitmask(rows, self.vocab)

    def restrict(self, logits: torch.Tensor, rows: list[int], done: list[bool]) -> None:
        """Mask ``logits`` (one line per entry of `rows`, original row numbers) in place."""
        mask = self.mask[: len(rows)]
        for j, (i, finished) in enumerate(zip(rows, done, strict=True)):
            if finished:
                mask[j].fill_(-1)  # a finished row only carries padding (monitors keep it in)
            else:
                self._llt.fill_next_token_bitmask(self.matchers[i], mask, j)
        width = min(self.vocab, logits.shape[-1])
        if logits.shape[-1] > width:
            logits[:, width:] = float("-inf")  # padded embedding rows are never tokens
        self._llt.apply_token_bitmask_inplace(logits[:, :width], mask.to(logits.device))

    def advance(self, row: int, token: int) -> bool:
        """Feed the chosen token; True when the row's JSON value is complete."""
        matcher = self.matchers[row]
        if not matcher.consume_token(token):
            raise RuntimeError(f"constrained decoding desynchronised: {matcher.get_error()}")
        return matcher.is_stopped()


def schema_text(response_schema: Any) -> str | None:
    """The JSON schema of an inspect ``ResponseSchema`` as canonical text (a batch key)."""
    if response_schema is None:
        return None
    schema = response_schema.json_schema.model_dump(exclude_none=True)
    return json.dumps(schema, sort_keys=True)


def _ll_tokenizer(tokenizer: Any) -> Any:
    import llguidance.hf

    with _LOCK:
        key = id(tokenizer)
        if key not in _TOKENIZERS:
            _TOKENIZERS[key] = llguidance.hf.from_tokenizer(tokenizer)
        return _TOKENIZERS[key]
