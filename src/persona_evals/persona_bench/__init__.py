"""PERSONA Bench: personalised answers judged by a debate critic.

The main, leave-one-out, intersectionality and pass@k tasks live in ``persona_bench.tasks`` (one
module each, registered as ``persona_evals/<task>``); their parts live here: sample building,
modes, the debate critic, pairwise judging, metrics and the tables behind the plots."""
