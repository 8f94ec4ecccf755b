"""The simulation solver: persona as system message; modes ``fast``, ``reasoning``, ``multi_turn``.

``multi_turn`` is one further round of deliberation: each persona sees up to `n_peers` reasonings
of other personas from the same state on the same question, read from a previous run's log
(`peers_log`, e.g. a ``reasoning`` run), chosen with a seeded generator. Chaining runs gives
more rounds; every round is its own logged eval.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from inspect_ai.model import ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver

from persona_evals.ids import keyed_rng
from persona_evals.opinion.parsing import extract_reasoning
from persona_evals.opinion.prompts import (
    FAST_INSTRUCTION,
    PEERS_BLOCK,
    REASONING_INSTRUCTION,
    ROLE_SYSTEM,
    letters_phrase,
)
from persona_evals.solvers.persona import place_persona

Mode = Literal["fast", "reasoning", "multi_turn"]
MODES: tuple[str, ...] = ("fast", "reasoning", "multi_turn")
PeerIndex = dict[tuple[str, str], list[tuple[str, str]]]


def load_peers(peers_log: str) -> PeerIndex:
    """(state, question_id) -> [(persona_id, reasoning)] from a previous simulation log."""
    from persona_evals.logs import read_task_log
    from persona_evals.paths import user_path

    path = user_path(peers_log)
    if not path.exists():
        raise ValueError(f"peers_log: {path} does not exist (a log of a reasoning or multi_turn run)")
    log = read_task_log(path, "opinion_simulation", arg="peers_log", finished=True)
    index: PeerIndex = defaultdict(list)
    for s in log.samples or []:
        if not s.output or not s.output.completion or "question_id" not in (s.metadata or {}):
            continue
        reasoning = extract_reasoning(s.output.completion)
        if reasoning:
            index[(s.metadata["state"], s.metadata["question_id"])].append(
                (s.metadata["persona_id"], reasoning)
            )
    if not index:
        raise ValueError(f"peers_log: {peers_log} holds no opinion-simulation answers with reasoning")
    return dict(index)


def pick_peers(
    index: PeerIndex, state: str, question_id: str, persona_id: str, n: int, seed: int
) -> list[str]:
    pool = [text for pid, text in index.get((state, question_id), []) if pid != persona_id]
    if len(pool) <= n:
        return pool
    rng = keyed_rng(seed, key=f"{persona_id}|{question_id}")
    return [pool[i] for i in sorted(rng.choice(len(pool), size=n, replace=False))]


@solver
def simulate_opinion(
    mode: Mode = "fast", peers_log: str | None = None, n_peers: int = 5, seed: int = 0
) -> Solver:
    """Ask the model, in the persona's voice, to pick one option."""
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    if mode == "multi_turn" and not peers_log:
        raise ValueError(
            "mode=multi_turn needs peers_log: the log of a previous reasoning (or multi_turn) run"
        )
    peers = load_peers(peers_log) if mode == "multi_turn" and peers_log else {}

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        md = state.metadata
        letters = letters_phrase(list(md["shown"]))
        instruction = (FAST_INSTRUCTION if mode == "fast" else REASONING_INSTRUCTION).format(letters=letters)
        parts = [state.input_text]
        if mode == "multi_turn":
            said = pick_peers(peers, md["state"], md["question_id"], md["persona_id"], n_peers, seed)
            md["peers"] = said
            if said:
                parts.append(
                    PEERS_BLOCK.format(state_name=md["state_name"], peers="\n".join(f"- {t}" for t in said))
                )
        parts.append(instruction)
        question = ChatMessageUser(content="\n\n".join(parts))
        state.messages = place_persona(state, [question], ROLE_SYSTEM.format(persona=md["persona"]))
        return await generate(state)

    return solve
