"""Shared helpers of the test_cli_* tests: the command tree, small real logs, and broken log files."""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator
from pathlib import Path

from inspect_ai import eval

from persona_evals.cli import build_parser
from persona_evals.testing import scripted_model, scripted_output
from persona_evals.traits.task import trait_expression


def commands() -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(path, parser) of every leaf command, e.g. (("viz", "persona-loo"), parser)."""

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield path, parser
        for sub in subs:
            for name, child in sub.choices.items():
                yield from walk(child, (*path, name))

    yield from walk(build_parser(), ())


def _grader(value: float):
    """A judge whose 0-100 score is `value` (two tokens around it, equally likely)."""

    def reply(messages, config):
        return scripted_output("x", top_logprobs={str(int(value) - 1): math.log(0.5), str(int(value) + 1): math.log(0.5)})

    return scripted_model(reply)


def trait_log(log_dir: Path, instruction: str, score: float = 50) -> str:
    """A finished trait_expression log of a scripted (mockllm) model, two samples."""
    [log] = eval(
        trait_expression(trait="evil", instruction=instruction),
        model=scripted_model(lambda m, c: "an answer"),
        model_roles={"grader": _grader(score)},
        limit=2,
        log_dir=str(log_dir),
        display="none",
    )
    assert log.status == "success", log.error
    return log.location


def broken_logs(folder: Path, good: str) -> dict[str, Path]:
    """An empty, a garbage and a truncated copy of the log `good`, each as ``<kind>.eval``."""
    folder.mkdir(parents=True, exist_ok=True)
    data = Path(good).read_bytes()
    contents = {"empty": b"", "garbage": b"not a zip file at all", "truncated": data[: len(data) // 2]}
    out = {}
    for kind, content in contents.items():
        out[kind] = folder / f"{kind}.eval"
        out[kind].write_bytes(content)
    return out
