"""Every Hugging Face data set the suite reads, with its pinned revision, in one place.

A loader asks `revision_for(path)`: a pinned commit (or branch, where no commit could be
verified), or None for a data set listed as unpinned with the reason. A path in neither table is
an error, so no loader can read an unpinned data set by accident.
"""

from __future__ import annotations

PINNED: dict[str, str] = {
    "truthfulqa/truthful_qa": "741b8276f2d1982aa3d5b832d3ee81ed3b896490",
    "openai/gsm8k": "cc7b047b6e5bb11b4f1af84efc572db110a51b3c",
    "TIGER-Lab/MMLU-Pro": "527feea0afed1de15a8c115abf7be4c912123315",
    "DigitalLearningGmbH/MATH-lighteval": "0530c78699ea5e8eb5530600900e1f328b48acad",
    # No commit of the parquet branch was verified: we read the branch itself (see the README).
    "tasksource/bigbench": "refs/convert/parquet",
    # Seen as the PRISM revision in several public pipelines and HF cache paths; re-check on upgrade.
    "HannahRoseKirk/prism-alignment": "18ab5cfb37456f4ec8cbc00212ce54cf7b1239f6",
}

UNPINNED: dict[str, str] = {
    "SynthLabsAI/Synthetic-Personas": "gated: no commit could be verified (see the README)",
    "SynthLabsAI/PRISM-Filter": "gated: no commit could be verified (see the README)",
}


def revision_for(path: str) -> str | None:
    """The pinned revision of a Hub data set; None when it is listed as unpinned."""
    if path in PINNED:
        return PINNED[path]
    if path in UNPINNED:
        return None
    raise ValueError(
        f"{path}: no pinned revision; add it to persona_evals.datasets.revisions.PINNED "
        "(or to UNPINNED, with the reason)"
    )
