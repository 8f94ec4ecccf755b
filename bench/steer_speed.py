"""Speed of the `steer` provider, as ratios measured in one run, on any device.

    .venv/bin/python bench/steer_speed.py [--model smollm2 | --random-config tiny|smollm2-135m|smollm2-360m|smollm2-1.7b]
        [--device auto] [--dtype auto] [--threads N] [--prompts 64] [--tokens 64] [--batch-size 32] [--repeats 5] [--only 1,2,3,4,5]

(1) steer through inspect's model API (asyncio.gather of every prompt) vs our decode loop
    (`generate_batch`) called directly on the same batches, and plain transformers `generate`  target <= 1.1
    Also timed: the same calls to a provider that answers at once (inspect's own per-call work,
    which shares the GIL with a Python-bound decode loop), and the API path less that work
    over the direct loop: what our provider, batcher and decode thread cost.
(2) steered vs unsteered decode loop, same batches, same number of tokens (EOS ignored)        target <= 1.05
(3) a 6-cell coefficient sweep (6 steer models x --cell-prompts prompts, batch_size 6 x that)
    sharing batches vs one cell alone (batch_size = its prompts)                               target <= 1.5
    Also timed: the same rows through the decode loop alone, and inspect's own work for the calls.
(4) an inspect eval of every prompt, greedy: steer vs the built-in hf provider, same
    --max-connections and batch size                                                            target <= 0.67
(5) on CUDA: the compiled static-cache decode loop vs the eager one, and its throughput vs
    plain `generate`                                                                            target >= 3x

`--random-config NAME` builds a randomly initialised model of that shape with SmolLM2's
tokenizer (cached under the persona-evals cache dir), so no download is needed: timings of
random weights are real timings (greedy text is noise; EOS is rare on large vocabularies).
`tiny` is the tiny random Llama of `persona_evals.testing` (hidden 64, 4 layers), the proxy for
a GPU: its decode loop is bound by Python, not FLOPs; run it with --threads 1.
Each pair is measured `--repeats` times, sides alternating (ABAB, then BABA), after one warm-up
run of each; medians are compared. Models are loaded before any timing.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
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

TOPICS = (
    "France Germany Italy Spain Japan Egypt Canada Australia Brazil Kenya Norway Portugal Greece Russia China India "
    "Mexico Argentina Poland Ireland Sweden Finland Chile Peru Turkey Iran Iraq Cuba Ghana Nigeria Austria Belgium"
).split()
# SmolLM2's shapes (Llama), for --random-config
SHAPES = {
    "smollm2-135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3),
    "smollm2-360m": dict(hidden_size=960, intermediate_size=2560, num_hidden_layers=32, num_attention_heads=15, num_key_value_heads=5),
    "smollm2-1.7b": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=24, num_attention_heads=32, num_key_value_heads=32),
}
CELL_COEFS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0)


def gatherer():
    """`gather(calls)`: a callable that runs every coroutine of `calls()` at once (`asyncio.gather`)
    on one event loop shared by every model-API call, as in an eval."""
    loop = asyncio.new_event_loop()

    def gather(calls):
        async def go():
            return await asyncio.gather(*calls())

        return lambda: loop.run_until_complete(go())

    return gather


def prompts(n: int) -> list[str]:
    return [f"Tell me one interesting fact about {TOPICS[i % len(TOPICS)]} (question {i})." for i in range(n)]


def random_model(name: str, dtype: str, device: str) -> str:
    """A saved, randomly initialised model of shape `name` (built once, then reused)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    from persona_evals.env import cache_dir
    from persona_evals.steering.embedded import embedded_dir
    from persona_evals.steering.loading import pick_device, pick_dtype

    dev = pick_device(device)
    torch_dtype = pick_dtype(dtype, dev)
    target = cache_dir() / "bench-models" / f"{name}-{str(torch_dtype).removeprefix('torch.')}"
    if (target / "config.json").exists():
        return str(target)
    if name == "tiny":
        from persona_evals.testing.tiny_models import build_tiny_model

        return str(build_tiny_model(target, "llama"))
    if name not in SHAPES:
        raise SystemExit(f"--random-config must be one of {['tiny', *SHAPES]}, got {name!r}")
    tokenizer = AutoTokenizer.from_pretrained(embedded_dir("smollm2"))
    config = LlamaConfig(
        vocab_size=len(tokenizer), max_position_embeddings=8192, rope_theta=100000.0, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        **SHAPES[name],
    )
    torch.manual_seed(0)
    with torch.device(dev):
        model = AutoModelForCausalLM.from_config(config, dtype=torch_dtype)
    model.generation_config.do_sample = False
    partial = target.with_name(target.name + ".partial")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(target)
    return str(target)


