"""Tiny random causal LMs built in-process, for fast offline tests of steering mechanics.

Each model has a BPE tokenizer trained on a small in-memory corpus, a ChatML chat template and
a few layers of random weights. Their text is noise: test shapes, hook deltas and parity with
plain transformers, never golden strings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Arch = Literal["llama", "qwen2"]

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

NO_SYSTEM_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""ChatML that refuses a system message, as Gemma's template does."""

_CORPUS = [
    "You are a helpful assistant. Answer the question briefly and kindly.",
    "What is the capital of France? The capital of France is Paris.",
    "An evil assistant plots harm; a helpful assistant offers care and honest advice.",
    "The quick brown fox jumps over the lazy dog while the cat sleeps in the sun.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 25 50 75 100. Scores range from zero to one hundred.",
    "I feel anxious about tomorrow, but I am confident that everything will be fine.",
    "Personas, vectors, layers, residual streams and steering coefficients.",
]


def build_tokenizer(vocab_size: int = 512):  # -> PreTrainedTokenizerFast
    """A byte-level BPE tokenizer with ChatML specials, left padding and a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<pad>",
    )
    fast.padding_side = "left"
    fast.chat_template = CHATML_TEMPLATE
    return fast


def build_tiny_model(
    path: str | Path, arch: Arch = "llama", seed: int = 0, system_role: bool = True, heads: int = 4
) -> Path:
    """Save a tiny random model (4 layers, hidden 64) and its tokenizer to `path`; without
    `system_role`, its chat template refuses system messages (`NO_SYSTEM_TEMPLATE`). `heads`
    attention heads (half as many key/value heads): 2 gives the head size 32 that vLLM's CPU
    attention needs (its smallest)."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    path = Path(path)
    tokenizer = build_tokenizer()
    if not system_role:
        tokenizer.chat_template = NO_SYSTEM_TEMPLATE
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    if arch == "llama":
        config = LlamaConfig(tie_word_embeddings=True, **common)
    elif arch == "qwen2":
        # AutoTokenizer would pick Qwen2Tokenizer for a qwen2 config; name the fast class.
        config = Qwen2Config(tie_word_embeddings=False, tokenizer_class="PreTrainedTokenizerFast", **common)
    else:
        raise ValueError(f"arch must be 'llama' or 'qwen2', got {arch!r}")
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    # Random init with std 0.02 gives near-uniform logits; widen it so greedy text varies by input.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.2)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.generation_config.do_sample = False
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
