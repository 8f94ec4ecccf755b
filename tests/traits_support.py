"""Scripted trait_expression graders shared by the trait plot tests."""

from __future__ import annotations

import math

from persona_evals.testing import scripted_model, scripted_output


def grader(trait_value, coherence_value):
    """A judge scoring every answer `trait_value` for the trait and `coherence_value` for coherence."""

    def reply(messages, config):
        coherent = "Coherence is not correctness" in messages[-1].text
        value = coherence_value if coherent else trait_value
        # two integer tokens around the value, equally likely: the weighted mean is the value
        return scripted_output("x", top_logprobs={str(int(value) - 1): math.log(0.5), str(int(value) + 1): math.log(0.5)})

    return scripted_model(reply)