def answering_model(answers, max_connections: int):
    """A model whose provider answers every call at once with the next of `answers` (text and
    usage as steer gave them): timing its calls times inspect's own per-call work, no model."""
    from inspect_ai.model import GenerateConfig, ModelAPI, ModelOutput, get_model, modelapi

    @modelapi(name="bench-answers")
    class AnswersAPI(ModelAPI):
        def __init__(self, model_name: str, base_url=None, api_key=None, config=GenerateConfig(), **model_args) -> None:
            super().__init__(model_name=model_name, base_url=base_url, api_key=api_key, config=config)
            self.calls = 0

        async def generate(self, input, tools, tool_choice, config) -> ModelOutput:
            answer = answers[self.calls % len(answers)]
            self.calls += 1
            output = ModelOutput.from_content(self.model_name, answer.completion, answer.stop_reason)
            output.usage = answer.usage
            return output

        def max_connections(self) -> int:
            return max_connections

    return get_model("bench-answers/floor", memoize=False)


class Timer:
    """Median of alternating runs; CUDA work is synchronised around every timed region."""

    def __init__(self, repeats: int, cuda: bool) -> None:
        self.repeats, self.cuda = repeats, cuda

    def once(self, fn) -> float:
        import torch

        if self.cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - start

    def compare(self, *fns) -> list[float]:
        for fn in fns:  # warm-up (and compilation) outside the timing
            fn()
        times: list[list[float]] = [[] for _ in fns]
        for r in range(self.repeats):
            order = list(range(len(fns))) if r % 2 == 0 else list(reversed(range(len(fns))))
            for i in order:
                times[i].append(self.once(fns[i]))
        return [statistics.median(t) for t in times]


