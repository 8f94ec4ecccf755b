"""Opinion simulation from census-grounded personas (arXiv 2503.16527, re-implemented).

Census meta personas -> LLM-written persona tiers -> simulated answers to election and opinion
questions -> alignment with real results. Modules: `questions` (context files), `records`
(personas JSONL), `tiers` (persona tables and writer prompts), `generation` and `calibration` (the
persona_generation and persona_calibration tasks), `pipeline` (runs them as inspect evals and
returns the records), the simulation itself (`dataset`, `prompts`, `solver`, `parsing`,
`scorer`, `task`: opinion_simulation), `elections` (shipped ground truth), `logs` (rows read
from the simulation's logs) and `alignment` (metrics over them).
"""
