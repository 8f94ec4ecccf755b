"""Environment: secrets from the environment or a `.env` file, and the suite's cache directory."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV_VAR = "PERSONA_EVALS_CACHE_DIR"


def load_env() -> None:
    """Load `.env` from the working directory without overriding variables already set."""
    from dotenv import find_dotenv, load_dotenv

    path = find_dotenv(usecwd=True)
    if path:
        load_dotenv(path, override=False)


def cache_dir() -> Path:
    """Where converted models and other derived files go.

    ``$PERSONA_EVALS_CACHE_DIR`` if set, else the user cache directory (``$XDG_CACHE_HOME``
    or ``~/.cache`` on Linux) plus ``persona_evals``.
    """
    override = os.environ.get(CACHE_ENV_VAR)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("persona_evals", appauthor=False))
