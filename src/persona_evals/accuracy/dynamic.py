"""Dynamic experts: three expert personas per item, from broad to niche, written by an LLM.

The writer is the ``persona_writer`` model role (bound with ``--model-role persona_writer=...``),
asked for a validated `ExpertLevels` through `generate_structured`. Results are cached in a JSON
file keyed by item id (``{item_id: {level1, level2, level3}}``), so a cache written once (the
paper used one writer for all models) is reused across models and runs, and a reordered or
filtered dataset can never pick up another item's experts.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from inspect_ai.model import get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver
from pydantic import BaseModel, Field, ValidationError

from persona_evals.env import cache_dir
from persona_evals.paths import read_json, user_path, write_text_atomic
from persona_evals.structured import generate_structured

WRITER_ROLE = "persona_writer"


class ExpertLevels(BaseModel):
    """Three second-person expert descriptions, each more specialised than the one before."""

    level1: str = Field(description="a broad expert, e.g. 'You are a biologist.'")
    level2: str = Field(description="a more focused expert, e.g. 'You are a zoologist.'")
    level3: str = Field(
        description="a niche expert, e.g. 'You are a specialist in elephant behaviour.'"
    )


def default_cache_path() -> Path:
    """Where dynamic experts are cached unless ``experts_cache`` says otherwise (ids are global)."""
    return cache_dir() / "dynamic_experts.json"


class ExpertCache:
    """A JSON file of item id -> ExpertLevels, rewritten atomically after each new item."""

    def __init__(self, path: str | Path) -> None:
        self.path = user_path(path)
        self.entries: dict[str, ExpertLevels] = {}
        if self.path.exists():
            self.entries = _parse_cache(read_json(self.path, "experts_cache"), self.path)
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, item_id: str) -> asyncio.Lock:
        return self._locks.setdefault(item_id, asyncio.Lock())

    def put(self, item_id: str, levels: ExpertLevels) -> None:
        self.entries[item_id] = levels
        text = json.dumps({k: v.model_dump() for k, v in sorted(self.entries.items())}, indent=1)
        write_text_atomic(self.path, text, overwrite=True)  # the cache is ours to update


def _parse_cache(raw: object, path: Path) -> dict[str, ExpertLevels]:
    """Entries of a parsed cache file; an error names the file and the first bad item id."""
    if not isinstance(raw, dict):
        raise ValueError(
            f"experts_cache: {path} must be a JSON object of item id -> {{level1, level2, level3}}, "
            f"got {type(raw).__name__}"
        )
    entries = {}
    for item_id, levels in raw.items():
        try:
            entries[item_id] = ExpertLevels.model_validate(levels)
        except ValidationError as ex:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in ex.errors())
            raise ValueError(f"experts_cache: {path}, item {item_id!r}: {problems}") from None
    return entries


@solver
def dynamic_experts(cache_path: str | Path) -> Solver:
    """Fill in the persona sentence of ``dynamic:levelN`` samples from the cache or the writer.

    Args:
        cache_path: the JSON cache file (created when missing).
    """
    cache = ExpertCache(cache_path)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        if state.metadata.get("persona_group") != "dynamic":
            return state
        item = str(state.metadata["item_id"])
        async with cache.lock(item):
            if item not in cache.entries:
                writer = get_model(role=WRITER_ROLE, required=True)
                prompt = EXPERT_PROMPT.format(question=state.input_text)
                cache.put(item, await generate_structured(writer, prompt, ExpertLevels))
        level = str(state.metadata["persona_id"]).partition(":")[2]
        text = getattr(cache.entries[item], level).strip()
        state.metadata["persona_sentence"] = text if text.endswith((".", "!")) else text + "."
        state.store.set("persona_sentence", state.metadata["persona_sentence"])
        return state

    return solve


EXPERT_PROMPT = """Read the task below and decide which expertise answering it well calls for.
Describe three experts who have that expertise, each one addressed as "You are ...". Make the
first broad (a whole discipline), the second narrower (a sub-field), and the third the most
specialised you can justify for this exact task. For instance, a question on how elephants
communicate could get: a biologist; a zoologist; a researcher of elephant communication.
Do not answer the task.

Task:
{question}"""
