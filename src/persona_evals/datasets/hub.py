"""The one Hub loader: rows (or an inspect dataset) at the revision pinned in `revisions`.

The PERSONA Bench sources are gated (the user accepts the terms on the data set page, then sets
``HF_TOKEN``). Without a token the Hub answers "not found", which tells a user nothing; we check
first and say exactly what to do. Loaders that pair or reshape rows read them through `load_rows`
(tests monkeypatch it with invented rows in the same schema).

Offline (``HF_HUB_OFFLINE``) or unreachable without a cached copy, every loader here raises
`HubUnavailableError`: one message (an inspect prerequisite error, so ``inspect eval`` prints it
alone) naming the data set, the cause, and the offline alternative where one exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from inspect_ai.dataset import hf_dataset

from persona_evals.datasets.revisions import revision_for
from persona_evals.errors import UserError

PERSONA_FIXTURES = "use the invented offline fixtures: -T personas=fixture -T questions=fixture"


class GatedDatasetError(UserError, RuntimeError):
    """A gated data set could not be read: no token, or the token's account lacks access."""


class HubUnavailableError(UserError, RuntimeError):
    """The Hub could not be reached and no cached copy of the data set exists."""


def access_message(path: str) -> str:
    return (
        f"{path} is a gated Hugging Face data set. To use it: log in at https://huggingface.co, "
        f"accept its terms at https://huggingface.co/datasets/{path}, create a read token at "
        "https://huggingface.co/settings/tokens, and set HF_TOKEN=<token> in your environment or "
        ".env (see .env.example). Offline, use the invented fixtures instead: -T personas=fixture "
        "-T questions=fixture."
    )


def hub_offline() -> bool:
    """Whether the user switched the Hub off (``HF_HUB_OFFLINE`` or ``HF_DATASETS_OFFLINE``)."""
    import os

    return any(os.environ.get(v, "").strip().upper() in ("1", "ON", "YES", "TRUE")
               for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def unavailable_message(path: str, reason: str, gated: bool, token: str | None, instead: str | None = PERSONA_FIXTURES) -> str:
    """Why `path` could not be read without the Hub, and what to do (`instead`: the offline
    alternative, if any); offline is named as the cause."""
    if hub_offline():
        cause = "HF_HUB_OFFLINE (or HF_DATASETS_OFFLINE) is set and there is no cached copy"
        fix = "Unset it and connect once to cache the data set"
    else:
        cause = f"could not reach the Hugging Face Hub and found no cached copy ({reason})"
        fix = "Connect once to cache it"
    if gated and not token:
        fix += f" (it is gated: you will also need HF_TOKEN with access, see https://huggingface.co/datasets/{path})"
    return f"{path}: {cause}. {fix}" + (f", or {instead}." if instead else ".")


def hf_token() -> str | None:
    """``HF_TOKEN`` from the environment or ``.env``, else a token saved by ``hf auth login``."""
    from huggingface_hub import get_token

    from persona_evals.env import load_env

    load_env()
    return get_token()


def load_rows(path: str, *, name: str | None = None, split: str = "train", gated: bool = False) -> list[dict[str, Any]]:
    """All rows of one split as dicts, at the pinned revision (`GatedDatasetError` with instructions
    when gated, or `HubUnavailableError` offline without a cached copy: being offline is named first)."""
    revision = revision_for(path)
    token = hf_token()
    if gated and not token and not hub_offline():  # offline, a cached copy may still load
        raise GatedDatasetError(access_message(path))
    from datasets import load_dataset
    from datasets.exceptions import DatasetNotFoundError
    from huggingface_hub.errors import GatedRepoError

    with _reaching(path, PERSONA_FIXTURES, gated, token):
        try:
            data = load_dataset(path, name, split=split, revision=revision, token=token)
        except (GatedRepoError, DatasetNotFoundError) as ex:
            if gated:
                raise GatedDatasetError(f"{access_message(path)} (Hub said: {ex})") from ex
            raise
    return [dict(row) for row in data]


@contextmanager
def _reaching(path: str, instead: str | None, gated: bool = False, token: str | None = None) -> Iterator[None]:
    """A Hub that cannot be reached (offline, no network) without a cached copy becomes `HubUnavailableError`."""
    try:
        yield
    except ConnectionError as ex:  # datasets' "Couldn't reach", huggingface_hub's OfflineModeIsEnabled
        raise HubUnavailableError(unavailable_message(path, str(ex), gated, token, instead)) from ex


def hub_dataset(path: str, split: str, *, instead: str | None = None, **kwargs: Any) -> Any:
    """inspect's `hf_dataset` at the pinned revision of `path` (tests replace `hf_dataset` here);
    `instead`: what to do offline, for the error when there is no cached copy."""
    with _reaching(path, instead):
        return hf_dataset(path, split=split, revision=revision_for(path), **kwargs)


def hub_parquet(path: str, split: str, files: str, *, instead: str | None = None, **kwargs: Any) -> Any:
    """inspect's `hf_dataset` over parquet `files` (a glob) of `path` at its pinned revision."""
    revision = revision_for(path)
    url = f"hf://datasets/{path}" + (f"@{revision.replace('/', '%2F')}" if revision else "")
    with _reaching(path, instead):
        return hf_dataset("parquet", split=split, data_files={split: f"{url}/{files}"}, **kwargs)
