"""Character traits: artifacts (instruction pairs, questions, judge rubric), samples and judges.

Used by the ``trait_expression`` task (``traits.task``) and ``persona-evals traits``. Shipped artifacts live in
``persona_evals/traits/data/<trait>_{extract,eval}.json``.
"""

from persona_evals.traits._dataset import POLARITIES, Polarity, article, system_prompt, trait_samples
from persona_evals.traits._draft import TraitDraft, draft_trait, draft_trait_artifacts
from persona_evals.traits._judge import (
    MIN_NUMERIC_MASS,
    JudgeVerdict,
    aggregate_top_logprobs,
    normalise_token,
    parse_score_text,
    score_of_token,
)
from persona_evals.traits._load import (
    VERSIONS,
    artifact_path,
    load_trait,
    trait_name_of,
    trait_names,
    write_artifact,
)
from persona_evals.traits._schema import (
    InstructionPair,
    TraitArtifact,
    TraitArtifactError,
    check_rubric,
    parse_artifact,
)
from persona_evals.traits._scorers import (
    COHERENCE_RUBRIC,
    JUDGE_CONFIG,
    coherence_score,
    count,
    judge,
    trait_score,
)

__all__ = [
    "COHERENCE_RUBRIC",
    "JUDGE_CONFIG",
    "MIN_NUMERIC_MASS",
    "POLARITIES",
    "VERSIONS",
    "InstructionPair",
    "JudgeVerdict",
    "Polarity",
    "TraitArtifact",
    "TraitArtifactError",
    "TraitDraft",
    "aggregate_top_logprobs",
    "article",
    "artifact_path",
    "check_rubric",
    "coherence_score",
    "count",
    "draft_trait",
    "draft_trait_artifacts",
    "judge",
    "load_trait",
    "normalise_token",
    "parse_artifact",
    "parse_score_text",
    "score_of_token",
    "system_prompt",
    "trait_name_of",
    "trait_names",
    "trait_samples",
    "trait_score",
    "write_artifact",
]
