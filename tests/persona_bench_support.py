"""Scripted target and critic for the PERSONA Bench end-to-end tests.

Target: names the person's sex and age when both are shown ("... for a female aged 31"), else
answers generically; with a ``pass_rule`` it personalises only on attempts whose seed passes.
Critic: debates, then gives a verdict that needs no revision exactly when the answer mentions the
age of the FULL persona shown to the critic. So every score is predictable from sample metadata.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

from persona_evals.testing import scripted_model

TASKS = Path(__file__).parents[1] / "tasks"


def load_task(name: str):
    """A PERSONA Bench @task from the package (registered as ``persona_evals/<name>``)."""
    return getattr(importlib.import_module(f"persona_evals.persona_bench.tasks.{name}"), name)


def _shown(system: str) -> dict[str, str]:
    m = re.search(r"<persona>\n(.*?)\n</persona>", system, flags=re.S)
    if not m:
        return {}
    return dict(line.split(": ", 1) for line in m.group(1).splitlines() if ": " in line)


def personalised(shown: dict) -> bool:
    return "sex" in shown and "age" in shown


def target_model(pass_rule=None, old_fails: bool = False, summary_age=None):
    def reply(messages, config):
        shown = _shown(messages[0].text)
        ok = personalised(shown)
        if ok and old_fails and float(shown["age"]) >= 60:
            ok = False
        if ok and pass_rule is not None:
            ok = pass_rule(config.seed)
        body = f"advice for a {shown['sex']} aged {shown['age']}" if ok else "general advice"
        if "REASONING:" in messages[0].text:
            return f"REASONING: think.\nANSWER: {body}"
        if "SUMMARY:" in messages[0].text:
            age = shown.get("age") if summary_age is None else summary_age
            return f"SUMMARY: a person aged {age}.\nANSWER: {body}"
        return f"ANSWER: {body}" if "ANSWER:" in messages[0].text else body

    return scripted_model(reply)


class CriticLog:
    """Keeps every debate prompt the critic saw."""

    def __init__(self) -> None:
        self.prompts: list[str] = []


def critic_model(log: CriticLog | None = None, invalid: bool = False):
    def reply(messages, config):
        first = messages[0].text if messages[0].role != "system" else messages[1].text
        if "Label the answer" in first:
            answer = re.search(r"\[Answer\]\n(.*?)\n\n\[Person", first, flags=re.S).group(1)
            if log is not None:
                log.prompts.append(first)
            label = "on_the_nose" if "aged" in answer else "subtle"
            return json.dumps({"reasoning": "looked", "label": label})
        if "Check the summary against" in first:
            summary = re.search(r"\[Summary\]\n(.*?)\n\n\[Person", first, flags=re.S).group(1)
            person = dict(line.split(": ", 1) for line in first.split("[Person's description]\n", 1)[1].splitlines() if ": " in line)
            wrong = [] if f"aged {person.get('age')}." in summary else [summary]
            return json.dumps({"unsupported": wrong, "faithful": not wrong})
        if "[Answer A]" in first:
            a = re.search(r"\[Answer A\]\n(.*?)\n\n\[Answer B\]", first, flags=re.S).group(1)
            b = re.search(r"\[Answer B\]\n(.*?)\n\n\[Person\]", first, flags=re.S).group(1)
            better = "A" if "aged" in a and "aged" not in b else "B" if "aged" in b and "aged" not in a else "tie"
            return json.dumps({"reasoning": "compared", "better": better})
        if len(messages) == 1 or "[Answer]" in messages[-1].text:
            if log is not None:
                log.prompts.append(messages[-1].text)
            return "PERSONALISATION: ...\nHELPFULNESS: ...\nConclusion: see verdict."
        if invalid:
            return '{"needs_revision": "perhaps"}'
        answer = re.search(r"\[Answer\]\n(.*?)\n\n\[Person\]", first, flags=re.S).group(1)
        person = dict(line.split(": ", 1) for line in first.split("[Person]\n", 1)[1].splitlines() if ": " in line)
        good = f"aged {person.get('age')}" in answer
        return json.dumps(
            {
                "personalization_critique": "fits" if good else "generic",
                "helpfulness_critique": "helpful",
                "conclusion": "keep" if good else "revise",
                "needs_revision": not good,
            }
        )

    return scripted_model(reply)
