"""`projection`: the steer provider's live monitor reading, reported beside the judge's scores.

Run the model with ``-M monitor=<vector> -M monitor_layer=<L>``: while generating, `steer`
projects the response activations at layer L onto the vector (no second pass), and this scorer
reports the mean response projection (`proj`) and the last prompt token's (`prompt_last_proj`),
as the model sent them (`persona_evals.protocol`). Without a monitor the values are NaN, which the
metrics skip, and the explanation says why.
"""

from __future__ import annotations

import math

from inspect_ai.scorer import Score, Scorer, Target, scorer, stderr
from inspect_ai.solver import TaskState

from persona_evals.protocol import PROJ, PROMPT_LAST_PROJ, monitor_readings
from persona_evals.scorers.metrics import finite_mean

NO_MONITOR = "no monitor reading: run with --model steer/... -M monitor=<vector file> -M monitor_layer=<L>"
MONITOR_NAME = "monitor"  # Score.metadata: which monitor the score reports (``<file stem>@<layer>``)


@scorer(metrics={PROJ: [finite_mean(), stderr()], PROMPT_LAST_PROJ: [finite_mean(), stderr()]})
def projection(monitor: str | None = None) -> Scorer:
    """Projection of the answer's activations onto the model's monitor vector.

    Args:
        monitor: which monitor to report when the model has several (``<file stem>@<layer>``,
            as in the output metadata); default: the first.
    """

    async def score(state: TaskState, target: Target) -> Score:
        readings = monitor_readings(state.output.metadata) if state.output else {}
        if not readings:
            return Score(value={PROJ: math.nan, PROMPT_LAST_PROJ: math.nan}, explanation=NO_MONITOR)
        name = monitor or next(iter(readings))
        if name not in readings:
            raise ValueError(f"projection(monitor={name!r}): the model monitors {sorted(readings)}")
        reading = readings[name]
        proj = math.nan if reading[PROJ] is None else float(reading[PROJ])
        last = float(reading[PROMPT_LAST_PROJ])
        return Score(
            value={PROJ: proj, PROMPT_LAST_PROJ: last},
            explanation=f"{name}: response projection {proj:.3f}, last prompt token {last:.3f}",
            metadata={MONITOR_NAME: name, "readings": readings},
        )

    return score
