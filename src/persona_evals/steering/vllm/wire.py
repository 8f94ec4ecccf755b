"""What travels between the `steer` provider and our plugin inside vLLM: requests in, records out.

A steered request carries its whole steering in ``SamplingParams.extra_args[PAYLOAD_KEY]`` as one
JSON text (vectors by content, float32 little-endian in base64), so it reaches every worker on
every GPU and node with the request itself, through the offline engine and through ``vllm serve``
(the OpenAI API's ``vllm_xargs``) alike: nothing names a file the server may not see.

The text has the terms shared by every request of one `steer` instance (``terms``: what is added
after which block, at which positions, what is ablated and monitored) and what is the request's own
(``key``, under which the worker files its record; ``prompt_len``, which positions count as the
prompt). Workers decode ``terms`` once per content hash (which they compute: a client's word for it
is never trusted, so one client cannot hand its terms to another's requests).

What a worker observed comes back as a *record* per key (`Record`, JSON-able, so it crosses the
RPC and HTTP boundaries unchanged): the steered token count per layer (a request whose record is
missing, or names a steered layer with no token, was not steered: the provider fails it), monitor
projections by position, captured streams (tests), norm sums, candidate scores and errors.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

PAYLOAD_KEY = "persona_evals"
"""``SamplingParams.extra_args[PAYLOAD_KEY]``: the JSON text of one request's steering."""
VERSION = 1

# RPC methods our vLLM plugin adds to every worker (`plugin.register`), called by name
INSTALL_RPC = "persona_evals_install"
TAKE_RPC = "persona_evals_take"


def pack(t: torch.Tensor) -> str:
    """A float tensor as base64 of its float32 little-endian bytes."""
    return base64.b64encode(t.detach().to(torch.float32).contiguous().cpu().numpy().astype("<f4").tobytes()).decode()


def unpack(text: str, shape: Sequence[int]) -> torch.Tensor:
    import numpy as np

    flat = np.frombuffer(base64.b64decode(text), dtype="<f4")
    n = 1
    for s in shape:
        n *= s
    if flat.size != n:
        raise ValueError(f"a packed tensor has {flat.size} values, expected {list(shape)}")
    return torch.from_numpy(flat.copy()).reshape(*shape)


@dataclass(frozen=True)
class Terms:
    """One configuration's terms, decoded (``add[L]`` [hidden], ``ablate[L]`` [k, hidden] orthonormal
    rows, ``monitor`` one unit direction per monitor in order, with its layer)."""

    hidden: int
    positions: str = "response"
    add: Mapping[int, torch.Tensor] = field(default_factory=dict)
    ablate: Mapping[int, torch.Tensor] = field(default_factory=dict)
    monitor: tuple[tuple[int, torch.Tensor], ...] = ()
    capture: tuple[int, ...] = ()  # layers whose whole stream is recorded per position (tests)
    norms: bool = False  # sum ‖h_L‖ over prompt positions >= 1 at every layer (coef_mode=norm)

    @property
    def layers(self) -> set[int]:
        return set(self.add) | set(self.ablate) | {layer for layer, _ in self.monitor} | set(self.capture)


def encode_terms(
    hidden: int,
    positions: str = "response",
    add: Mapping[int, torch.Tensor] | None = None,
    ablate: Mapping[int, torch.Tensor] | None = None,
    monitor: Iterable[tuple[int, torch.Tensor]] = (),
    capture: Iterable[int] = (),
    norms: bool = False,
) -> str:
    """The JSON text of a configuration's terms (monitor directions are sent as unit vectors)."""
    units = []
    for layer, d in monitor:
        d = d.to(torch.float32)
        units.append([int(layer), pack(d / d.norm())])
    body = {
        "hidden": int(hidden),
        "positions": positions,
        "add": [[int(layer), pack(v)] for layer, v in sorted((add or {}).items())],
        "ablate": [[int(layer), int(b.shape[0]), pack(b)] for layer, b in sorted((ablate or {}).items())],
        "monitor": units,
        "capture": sorted(int(x) for x in capture),
        "norms": bool(norms),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def decode_terms(body: Mapping[str, Any]) -> Terms:
    """`Terms` from the parsed JSON of `encode_terms`."""
    hidden = int(body["hidden"])
    return Terms(
        hidden=hidden,
        positions=str(body.get("positions", "response")),
        add={int(layer): unpack(v, (hidden,)) for layer, v in body.get("add", [])},
        ablate={int(layer): unpack(b, (int(k), hidden)) for layer, k, b in body.get("ablate", [])},
        monitor=tuple((int(layer), unpack(u, (hidden,))) for layer, u in body.get("monitor", [])),
        capture=tuple(int(x) for x in body.get("capture", [])),
        norms=bool(body.get("norms", False)),
    )


def config_hash(terms_text: str) -> str:
    return hashlib.sha256(terms_text.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Request:
    """One request's payload: its record key, its prompt length and its configuration's terms."""

    key: str
    prompt_len: int
    config: str  # content hash of the terms (computed by the reader)
    terms: Mapping[str, Any]
    score: tuple[int, ...] | None = None  # candidate scoring: the child token ids read at the last position


def encode_request(key: str, prompt_len: int, terms_text: str, score: Sequence[int] | None = None) -> str:
    body: dict[str, Any] = {"v": VERSION, "key": key, "prompt_len": int(prompt_len)}
    if score is not None:
        body["score"] = [int(t) for t in score]
    # the terms are spliced in as text: they are encoded once per configuration, not per request
    return json.dumps(body, separators=(",", ":"))[:-1] + ',"terms":' + terms_text + "}"


def decode_request(text: str) -> Request:
    body = json.loads(text)
    if body.get("v") != VERSION:
        raise ValueError(f"steering payload version {body.get('v')!r}; this plugin reads version {VERSION}")
    score = body.get("score")
    terms = body["terms"]
    return Request(
        key=str(body["key"]),
        prompt_len=int(body["prompt_len"]),
        config=config_hash(json.dumps(terms, sort_keys=True, separators=(",", ":"))),
        terms=terms,
        score=None if score is None else tuple(int(t) for t in score),
    )


Record = dict[str, Any]
"""What a worker observed for one key; every field optional:
``applied`` {layer: tokens steered}, ``monitor`` {position: [value or None per monitor]},
``capture`` {layer: {position: [floats]}}, ``norms`` {layer: [sum of norms, count]},
``score`` [log P(child) for each child, log P(boundary)], ``nonfinite`` the first position whose
logits were NaN or inf, ``errors`` [text]. Keys are strings."""


def merge_records(parts: Iterable[Mapping[str, Record] | None]) -> dict[str, Record]:
    """One record per key from every worker's (tensor-parallel ranks repeat each other; pipeline
    ranks each hold their own layers): counts and lists are taken from the first rank that has them."""
    out: dict[str, Record] = {}
    for part in parts:
        for key, rec in (part or {}).items():
            into = out.setdefault(key, {})
            for name, value in rec.items():
                if name == "errors":
                    into.setdefault("errors", []).extend(e for e in value if e not in into.get("errors", []))
                elif name in ("score", "nonfinite"):
                    into.setdefault(name, value)
                elif name == "monitor":
                    mon = into.setdefault("monitor", {})
                    for pos, values in value.items():
                        held = mon.get(pos)
                        mon[pos] = values if held is None else [a if a is not None else b for a, b in zip(held, values)]
                else:  # applied, capture, norms: {layer: ...}; a layer lives on one pipeline rank
                    into.setdefault(name, {})
                    for layer, v in value.items():
                        into[name].setdefault(layer, v)
    return out
