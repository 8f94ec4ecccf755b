"""Reruns never mix steering contents: the steering signature joins the model args inspect records.

The model args a log records name files (``-M vector=evil.safetensors``), not what they hold.
inspect identifies a task of an eval set by its model args (``inspect_ai.task_identifier``) and
``inspect eval-retry`` re-creates the model from them: after a vector, monitor, ablation or
adapter file changed, an eval_set re-run would return the old log as complete, and eval-retry
would finish a log with two steering contents in it.

So the `steer` provider's signature (a hash of the model, dtype and every term with its file's
SHA-256; `provider._signature`) joins its model's args as ``signature``: every log records it,
eval_set's task identity covers it (changed content is another task: the old log is neither
returned as complete nor resumed), and eval-retry hands it back to the provider, which refuses a
mismatch (`check_signature`). A user may pass ``-M signature=...`` too, to pin a run to content.

inspect has no hook for a provider to add to its model's args, so `install` patches inspect's
``Model`` (`persona_evals.compat.add_model_args`): a model whose API has `identity_args` gets
them added to ``model_args``. Only `steer` has them; every other model is untouched. The provider
also puts there a file name that inspect split at a comma (``-M vector=v/my,file.safetensors``
arrives as two items), joined again (`steering_args.rejoined_files`): the log then names the one
file the run read.
"""

from __future__ import annotations

from persona_evals.compat import add_model_args
from persona_evals.errors import SteeringConfigError

SIGNATURE_ARG = "signature"


def check_signature(given: str | None, computed: str, model: str) -> None:
    """Refuse a run whose model args carry another signature than its files give now."""
    if given is None or given == computed:
        return
    raise SteeringConfigError(
        f"signature: steer/{model} was logged with steering signature {given}, but its files now give "
        f"{computed}: a vector, monitor, ablation or adapter file changed since (or the model, dtype, "
        "layers or coefficients). Continuing that log (inspect eval-retry) would mix two steering "
        "contents in one log: run a new eval instead (inspect eval, or eval-set into a new log dir)."
    )


def install() -> None:
    """Make ``Model`` add its API's `identity_args` to ``model_args`` (idempotent)."""
    add_model_args("identity_args")
