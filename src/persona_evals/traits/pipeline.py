"""The trait pipelines that run evals: a new trait's artifacts drafted by a model, and finetuning
chats written at three trait levels.

Each runs its registered task as a logged inspect eval and returns what the log holds; the
`persona-evals traits draft` and `persona-evals finetune-data` commands write and report it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from persona_evals.traits.artifact import TraitArtifact
from persona_evals.traits.draft import draft_from_log, trait_draft
from persona_evals.traits.finetune_data import levels_from_log, levels_task


def draft_trait_artifacts(
    name: str, description: str, model: Any, log_dir: str | Path = "logs", max_retries: int = 2
) -> tuple[TraitArtifact, TraitArtifact]:
    """The (extract, eval) artifacts a model drafts for a trait (the trait_draft task, logged in `log_dir`)."""
    from inspect_ai import eval

    log = eval(trait_draft(name, description, max_retries), model=model, log_dir=str(log_dir), display="none")[0]
    return draft_from_log(log)


def generate_levels(
    trait: str, description: str, questions: list[str], model: Any, log_dir: str | Path = "logs", max_retries: int = 2
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """({level: chat records}, [failures]) a model writes for `questions` (logged in `log_dir`)."""
    from inspect_ai import eval

    log = eval(levels_task(trait, description, questions, max_retries), model=model, log_dir=str(log_dir), display="none")[0]
    return levels_from_log(log, trait)
