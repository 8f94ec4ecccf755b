"""Generate modes: how the model under evaluation is asked to answer for a persona.

- ``baseline``: no persona (the control).
- ``output_only``: the persona, then the answer.
- ``chain_of_thought``: the persona; reason step by step, then answer.
- ``demographic_summary``: the persona; summarise the traits that matter for this question,
  then answer.

The format instructions are sent with the prompt, built by plain formatting; the answer is
parsed locally (no extractor model); model errors are raised, never swallowed. The persona is
rendered as ``name: value`` lines, the same text the critic sees.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal, get_args

from inspect_ai.model import ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver

from persona_evals.ids import keyed_seed
from persona_evals.persona_bench.prompts import BASELINE_PROMPT, FORMATS, PERSONA_PROMPT
from persona_evals.personas.persona import Persona
from persona_evals.solvers.persona import place_persona

GenerateMode = Literal["baseline", "output_only", "chain_of_thought", "demographic_summary"]
MODES: tuple[str, ...] = get_args(GenerateMode)
PERSONA_MODES: tuple[str, ...] = tuple(m for m in MODES if m != "baseline")

_PREFACE = {"chain_of_thought": "REASONING", "demographic_summary": "SUMMARY"}
_MARKER = r"(?:^|\n)[ \t#*_]*{name}[ \t*_]*:[ \t*_]*"


def parse_modes(mode: str | Sequence[str]) -> list[str]:
    """Modes from ``-T mode=x``, ``-T mode=[x,y]`` or ``-T mode=x,y`` (validated, order kept)."""
    items = [mode] if isinstance(mode, str) else list(mode)
    modes = [m.strip() for item in items for m in str(item).split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ValueError(f"mode {unknown or mode!r} invalid; valid modes: {', '.join(MODES)}")
    repeated = sorted({m for m in modes if modes.count(m) > 1})
    if repeated:
        raise ValueError(f"mode lists each mode once; repeated: {repeated}")
    return modes


def system_prompt(mode: str, persona: Persona | None) -> str:
    """The system message for a mode (``persona`` is ignored for ``baseline``)."""
    if mode == "baseline":
        return BASELINE_PROMPT
    if mode not in PERSONA_MODES:
        raise ValueError(f"mode {mode!r} invalid; valid modes: {', '.join(MODES)}")
    if persona is None or len(persona) == 0:
        body = "(nothing is known about this person)"
    else:
        body = persona.render()
    return PERSONA_PROMPT.format(persona=body) + "\n\n" + FORMATS[mode]


def parse_response(mode: str, completion: str) -> dict[str, Any]:
    """Split a completion into the answer (after the last ``ANSWER:``) and any preface.

    Returns ``answer`` plus ``reasoning`` or ``summary`` for the modes that ask for one, and
    ``format_ok``: False when a two-part mode gave no ``ANSWER:`` marker, in which case the whole
    completion is the answer (recorded, never dropped).
    """
    answer_at = list(re.finditer(_MARKER.format(name="ANSWER"), completion, flags=re.IGNORECASE))
    answer = completion[answer_at[-1].end():].strip() if answer_at else completion.strip()
    result: dict[str, Any] = {"answer": answer, "format_ok": bool(answer_at) or mode not in _PREFACE}
    if mode in _PREFACE:
        head = completion[: answer_at[-1].start()] if answer_at else ""
        pre = re.search(_MARKER.format(name=_PREFACE[mode]), head, flags=re.IGNORECASE)
        key = "reasoning" if mode == "chain_of_thought" else "summary"
        result[key] = (head[pre.end():] if pre else head).strip()
    return result


@solver
def personalized_answer(sampling_seed: int | None = None) -> Solver:
    """Answer the question in the sample's mode (``metadata["mode"]``) for ``shown_persona``.

    The completion is replaced by the parsed answer; the parsed parts go to
    ``metadata["response"]`` and the full reply stays in the message history.

    Args:
        sampling_seed: when set, each sample and epoch gets its own seed derived from it, so
            repeated attempts (pass@k epochs) are distinct draws yet reproducible. A global
            ``--seed`` would instead give every epoch the same draw.
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        mode = state.metadata["mode"]
        persona = Persona(attributes=state.metadata.get("shown_persona") or {})
        question = ChatMessageUser(content=state.metadata.get("question") or state.input_text)
        state.messages = place_persona(state, [question], system_prompt(mode, persona))
        if sampling_seed is None:
            state = await generate(state)
        else:
            state = await generate(state, seed=attempt_seed(sampling_seed, state.sample_id, state.epoch))
        response = parse_response(mode, state.output.completion)
        state.metadata["response"] = response
        state.output.completion = response["answer"]
        return state

    return solve


def attempt_seed(seed: int, sample_id: str | int, epoch: int) -> int:
    """A 31-bit seed for one sample and epoch (stable across runs and platforms)."""
    return keyed_seed(f"{seed}/{sample_id}/{epoch}")
