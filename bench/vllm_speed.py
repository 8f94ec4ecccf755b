"""Speed of `steer` on vLLM (-M engine=vllm), as ratios measured in one run.

    .venv/bin/python bench/vllm_speed.py [--model smollm2] [--prompts 64] [--tokens 64] [--cell-prompts 8]
        [--prefix-requests 16] [--prefix-tokens 1500] [--threads 1] [--repeats 3] [--only 1,2,3,4]

(1) vLLM steered / vLLM unsteered: the same prompts, max_tokens each (EOS ignored), all submitted at
    once to one engine; steered requests carry their terms and their records are taken   target <= 1.1
(2) vLLM steered / HF steer: an eval's calls (asyncio.gather through inspect's model API), greedy,
    the same steering; both engines write the same text, so the same tokens             report
(3) a 6-cell coefficient sweep (6 steer models x --cell-prompts prompts) on vLLM / on HF, each
    sharing one engine or one copy of the weights; and the vLLM sweep / one vLLM cell      report
(4) a long shared prefix (a critic-like prompt of --prefix-tokens, then a short answer to judge),
    --prefix-requests requests of 16 tokens, unsteered: prefix caching off / on             report

Each engine runs in this process (vLLM's engine core and worker are processes it spawns); on a
CPU vLLM's worker computes on one core and keeps one for its engine core, so the HF engine gets
--threads (default 1) for a like-for-like comparison. Each pair is measured --repeats times,
sides alternating, after one warm-up run of each; medians are compared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("INSPECT_DISPLAY", "none")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB per engine

sys.path.insert(0, str(Path(__file__).parent))
from steer_speed import CELL_COEFS, Timer, line, prompts  # noqa: E402

CRITIC = (
    "You are a careful critic of personalised answers. The user is described by the profile below; "
    "judge whether the answer fits this user, names what it assumes about them, and whether a reader "
    "would notice the personalisation. Profile:\n"
)
ATTRIBUTES = (
    "age: 37", "occupation: school nurse", "state: Oregon", "household: two children, one dog", "income: middle",
    "education: bachelor's degree in nursing", "religion: none", "politics: moderate", "hobbies: trail running, pottery",
    "health: mild asthma", "transport: bicycle and bus", "diet: vegetarian", "languages: English, some Spanish",
)


def critic_prefix(tokenizer, tokens: int) -> str:
    """A critic-like prompt head of about `tokens` tokens (the same for every request)."""
    text = CRITIC
    k = 0
    while len(tokenizer(text, add_special_tokens=False)["input_ids"]) < tokens:
        text += f"- {ATTRIBUTES[k % len(ATTRIBUTES)]} (noted in interview {k // len(ATTRIBUTES) + 1})\n"
        k += 1
    return text + "\nAnswer to judge:\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2", help="embedded name, local dir or HF id (default smollm2)")
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--cell-prompts", type=int, default=8, help="prompts per sweep cell (6 cells)")
    ap.add_argument("--prefix-requests", type=int, default=16)
    ap.add_argument("--prefix-tokens", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads of the HF engine")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", default="1,2,3,4", help="which measures, e.g. 1,4")
    args = ap.parse_args()
    only = {int(x) for x in args.only.split(",") if x.strip() in {"1", "2", "3", "4"}}
    if len(only) != len(args.only.split(",")):
        ap.error(f"--only: expected measure numbers 1-4 separated by commas, got {args.only!r}")

    import torch
    from inspect_ai.model import ChatMessageUser, GenerateConfig, get_model

    from persona_evals.steering.chat import render_prompt
    from persona_evals.steering.vectors import save_vectors
    from persona_evals.steering.vllm import wire
    from persona_evals.steering.vllm.calls import Call
    from persona_evals.steering.vllm.engine import shutdown_engines

    torch.set_num_threads(args.threads)
    common = {"dtype": args.dtype, "batch_size": max(args.prompts, len(CELL_COEFS) * args.cell_prompts)}
    start = time.perf_counter()
    plain = get_model(f"steer/{args.model}", memoize=False, engine="vllm", **common)
    started = time.perf_counter() - start
    model = plain.api.shared
    vec = Path(tempfile.mkdtemp(prefix="vllm-bench-")) / "v.safetensors"
    torch.manual_seed(0)
    save_vectors(vec, {"vector": torch.randn(model.num_layers + 1, model.hidden_size)})
    layer = model.num_layers // 2
    steer_args = {"vector": str(vec), "layer": layer, "coef": 2.0, **common}
    timer = Timer(args.repeats, cuda=False)
    texts = prompts(args.prompts)
    tok = model.tokenizer
    ids = [tuple(tok(render_prompt(tok, [ChatMessageUser(content=p)]), add_special_tokens=False)["input_ids"]) for p in texts]
    info = plain.api.vllm.engine.info
    print(f"{args.model} ({model.num_layers} layers, hidden {model.hidden_size}) {model.dtype} on vLLM 0.32 "
          f"({info.get('device')}) [{platform.processor() or platform.machine()}, {os.cpu_count()} cores]; engine start "
          f"{started:.1f} s; {args.prompts} prompts x {args.tokens} new tokens; medians of {args.repeats} alternating "
          f"runs; HF engine {args.threads} thread(s); load average {os.getloadavg()[0]:.2f}", flush=True)
    loop = asyncio.new_event_loop()  # one event loop for every model-API call, as in an eval

    def gather(calls):
        async def go():
            return await asyncio.gather(*calls())

        return lambda: loop.run_until_complete(go())

    greedy = GenerateConfig(temperature=0.0, max_tokens=args.tokens)

    if 1 in only:
        steered_api = get_model(f"steer/{args.model}", memoize=False, engine="vllm", **steer_args).api
        backend = steered_api.vllm
        terms, salt = backend.encoded(steered_api.steering)

        def run(steer: bool):
            def calls():
                out = []
                for p in ids:
                    payload = wire.encode_request(os.urandom(8).hex(), len(p), terms) if steer else None
                    out.append(Call(prompt_ids=p, max_tokens=args.tokens, ignore_eos=True, payload=payload, salt=salt if steer else None))
                return out

            return lambda: backend.engine.run_calls(calls())

        t_steered, t_plain = timer.compare(run(True), run(False))
        line("(1) vLLM steered / unsteered (EOS ignored)", t_steered, t_plain, "target <= 1.1")

    if 2 in only:
        vl = get_model(f"steer/{args.model}", memoize=False, engine="vllm", **steer_args)
        hf = get_model(f"steer/{args.model}", memoize=False, **steer_args)
        t_vl, t_hf = timer.compare(gather(lambda: [vl.generate(p, config=greedy) for p in texts]),
                                   gather(lambda: [hf.generate(p, config=greedy) for p in texts]))
        line("(2) vLLM steer / HF steer, model API, greedy", t_vl, t_hf, "report")

    if 3 in only:
        few = texts[: args.cell_prompts]
        cells = {
            engine: [get_model(f"steer/{args.model}", memoize=False, **{**steer_args, "coef": c}, **({"engine": "vllm"} if engine == "vllm" else {}))
                     for c in CELL_COEFS]
            for engine in ("vllm", "hf")
        }
        sweeps = [gather(lambda ms=ms: [m.generate(p, config=greedy) for m in ms for p in few]) for ms in cells.values()]
        one = gather(lambda: [cells["vllm"][-1].generate(p, config=greedy) for p in few])
        t_vl, t_hf, t_one = timer.compare(*sweeps, one)
        line(f"(3) sweep {len(CELL_COEFS)} cells x {args.cell_prompts}: vLLM / HF", t_vl, t_hf, "report")
        line("    vLLM sweep / one vLLM cell", t_vl, t_one, "for reference")

    if 4 in only:
        shutdown_engines()  # two fresh engines, one with prefix caching, one without
        head = critic_prefix(tok, args.prefix_tokens)
        answers = [f"({i}) {p} You could try a gentle trail run with your kids after school." for i, p in enumerate(prompts(args.prefix_requests))]
        calls = [Call(prompt_ids=tuple(tok(render_prompt(tok, [ChatMessageUser(content=head + a)]), add_special_tokens=False)["input_ids"]),
                      max_tokens=16, ignore_eos=True) for a in answers]
        engines = {}
        for caching in (False, True):
            m = get_model(f"steer/{args.model}", memoize=False, engine="vllm", vllm_enable_prefix_caching=caching, **common)
            engines[caching] = m.api.vllm.engine
        t_off, t_on = timer.compare(lambda: engines[False].run_calls(calls), lambda: engines[True].run_calls(calls))
        line(f"(4) {len(calls)} critic prompts of {len(calls[0].prompt_ids)} tokens: prefix caching off / on", t_off, t_on, "report")
    print(f"load average at the end {os.getloadavg()[0]:.2f}", file=sys.stderr)
    shutdown_engines()


if __name__ == "__main__":
    main()
