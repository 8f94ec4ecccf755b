"""Character traits (Persona vectors, Chen et al. 2025): the trait_expression benchmark and its tools.

Modules: ``artifact`` (the file format of a trait: instruction pairs, questions, judge rubric),
``dataset`` (shipped and user artifacts by name or path; the samples), ``prompts`` (our prompt
wording), ``task`` (``trait_expression``), ``scorer`` (the trait and coherence judges, 0-100
logprob ratings through `persona_evals.scorers.logprob_judge`), ``results`` (rows and frames
read from its logs), ``draft`` (an LLM drafts a new trait's artifacts), ``extract`` (persona
vectors from pos and neg logs), ``finetune_data`` (finetuning chats from a trait) and
``pipeline`` (the draft and finetuning-chat evals run, their logs read back). Shipped
artifacts live in ``persona_evals/traits/data/<trait>_{extract,eval}.json``.
"""
