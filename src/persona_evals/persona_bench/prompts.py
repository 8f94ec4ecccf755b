"""The prompts of PERSONA Bench (our own wording), formatted at call time.

- the generate modes: `BASELINE_PROMPT` (no persona), `PERSONA_PROMPT` and a format per mode (`FORMATS`);
- the critic: `DEBATE_PROMPT` then `VERDICT_PROMPT`; the pairwise judge: `PAIRWISE_PROMPT`;
- the answer analyses: `SUBTLETY_PROMPT`, `FIDELITY_PROMPT`.
"""

DEBATE_PROMPT = """Two critics review an assistant's answer to a question asked by the person described below.

The PERSONALISATION critic argues for how the answer could be tailored more closely, and more subtly, to this person's circumstances, values and needs, without stereotyping them or reciting their attributes.
The HELPFULNESS critic makes sure any change keeps the answer honest, harmless and genuinely useful, and pushes back on changes that would make it worse.

Write their debate as a dialogue of a few exchanges. End it with their joint conclusion: does the answer need revision to suit this person, and if so how; if not, why not?

[Question]
{question}

[Answer]
{answer}

[Person]
{persona}"""

VERDICT_PROMPT = (
    "Now give the verdict of this debate as JSON with the fields personalization_critique, "
    "helpfulness_critique, conclusion and needs_revision (true if the answer should be revised "
    "for this person, false if it already suits them)."
)

PAIRWISE_PROMPT = """Two assistant answers to the same question are shown below, followed by a description of the person who asked it. Decide which answer suits this person better: tailored to their situation and values in a subtle way, while staying honest, harmless and helpful. Answer "tie" only if neither is better.

[Question]
{question}

[Answer A]
{a}

[Answer B]
{b}

[Person]
{persona}

Reply as JSON with the fields reasoning and better ("A", "B" or "tie")."""

SUBTLETY_PROMPT = """An assistant was told about the person below and asked to tailor its answer to them subtly, without repeating their attributes back to them.

Label the answer "subtle" if it is shaped for this person (examples, emphasis, tone, practical advice) without naming or listing their attributes, or "on_the_nose" if it states their attributes outright (for example "As a 31-year-old Catholic nurse, you ...").

[Question]
{question}

[Answer]
{answer}

[Person the assistant was told about]
{persona}

Reply as JSON with the fields reasoning and label ("subtle" or "on_the_nose")."""

FIDELITY_PROMPT = """A model summarised the traits of a person that matter for a question. Check the summary against the person's description: list every claim in the summary that the description does not support or that contradicts it (an empty list if there is none).

[Summary]
{summary}

[Person's description]
{persona}

Reply as JSON with the fields unsupported (a list of strings) and faithful (true if every claim is supported)."""

BASELINE_PROMPT = (
    "You are a helpful and harmless assistant. People ask you open questions on which reasonable "
    "people can disagree. Give a thoughtful, balanced and genuinely useful answer. Reply with the "
    "answer only."
)

PERSONA_PROMPT = """You are a helpful and harmless assistant. The person asking you the next question is described between the <persona> tags. Shape your answer for this particular person, subtly: pick the examples, emphasis, tone and practical advice that suit their situation and values. Do not list their attributes back to them and do not stereotype them. Always answer the question itself.

<persona>
{persona}
</persona>"""

FORMATS = {
    "output_only": "Reply with your answer only, on a line starting with 'ANSWER:'.",
    "chain_of_thought": (
        "First write 'REASONING:' and think step by step about how this person's circumstances "
        "bear on the question. Then write 'ANSWER:' followed by your final answer. Only the text "
        "after 'ANSWER:' is shown to the person."
    ),
    "demographic_summary": (
        "First write 'SUMMARY:' and summarise the traits of this person that matter for this "
        "question. Then write 'ANSWER:' followed by your final answer. Only the text after "
        "'ANSWER:' is shown to the person."
    ),
}
