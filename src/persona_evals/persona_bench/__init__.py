"""PERSONA Bench: personalised answers judged by a debate critic.

Modules: ``tasks/`` (the main, leave-one-out, intersectionality and pass@k tasks, registered as
``persona_evals/<task>``), ``sources`` (personas and questions: Hub data sets or offline
fixtures), ``pairing`` (seeded question x persona pairs), ``dataset`` (the samples of each task),
``prompts`` (our prompt wording), ``solver`` (the generate modes: one per sample, its answer
parsed), ``critic`` (the debate critic, the main scorer), ``pairwise`` and ``analyses`` (the
optional judges: win rate against the no-persona answer, subtlety, summary fidelity),
``metrics`` (over critic scores) and ``results`` (the tables behind the plots).

The tasks are a folder, one module each, not one ``task.py``: ``inspect eval <file>.py`` runs
every ``@task`` in the file, and ``tasks/<name>.py`` in a checkout links to one task each, so
``inspect eval tasks/pass_at_k.py`` runs pass@k alone. The judges are three modules, not one
``scorer.py``: each asks the critic a different question with its own schema and prompt.
"""
