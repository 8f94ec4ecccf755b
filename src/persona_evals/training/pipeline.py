"""Training pipelines that run evals: the base model's own answers to a chat file's prompts.

Each runs a logged inspect eval through the `steer` provider and returns what it produced.
"""

from __future__ import annotations

from pathlib import Path

from persona_evals.datasets.chats import Chat
from persona_evals.training.screen import chat_rows


def base_answers(
    model: str, chats: list[Chat], max_tokens: int, temperature: float, log_dir: str | Path, dtype: str = "auto"
) -> tuple[list[str], str]:
    """The base model's own answers to each chat's prompt, from a logged eval through `steer`."""
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.solver import generate

    rows = chat_rows(chats)
    task = Task(dataset=[Sample(id=i, input=r[2]) for i, r in enumerate(rows)], solver=generate(), name="base_answers")
    log = eval(task, model=f"steer/{model}", model_args={"dtype": dtype} if dtype != "auto" else {},
               max_tokens=max_tokens, temperature=temperature, log_dir=str(log_dir), display="none")[0]
    if log.status != "success" or not log.samples:
        raise RuntimeError(f"generating the base model's answers failed; log: {log.location}")
    by_id = {int(s.id): s.output.completion for s in log.samples}
    return [by_id[i] for i in range(len(chats))], log.location
