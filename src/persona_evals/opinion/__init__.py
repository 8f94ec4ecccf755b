"""Opinion simulation from census-grounded personas (arXiv 2503.16527, re-implemented).

Census meta personas -> LLM-written persona tiers -> simulated answers to election and opinion
questions -> alignment with real results. Modules: `questions` (context files), `records`
(personas JSONL), `tiers` (persona tables and prompts), `generation` and `calibration` (persona
writing and checking as inspect evals), `simulation` (samples, solver, parser, scorer),
`elections` (shipped ground truth) and `alignment` (metrics over logs).
"""
