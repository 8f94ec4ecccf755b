"""A model's identity in a log: the base model plus everything that changes its answers.

``steer/smollm2`` steered with the evil vector is another model than ``steer/smollm2``, so every
analysis keys runs by `ModelIdentity.key` and shows `ModelIdentity.label`
(``steer/smollm2 + evil@L20×1.5``). Both come from the model name and the model args the log
records (``eval.model_args``), or that a live `Model` was made with, so a solver can compare its
own model with a log's (the refine mitigation's baseline check).

Model args are read generically: every arg is part of the identity except the ones that only say
how or where a model runs, or what is observed while it runs (`RUN_ARGS`). An arg this module does
not know (an adapter, an ablation, a coefficient mode) therefore separates runs rather than merging
them. ``vector``/``layer``/``coef`` are zipped into steering terms the way the ``steer`` provider
does (a list of one broadcasts; ``coef`` defaults to 1.0, ``positions`` to ``response``); any other
``NAME`` with a ``NAME_layer`` (``ablate``) is zipped into ``NAME:stem@L`` terms.

Vector files are identified by the path the run was given (normalised), not by their content: the
same file named two ways counts as two models, never the reverse.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from persona_evals.ids import content_hash
from persona_evals.logs import LogError, read_task_log
from persona_evals.steering_args import (
    DEFAULT_COEF,
    DEFAULT_POSITIONS,
    STEER_ARGS,
    VLLM_ARG_PREFIX,
    normal_keys,
    terms_from_args,
)

RUN_ARGS = frozenset(
    {
        "allow_other_model", "batch_size", "compile", "custom_outputs", "device", "device_map", "dtype", "engine",
        "monitor", "monitor_layer", "server", "signature",
    }
)
"""Model args that never change what a model answers (execution, observation, mockllm scripts), and
``signature``, the content hash the `steer` provider adds to its args for inspect's reruns (files
are identified here by the path a run was given). So are vLLM's own engine arguments
(``vllm_<name>``, see `is_run_arg`): a steered run on vLLM and on the HF engine is one model."""


@dataclass(frozen=True, order=True)
class Term:
    """One steering term: ``coef · vector`` added after block `layer`."""

    vector: str
    key: str | None
    layer: int
    coef: float

    @property
    def name(self) -> str:
        """The vector's short name: file stem, plus ``#tensor`` when one was picked."""
        return vector_name(self.vector, self.key)

    @property
    def label(self) -> str:
        return f"{self.name}@L{self.layer}×{self.coef:g}"


@dataclass(frozen=True)
class ModelIdentity:
    """A model name, its steering terms, and every other identity arg (canonical JSON values)."""

    model: str
    terms: tuple[Term, ...] = ()
    other: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """Equal for two runs exactly when they ran the same model with the same steering."""
        return json.dumps(
            {"model": self.model, "terms": [list(_term_key(t)) for t in sorted(self.terms)], "other": {k: json.loads(v) for k, v in self.other}},
            sort_keys=True,
        )

    @property
    def label(self) -> str:
        parts = [t.label for t in self.terms] + [
            _other_label(k, json.loads(v)) for k, v in self.other if (k, json.loads(v)) != ("positions", DEFAULT_POSITIONS)
        ]
        return " + ".join([self.model, *parts])

    @property
    def base(self) -> ModelIdentity:
        """The same model without its vector terms: what a coefficient sweep holds fixed."""
        return replace(self, terms=(), other=tuple(kv for kv in self.other if kv[0] != "positions"))

    @property
    def steered(self) -> bool:
        return bool(self.terms)


def model_identity(model: str, model_args: Mapping[str, Any] | None = None) -> ModelIdentity:
    """The identity of `model` run with `model_args` (a log's ``eval.model_args`` or `-M` args).

    Raises:
        ValueError: a steering arg that is not what the provider accepts (names the arg).
    """
    args = {k: v for k, v in normal_keys(model_args or {}).items() if not is_run_arg(k)}
    terms = _terms(args, *STEER_ARGS)
    for name in STEER_ARGS:
        args.pop(name, None)
    positions = args.pop("positions", None)
    other: dict[str, Any] = {}
    if terms:  # positions mean nothing without a vector
        other["positions"] = str(positions or DEFAULT_POSITIONS)
    for name in sorted(k for k in args if f"{k}_layer" in args):  # ablate, and any NAME with NAME_layer
        other[name] = [[t.vector, t.key, t.layer] for t in _terms(args, name, f"{name}_layer", None)]
        args.pop(name), args.pop(f"{name}_layer")
    for name, value in args.items():
        other[name] = normal_path(value) if name == "adapter" and isinstance(value, str) else value
    canonical = tuple(sorted((k, json.dumps(v, sort_keys=True, default=str)) for k, v in other.items()))
    return ModelIdentity(model=str(model), terms=tuple(terms), other=canonical)


def is_run_arg(name: str) -> bool:
    """Whether a model arg says only how or where a model runs (`RUN_ARGS`, ``vllm_<name>``)."""
    return name in RUN_ARGS or name.startswith(VLLM_ARG_PREFIX)


def log_identity(log: Any) -> ModelIdentity:
    """`model_identity` of an `EvalLog` (errors name the log)."""
    try:
        return model_identity(log.eval.model, log.eval.model_args)
    except ValueError as ex:
        raise LogError(f"{log.location}: {ex}") from None


def unique_labels(identities: Iterable[ModelIdentity]) -> dict[str, str]:
    """key -> label, with a short hash of the key added to labels that two identities share."""
    by_label: dict[str, set[str]] = {}
    for ident in identities:
        by_label.setdefault(ident.label, set()).add(ident.key)
    out: dict[str, str] = {}
    for label, keys in by_label.items():
        for key in keys:
            out[key] = label if len(keys) == 1 else f"{label} [{content_hash(key, length=6)}]"
    return out


def labels_by_log(paths: Sequence[str]) -> dict[str, tuple[ModelIdentity, str]]:
    """path -> (identity, unique label) for each log (headers only: cheap)."""
    idents = {p: log_identity(read_task_log(p, header_only=True)) for p in paths}
    labels = unique_labels(idents.values())
    return {p: (ident, labels[ident.key]) for p, ident in idents.items()}


def vector_name(path: str, key: str | None = None) -> str:
    return Path(path).stem + (f"#{key}" if key else "")


def _terms(args: Mapping[str, Any], vec_key: str, layer_key: str, coef_key: str | None) -> list[Term]:
    """The terms as the provider parses them (`steering_args`), paths as the identity records them."""
    default = DEFAULT_COEF if coef_key else 0.0
    return [
        Term(vector=normal_path(t.path), key=t.key, layer=t.layer, coef=t.coef)
        for t in terms_from_args(args, vec_key, layer_key, coef_key, default_coef=default)
    ]


def normal_path(path: str) -> str:
    """A vector or adapter path as the identity records it (so `~/v` and `./v` match `v`)."""
    return os.path.normpath(os.path.expanduser(path))


def _term_key(term: Term) -> tuple[str, str, int, float]:
    return (term.vector, term.key or "", term.layer, term.coef)


def _other_label(name: str, value: Any) -> str:
    if name == "adapter" and isinstance(value, str):
        parts = Path(value).parts
        short = "/".join(parts[-2:]) if parts and parts[-1].startswith("checkpoint") else Path(value).name
        return f"adapter:{short}"
    if isinstance(value, list) and value and all(isinstance(v, list) and len(v) == 3 for v in value):
        return " + ".join(f"{name}:{vector_name(v, k)}@L{layer}" for v, k, layer in value)
    return f"{name}={value}"
