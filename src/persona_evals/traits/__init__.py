"""Character traits: artifacts (instruction pairs, questions, judge rubric), samples and judges.

The judges are logprob ratings (`persona_evals.scorers.logprob_judge`) with the trait's rubric.

Used by the ``trait_expression`` task (``traits.task``) and ``persona-evals traits``. Shipped artifacts live in
``persona_evals/traits/data/<trait>_{extract,eval}.json``.
"""

from persona_evals.traits._dataset import POLARITIES, Polarity, article, system_prompt, trait_samples
from persona_evals.traits._load import (
    VERSIONS,
    artifact_path,
    judge_rubric,
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
from persona_evals.traits._scorers import coherence_score, judged_traits, trait_score
from persona_evals.traits.draft import TraitDraft, draft_from_log, draft_trait, trait_draft
from persona_evals.traits.prompts import COHERENCE_RUBRIC

__all__ = [
    "COHERENCE_RUBRIC",
    "POLARITIES",
    "VERSIONS",
    "InstructionPair",
    "Polarity",
    "TraitArtifact",
    "TraitArtifactError",
    "TraitDraft",
    "article",
    "artifact_path",
    "check_rubric",
    "coherence_score",
    "draft_trait",
    "draft_from_log",
    "judge_rubric",
    "judged_traits",
    "load_trait",
    "parse_artifact",
    "system_prompt",
    "trait_draft",
    "trait_name_of",
    "trait_names",
    "trait_samples",
    "trait_score",
    "write_artifact",
]
