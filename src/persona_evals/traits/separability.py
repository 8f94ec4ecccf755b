"""How well a persona vector separates a trait's pos answers from its neg answers, layer by layer
(the separability analysis of the multi-persona-dynamics derivative; the persona-vectors paper
reports such AUCs between trait-eliciting and normal finetuning data).

Every non-empty answer of the pos and of the neg trait_expression log is read once by the model
(one batched forward over prompt + answer, as `vectors extract` reads them), pooled like the
vector (``response_avg``: the answer's mean; ``prompt_avg`` / ``prompt_last`` for those tensors),
and projected on the vector's row at each layer (a·v/‖v‖). The ROC AUC of that projection is the
probability that a random pos answer projects above a random neg one (`persona_evals.stats.correlation.roc_auc`).

All answers count, judged or not: this measures the vector's direction, not the judge. A vector
extracted from the same logs is scored in-sample (optimistic); measure on logs of the other split.
"""

from __future__ import annotations

from typing import Any

from persona_evals.steering.activations import POOLINGS, encode_pair, pooled_activations
from persona_evals.steering.chat import render_prompt
from persona_evals.steering.loading import SharedModel
from persona_evals.steering.vectors import LoadedVector, check_fits
from persona_evals.stats.correlation import roc_auc
from persona_evals.traits.results import TraitLog, TraitLogError, check_same_source

SEPARABILITY_COLUMNS = ["layer", "auc", "n_pos", "n_neg", "mean_proj_pos", "mean_proj_neg", "pooling"]


def pooling_of(vector: LoadedVector) -> str:
    """The activation pooling a vector was made from: its tensor name when that is a pooling."""
    return vector.key if vector.key in POOLINGS else "response_avg"


def separability(
    shared: SharedModel, pos: TraitLog, neg: TraitLog, vector: LoadedVector, batch_size: int = 8, check_source: bool = True
) -> list[dict[str, Any]]:
    """One row per layer whose vector row is not zero: the AUC and both classes' sizes and mean projections.

    Raises:
        TraitLogError: logs of different traits or models, a steered log, or a class without a
            non-empty answer.
    """
    if check_source:
        check_same_source(pos, neg)
    check_fits(vector, 0, shared.hidden_size, shared.num_layers, "--vector")
    pooling = pooling_of(vector)
    projections = {}
    for side in (pos, neg):
        rows = [r for r in side.rows.values() if r.answer.strip()]
        if not rows:
            raise TraitLogError(
                f"the {side.polarity} log {side.path} has no non-empty answer ({len(side.rows)} samples): "
                "an AUC needs answers on both sides"
            )
        pairs = [encode_pair(shared, render_prompt(shared.tokenizer, r.input), r.answer) for r in rows]
        projections[side.polarity] = pooled_activations(shared, pairs, batch_size)[pooling]  # [n, layers + 1, hidden]
    out = []
    for layer in range(vector.tensor.shape[0] if vector.tensor.dim() == 2 else shared.num_layers + 1):
        v = vector.row(layer)
        if float(v.norm()) == 0:
            continue
        unit = v / v.norm()
        p = (projections["pos"][:, layer] @ unit).tolist()
        n = (projections["neg"][:, layer] @ unit).tolist()
        out.append({"layer": layer, "auc": roc_auc(p, n), "n_pos": len(p), "n_neg": len(n),
                    "mean_proj_pos": sum(p) / len(p), "mean_proj_neg": sum(n) / len(n), "pooling": pooling})
    return out