def line(label: str, a: float, b: float, target: str) -> None:
    print(f"{label:44s} {a:8.3f} s / {b:8.3f} s = {a / b:6.3f}   ({target})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2", help="embedded name, local dir or HF id (default smollm2)")
    ap.add_argument("--random-config", help="a random model of this shape instead: tiny, " + ", ".join(SHAPES))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: all cores)")
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--cell-prompts", type=int, default=8, help="prompts per sweep cell (6 cells)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", default="1,2,3,4,5", help="which measures, e.g. 1,3")
    args = ap.parse_args()
    only = {int(x) for x in args.only.split(",") if x.strip() in {"1", "2", "3", "4", "5"}}
    if len(only) != len(args.only.split(",")):
        ap.error(f"--only: expected measure numbers 1-5 separated by commas, got {args.only!r}")

    import torch
    from inspect_ai.model import ChatMessageUser, GenerateConfig, get_model

    from persona_evals.steering.chat import render_prompt
    from persona_evals.steering.generation import GenRequest, Sampling, generate_batch
    from persona_evals.steering.loading import load_shared
    from persona_evals.steering.rows import RowSteering
    from persona_evals.steering.vectors import save_vectors

    if args.threads:
        torch.set_num_threads(args.threads)
    path = random_model(args.random_config, args.dtype, args.device) if args.random_config else args.model
    shared = load_shared(path, args.dtype, args.device)
    cuda = shared.device.type == "cuda"
    timer = Timer(args.repeats, cuda)
    tok = shared.tokenizer
    texts = prompts(args.prompts)
    rendered = [render_prompt(tok, [ChatMessageUser(content=p)]) for p in texts]
    requests = [GenRequest(tuple(tok(t, add_special_tokens=False)["input_ids"]), args.tokens) for t in rendered]
    batches = [requests[i : i + args.batch_size] for i in range(0, len(requests), args.batch_size)]
    greedy = GenerateConfig(temperature=0.0, max_tokens=args.tokens)
    device_name = torch.cuda.get_device_name(shared.device) if cuda else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    print(f"{args.random_config or args.model} ({'random ' if args.random_config else ''}{shared.num_layers} layers, hidden "
          f"{shared.hidden_size}) {shared.dtype} on {shared.device} [{device_name}]; torch {torch.__version__}; "
          f"{args.prompts} prompts x {args.tokens} new tokens, batch {args.batch_size}; medians of {args.repeats} "
          f"alternating runs; load average {os.getloadavg()[0]:.2f}", flush=True)
    gather = gatherer()

    def direct(static=None):
        return lambda: [generate_batch(shared, b, Sampling(), static=static) for b in batches]

    def warm(static) -> None:
        """Compile every row bucket a batch may take (1, 2, 4, .. batch size) before any timing."""
        k = 1
        while static is not None and k < 2 * args.batch_size:
            generate_batch(shared, requests[: min(k, args.batch_size)], Sampling(), static=static)
            k *= 2

    def plain():
        with torch.inference_mode():
            for i in range(0, len(rendered), args.batch_size):
                enc = tok(rendered[i : i + args.batch_size], return_tensors="pt", padding=True, add_special_tokens=False).to(shared.device)
                shared.model.generate(**enc, max_new_tokens=args.tokens, do_sample=False, pad_token_id=tok.pad_token_id)

    steer = get_model(f"steer/{path}", memoize=False, batch_size=args.batch_size, dtype=args.dtype, device=args.device, compile="false")
    if 1 in only:
        api = gather(lambda: [steer.generate(p, config=greedy) for p in texts])
        answers = api()  # what the floor's provider hands back
        floor_model = answering_model(answers, args.batch_size)
        floor = gather(lambda: [floor_model.generate(p, config=greedy) for p in texts])
        t_api, t_direct, t_plain, t_floor = timer.compare(api, direct(), plain, floor)
        line("(1) model API / direct decode loop", t_api, t_direct, "target <= 1.1")
        line("    direct decode loop / plain generate", t_direct, t_plain, "for reference")
        print(f"    inspect's own work: the {len(texts)} calls to a provider that answers at once {t_floor:8.3f} s "
              f"= {t_floor / t_direct:.3f} of the direct loop", flush=True)
        line("    (model API - inspect's own work) / direct", t_api - t_floor, t_direct, "our provider, batcher, thread")

    if 2 in only:
        no_eos = dataclasses.replace(shared, eos_token_ids=frozenset())  # same token count both sides
        torch.manual_seed(0)
        row = RowSteering({shared.num_layers // 2: torch.randn(shared.hidden_size) * 2.0}, "response")
        steered = [[dataclasses.replace(r, steering=row) for r in b] for b in batches]
        t_unsteered, t_steered = timer.compare(
            lambda: [generate_batch(no_eos, b, Sampling()) for b in batches],
            lambda: [generate_batch(no_eos, b, Sampling()) for b in steered],
        )
        line("(2) steered / unsteered decode loop", t_steered, t_unsteered, "target <= 1.05")

    if 3 in only:
        vec = Path(tempfile.mkdtemp(prefix="steer-bench-")) / "v.safetensors"
        torch.manual_seed(0)
        save_vectors(vec, {"vector": torch.randn(shared.num_layers + 1, shared.hidden_size)})
        cell_size = len(CELL_COEFS) * args.cell_prompts
        cells = [
            get_model(f"steer/{path}", memoize=False, vector=str(vec), layer=shared.num_layers // 2, coef=c,
                      batch_size=cell_size, dtype=args.dtype, device=args.device, compile="false")
            for c in CELL_COEFS
        ]
        single = get_model(f"steer/{path}", memoize=False, vector=str(vec), layer=shared.num_layers // 2,
                           coef=CELL_COEFS[-1], batch_size=args.cell_prompts, dtype=args.dtype, device=args.device,
                           compile="false")
        few = texts[: args.cell_prompts]
        sweep = gather(lambda: [m.generate(p, config=greedy) for m in cells for p in few])
        one = gather(lambda: [single.generate(p, config=greedy) for p in few])
        t_sweep, t_one = timer.compare(sweep, one)
        line(f"(3) sweep {len(CELL_COEFS)} cells x {args.cell_prompts} / 1 cell, batch {cell_size}", t_sweep, t_one, "target <= 1.5")
        # the decode loop's own share: the same rows (each with its cell's steering) called directly
        rows = [dataclasses.replace(r, steering=m.api.steering) for m in cells for r in requests[: args.cell_prompts]]
        t_rows, t_cell = timer.compare(lambda: generate_batch(shared, rows, Sampling()),
                                       lambda: generate_batch(shared, rows[-args.cell_prompts :], Sampling()))
        line(f"    decode loop alone, {cell_size} rows / {args.cell_prompts} rows", t_rows, t_cell, "for reference")
        floor_model = answering_model(sweep(), cell_size)
        floors = [gather(lambda k=k: [floor_model.generate(p, config=greedy) for p in texts[:k]]) for k in (cell_size, len(few))]
        t_floor_sweep, t_floor_one = timer.compare(*floors)
        print(f"    inspect's own work: {cell_size} calls {t_floor_sweep:.3f} s, {len(few)} calls {t_floor_one:.3f} s; "
              f"the sweep less it / one cell less it = {(t_sweep - t_floor_sweep) / (t_one - t_floor_one):.3f}", flush=True)

    if 4 in only:
        from inspect_ai import Task, eval
        from inspect_ai.dataset import MemoryDataset, Sample
        from inspect_ai.solver import generate

        task = Task(dataset=MemoryDataset([Sample(id=str(i), input=p) for i, p in enumerate(texts)]), solver=generate())
        options = dict(max_connections=args.batch_size, max_tokens=args.tokens, temperature=0.0, display="none",
                       log_dir=tempfile.mkdtemp(prefix="steer-bench-logs-"))
        hf = get_model(f"hf/{shared.path}", memoize=False, device=str(shared.device), dtype=shared.dtype,
                       batch_size=args.batch_size, do_sample=False)
        steer_eval = get_model(f"steer/{path}", memoize=False, batch_size=args.batch_size, dtype=args.dtype, device=args.device)
        warm(steer_eval.api.static)  # on CUDA (compile=auto): partial batches must not compile while timed
        t_steer, t_hf = timer.compare(lambda: eval(task, model=steer_eval, **options), lambda: eval(task, model=hf, **options))
        line(f"(4) inspect eval, steer / hf provider{' (steer compiled)' if steer_eval.api.static else ''}", t_steer, t_hf, "target <= 0.67")

    if 5 in only:
        from persona_evals.steering.static import compile_reason, resolve_compile

        reason = compile_reason(shared, None)
        if reason is not None:
            print(f"(5) compiled decode: skipped ({reason})")
        else:
            static = resolve_compile("true", shared, None)  # full batches only: the warm-up run compiles them
            t_compiled, t_eager, t_plain = timer.compare(direct(static), direct(), plain)
            if static.error:
                print(f"(5) compiled decode FAILED, fell back to eager: {static.error}")
            line("(5) compiled / eager decode loop", t_compiled, t_eager, "lower is better")
            line("    plain generate / compiled decode loop", t_plain, t_compiled, "target >= 3")
    print(f"load average at the end {os.getloadavg()[0]:.2f}", file=sys.stderr)


if __name__ == "__main__":
    main()
