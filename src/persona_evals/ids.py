"""Stable ids and keyed random generators: the same value in every run, order and platform.

Sample ids are digests of the fields that define an item (so they survive a reordered data set),
and every random draw is keyed by what it is for (a state, a persona and question, an item), so
adding or removing one item never changes another's draw. Python's ``hash()`` is salted per
process, so it is never used for either.
"""

from __future__ import annotations

import hashlib
import random
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def content_hash(*parts: str, length: int = 8) -> str:
    """A short hex sha256 digest of `parts` (joined with a unit separator, so parts cannot merge)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:length]


def keyed_seed(key: str, bits: int = 31) -> int:
    """A non-negative `bits`-bit integer from a key (e.g. ``"{seed}/{sample id}/{epoch}"``)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - bits)


def keyed_random(key: str) -> random.Random:
    """A stdlib generator seeded by a key (an item id): the same sequence in every run."""
    return random.Random(int(content_hash(key, length=16), 16))


def keyed_rng(*seeds: int, key: str) -> np.random.Generator:
    """A numpy generator for integer seeds plus a text key (CRC-32 of the key)."""
    import numpy as np

    return np.random.default_rng([*(int(s) for s in seeds), zlib.crc32(key.encode("utf-8"))])
