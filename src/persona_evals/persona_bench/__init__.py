"""PERSONA Bench: personalised answers judged by a debate critic (main, leave-one-out,
intersectionality and pass@k tasks live in ``tasks/``; their parts live here: sample building,
modes, the debate critic, pairwise judging, metrics and the tables behind the plots)."""
