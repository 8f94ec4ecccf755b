"""Opinion simulation with census-grounded personas.

Paper: "LLM Generated Persona is a Promise with a Catch" (arXiv 2503.16527). Personas sampled
from ACS 2023 marginals per state (``meta``), optionally expanded by an LLM into an objective
table, a subjective table or a descriptive text (``persona-evals personas generate``), answer
election and opinion questions; ``persona-evals opinion metrics`` compares the per-state answer
distributions with real results. Tags: personas, opinion, elections, census.
"""

from __future__ import annotations

from typing import Literal

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset
from inspect_ai.model import GenerateConfig

from persona_evals.args import task_args
from persona_evals.opinion.dataset import opinion_samples, simulation_records
from persona_evals.opinion.questions import load_context
from persona_evals.opinion.scorer import opinion_choice
from persona_evals.opinion.solver import simulate_opinion
from persona_evals.personas.census import MAX_PER_STATE

DEFAULT_CONTEXT = "election_2024"
DEFAULT_N_PER_STATE = 20
MAX_PEERS = 100
SIMULATOR_CONFIG = GenerateConfig(temperature=0.95, top_p=0.9, max_tokens=512)


@task
@task_args(n_per_state=(1, MAX_PER_STATE), seed=(0, None), n_peers=(1, MAX_PEERS))
def opinion_simulation(
    context: str | int = DEFAULT_CONTEXT,
    tier: Literal["meta", "objective", "subjective", "descriptive"] = "meta",
    mode: Literal["fast", "reasoning", "multi_turn"] = "fast",
    personas: str | None = None,
    states: str | list[str] = "all",
    n_per_state: int = DEFAULT_N_PER_STATE,
    seed: int = 0,
    peers_log: str | None = None,
    n_peers: int = 5,
) -> Task:
    """Simulated answers of census-grounded personas to election or opinion questions.

    Args:
        context: ``election_2016``, ``election_2020``, ``election_2024`` (or just the year),
            ``custom``, or a path to a question file in the same schema.
        tier: persona tier shown to the simulator: ``meta`` (census record), ``objective``,
            ``subjective`` or ``descriptive`` (LLM-written; need `personas`).
        mode: ``fast`` (answer only), ``reasoning`` (2-3 sentences then the answer) or
            ``multi_turn`` (reasoning after reading peers from `peers_log`).
        personas: personas JSONL (``persona-evals personas sample|generate|calibrate``). Without
            it, meta personas are sampled from the shipped ACS marginals.
        states: postal codes (``NY,WY`` or ``[NY,WY]``) or ``all`` (all in the file; 50 if sampling).
        n_per_state: personas per state when sampling, 1 to 10,000 (ignored with `personas`).
        seed: census sampling and option-order shuffles.
        peers_log: log of a previous reasoning run (``multi_turn`` only).
        n_peers: peer reasonings shown per sample in ``multi_turn`` (1 to 100).
    """
    records = simulation_records(personas, tier, states, n_per_state, seed)
    questions = load_context(context)
    return Task(
        dataset=MemoryDataset(opinion_samples(records, questions, tier, seed), name=f"opinion_{tier}"),
        solver=simulate_opinion(mode, peers_log=peers_log, n_peers=n_peers, seed=seed),
        scorer=opinion_choice(),
        config=SIMULATOR_CONFIG,
        metadata={"context": context, "tier": tier, "mode": mode, "seed": seed},
    )
