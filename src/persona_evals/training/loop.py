"""LoRA finetuning in a plain torch loop, with preventative steering or CAFT during training.

A plain loop rather than trl/Trainer: the steering and ablation hooks are the provider's own
context managers wrapped around the whole loop (so they are removed after training, also when it
raises), the loss is ours (assistant tokens only, normalised by the labelled tokens of the whole
accumulation window, as transformers' Trainer does), and resuming is exact (data order is a
function of seed and epoch, so the skipped windows are not recomputed).

Preventative steering adds Σ coef·v after block L at every position of every training forward
(`steer_residual` with no position mask); CAFT projects the QR-orthonormalised directions out
after block L at every position (`ablate_residual`). Padding sits after each row's tokens (right
padding), so steering it changes no real token. Evaluate the adapter unsteered.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import torch

from persona_evals.datasets.chats import file_sha256, read_chats
from persona_evals.paths import default_file_mode, writing
from persona_evals.steering.ablation import ablate_residual
from persona_evals.steering.adapters import base_fingerprint
from persona_evals.steering.hooks import PositionMask, steer_residual
from persona_evals.steering.layers import decoder_blocks
from persona_evals.steering.loading import pick_device, pick_dtype, resolve_model_path
from persona_evals.steering.terms import ablation_bases, load_terms, steering_deltas
from persona_evals.training.data import IGNORE, Encoded, encode_chats, split_eval
from persona_evals.training.options import FinetuneOptions
from persona_evals.training.record import library_versions, term_records, write_record
from persona_evals.training.rundir import OPTIONS_FILE, RunDir, RunDirError

STATE_FILE = "trainer_state.pt"


def finetune(
    opts: FinetuneOptions,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[..., None] | None = None,
    note: Callable[[str], None] | None = None,
) -> Path:
    """Train a LoRA adapter on `opts.data`; return the output folder (see `RunDir`).

    The options, the data, the model and the steering terms are checked before ``OUT.partial`` is
    made; a run that fails (or is interrupted) before its first checkpoint removes it again.
    Nothing is printed: `progress` gets ``(steps done, total steps, loss=...)`` (first with the
    step it starts from) and `note` a line about where it starts (a resumed checkpoint, or none).
    """
    opts.validate()
    run = RunDir(Path(opts.out))
    with run.lock():  # one run per OUT
        try:
            return _finetune(opts, run, resume, overwrite, progress or _silent, note or _silent)
        except BaseException:  # Ctrl-C too
            run.discard_if_untrained()  # nothing trained: nothing to --resume, nothing to block a rerun
            raise


def _silent(*args: Any, **kwargs: Any) -> None:
    pass


def _finetune(
    opts: FinetuneOptions,
    run: RunDir,
    resume: bool,
    overwrite: bool,
    progress: Callable[..., None],
    note: Callable[[str], None],
) -> Path:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run.check(resume, overwrite)
    chats = read_chats(opts.data)
    path = resolve_model_path(opts.model)
    device = pick_device(opts.device)
    dtype = pick_dtype(opts.dtype, device)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    encoded, cut_off = encode_chats(tokenizer, chats, opts.max_seq_len)
    if not encoded:
        raise ValueError(f"{opts.data}: no chat keeps an assistant token within --max-seq-len {opts.max_seq_len}")
    train_set, eval_set = split_eval(encoded, opts.eval_fraction, opts.seed)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device)
    num_layers, hidden = len(decoder_blocks(model)), int(model.config.hidden_size)
    steer_vecs, ablate_vecs = load_terms(opts.steer, "--steer"), load_terms(opts.ablate, "--ablate")
    deltas = steering_deltas(opts.steer, steer_vecs, num_layers, hidden, ("--steer", "--layer"))
    bases = ablation_bases(opts.ablate, ablate_vecs, num_layers, hidden, ("--ablate", "--layer"))
    _check_lora_targets(model, opts.lora_targets)

    start_from = run.prepare(resume, overwrite)  # only now: bad input never leaves a folder behind
    if resume and start_from is None:
        note(f"--resume: no checkpoint of an interrupted run in {run.partial}; starting afresh")
    _check_resumable(run, opts, start_from)
    with writing(run.partial / OPTIONS_FILE):
        (run.partial / OPTIONS_FILE).write_text(json.dumps(opts.describe(), indent=2))

    record: dict[str, Any] = {
        "base_model": opts.model,
        "base_model_path": path,
        "base_fingerprint": base_fingerprint(model),
        "data": {
            "path": opts.data, "sha256": file_sha256(opts.data), "chats": len(chats), "train": len(train_set),
            "eval": len(eval_set), "truncated": sum(e.truncated for e in encoded), "dropped_lines": cut_off,
        },
        "options": opts.describe(),
        "steering": term_records(opts.steer, steer_vecs, coef=True),
        "ablation": term_records(opts.ablate, ablate_vecs, coef=False),
        "versions": library_versions(),
        "device": str(device),
        "dtype": str(dtype).removeprefix("torch."),
    }
    peft_model = _lora(model, opts)
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    record["trainable_params"] = sum(p.numel() for p in trainable)
    optimizer = torch.optim.AdamW(trainable, lr=opts.lr, weight_decay=opts.weight_decay)
    total = total_steps(len(train_set), opts)
    scheduler = _scheduler(opts, optimizer, total)
    history: list[dict[str, float]] = []
    evals: list[dict[str, float]] = []
    step = 0
    if start_from is not None:
        step, history, evals = _restore(start_from, peft_model, optimizer, scheduler)
        note(f"resuming from {start_from.name} (step {step} of {total})")
    record["steps"] = total
    pad_id = int(tokenizer.pad_token_id)
    started = time.monotonic()

    def save(folder: Path, done: int) -> None:
        with writing(folder):  # a full disk: one line naming the folder
            peft_model.save_pretrained(str(folder))
            write_record(folder, {**record, "step": done, "history": history, "eval": evals,
                                  "seconds": round(time.monotonic() - started, 1)})
        for file in folder.iterdir():  # safetensors writes 0600: the adapter gets the mode of any new file
            if file.is_file():
                os.chmod(file, default_file_mode())

    progress(step, total)
    with ExitStack() as hooks:  # hooks live exactly as long as training, also when it raises
        if bases:  # entered first, so at a layer that is also steered the ablation runs last
            hooks.enter_context(ablate_residual(peft_model, bases))
        if deltas:
            hooks.enter_context(steer_residual(peft_model, deltas, PositionMask(None)))
        peft_model.train()
        for step, window in windows(train_set, opts, total, start=step):
            loss = train_step(peft_model, window, pad_id, opts.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            history.append({"step": step, "loss": round(loss, 6), "lr": scheduler.get_last_lr()[0]})
            progress(step, total, loss=f"{loss:.4f}")
            last = step == total
            if eval_set and ((opts.save_steps and step % opts.save_steps == 0) or last):
                evals.append({"step": step, "eval_loss": round(eval_loss(peft_model, eval_set, opts.batch_size, pad_id), 6)})
            if opts.save_steps and step % opts.save_steps == 0 and not last:
                run.save_checkpoint(step, lambda f: (save(f, step), _save_state(f, step, optimizer, scheduler)))
    save(run.partial, total)
    (run.partial / OPTIONS_FILE).unlink()
    return run.finish()


def total_steps(n_train: int, opts: FinetuneOptions) -> int:
    """Optimizer steps: --max-steps, else ceil(epochs × windows per epoch)."""
    per_epoch = math.ceil(math.ceil(n_train / opts.batch_size) / opts.grad_accum)
    return opts.max_steps or math.ceil(opts.epochs * per_epoch)


def windows(
    items: Sequence[Encoded], opts: FinetuneOptions, total: int, start: int = 0
) -> Iterator[tuple[int, list[list[Encoded]]]]:
    """(step, micro-batches) for steps start+1..total; each epoch a seeded shuffle of the data."""
    step, epoch = 0, 0
    while step < total:
        gen = torch.Generator().manual_seed(opts.seed * 1_000_003 + epoch)
        order = torch.randperm(len(items), generator=gen).tolist()
        batches = [[items[i] for i in order[j : j + opts.batch_size]] for j in range(0, len(order), opts.batch_size)]
        for w in range(0, len(batches), opts.grad_accum):
            step += 1
            if step > start:
                yield step, batches[w : w + opts.grad_accum]
            if step == total:
                return
        epoch += 1


def train_step(model: Any, window: list[list[Encoded]], pad_id: int, max_grad_norm: float) -> float:
    """Forward/backward every micro-batch; loss = Σ token CE / labelled tokens of the window."""
    n_tokens = sum(sum(label != IGNORE for label in e.labels[1:]) for batch in window for e in batch)
    total = 0.0
    for batch in window:
        ce = _token_ce(model, batch, pad_id) / n_tokens
        ce.backward()
        ce = ce.detach()
        total += ce.item()
    if max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], max_grad_norm)
    return total


def eval_loss(model: Any, items: Sequence[Encoded], batch_size: int, pad_id: int) -> float:
    """Mean token cross-entropy over the assistant tokens of `items` (training conditions: hooks on)."""
    was_training = model.training
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for j in range(0, len(items), batch_size):
            batch = list(items[j : j + batch_size])
            total += float(_token_ce(model, batch, pad_id))
            n += sum(sum(label != IGNORE for label in e.labels[1:]) for e in batch)
    model.train(was_training)
    return total / n


def _token_ce(model: Any, batch: Sequence[Encoded], pad_id: int) -> torch.Tensor:
    """Summed next-token cross-entropy over labelled positions of a right-padded batch (float32)."""
    device = model.get_input_embeddings().weight.device
    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    attn = torch.zeros((len(batch), width), dtype=torch.long)
    for i, e in enumerate(batch):
        ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[i, : len(e.labels)] = torch.tensor(e.labels)
        attn[i, : len(e.input_ids)] = 1
    ids, labels, attn = ids.to(device), labels.to(device), attn.to(device)
    logits = model(input_ids=ids, attention_mask=attn, use_cache=False).logits
    return torch.nn.functional.cross_entropy(
        logits[:, :-1].float().reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
        ignore_index=IGNORE, reduction="sum",
    )


def _check_lora_targets(model: Any, targets: Sequence[str]) -> None:
    """Every --lora-targets name must be a module of the model (checked before OUT.partial is made)."""
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [t for t in targets if t not in names]
    if missing:
        raise ValueError(f"--lora-targets: the model has no module named {missing}")


def _lora(model: Any, opts: FinetuneOptions) -> Any:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=opts.lora_r, lora_alpha=opts.lora_alpha, lora_dropout=opts.lora_dropout, bias="none",
        target_modules=list(opts.lora_targets), use_rslora=opts.rslora, task_type="CAUSAL_LM",
    )
    torch.manual_seed(opts.seed)  # LoRA A matrices are random: a seeded run is reproducible
    return get_peft_model(model, config)


def _scheduler(opts: FinetuneOptions, optimizer: torch.optim.Optimizer, total: int) -> Any:
    from transformers import get_scheduler

    return get_scheduler(opts.schedule, optimizer, num_warmup_steps=opts.warmup_steps, num_training_steps=total)


def _save_state(folder: Path, step: int, optimizer: Any, scheduler: Any) -> None:
    import io

    state = {"step": step, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "rng": torch.get_rng_state()}
    buffer = io.BytesIO()  # torch.save to a file reports a full disk without its cause; a plain write names it
    torch.save(state, buffer)
    with writing(folder / STATE_FILE):
        (folder / STATE_FILE).write_bytes(buffer.getvalue())


def _restore(folder: Path, peft_model: Any, optimizer: Any, scheduler: Any) -> tuple[int, list, list]:
    from peft import set_peft_model_state_dict
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights = folder / "adapter_model.safetensors"
    try:
        set_peft_model_state_dict(peft_model, load_file(str(weights)))
    except SafetensorError as ex:
        raise RunDirError(f"--resume: {weights} is not a readable safetensors file ({ex}); pass --overwrite to start over") from None
    state = torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    rec = json.loads((folder / "run.json").read_text())
    return int(state["step"]), rec["history"], rec["eval"]


def _check_resumable(run: RunDir, opts: FinetuneOptions, start_from: Path | None) -> None:
    saved = run.partial / OPTIONS_FILE
    if start_from is None or not saved.is_file():
        return
    changed = opts.differences(json.loads(saved.read_text()))
    if changed:
        raise RunDirError(
            f"--resume: the interrupted run in {run.partial} used other values of {changed}; "
            "resume with the same options, or pass --overwrite to start over"
        )
    recorded = json.loads((start_from / "run.json").read_text())["data"]["sha256"]
    if recorded != file_sha256(opts.data):
        raise RunDirError(f"--resume: {opts.data} has changed since the interrupted run (SHA-256 differs)")
