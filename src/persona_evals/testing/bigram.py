"""A hand-built language model whose reply distribution is known exactly, for judge tests.

`build_bigram_model` saves a real one-layer Llama whose next-token distribution depends only on
the current token, as given by a table: the embeddings are one-hot, the attention and MLP
outputs are zero (so the residual stream is the current token's one-hot vector), and the
unembedding holds the table's log probabilities. It runs through transformers, the KV cache and
the `steer` provider like any model, so the probability of a whole reply is a product of table
entries that a test can compute by hand.

Its word-level tokenizer has ChatML specials and a chat template (a prompt ends with the token
``"\\n"``, so ``table["\\n"]`` is the first reply token's distribution); digits are one token
each (``split_digits``, like SmolLM2, Qwen, Llama) or whole numbers are tokens of their own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from persona_evals.testing.tiny_models import CHATML_TEMPLATE

SPECIALS = ("<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>")
END = "<|im_end|>"
_FLOOR = -1e4  # the logit of a token the table leaves out (probability exactly 0 in float32)


def build_bigram_model(
    path: str | Path,
    words: Sequence[str],
    table: Mapping[str, Mapping[str, float]],
    split_digits: bool = True,
) -> Path:
    """Save a bigram model and its tokenizer to `path`.

    Args:
        words: the vocabulary besides the ChatML specials and ``"\\n"``, ``" "``.
        table: ``table[a][b]`` = P(next token b | current token a); each row must sum to 1.
            Rows left out are uniform.
        split_digits: digits are separate tokens ("85" is "8", "5"); otherwise a run of digits
            is one token (put the numbers in `words`).
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    vocab = [*SPECIALS, "\n", " ", *[w for w in words if w not in SPECIALS and w not in ("\n", " ")]]
    index = {w: i for i, w in enumerate(vocab)}
    for a, row in table.items():
        if abs(sum(row.values()) - 1) > 1e-9 or not set(row) <= set(index) or a not in index:
            raise ValueError(f"table row {a!r} must sum to 1 over vocabulary words")
    n = len(vocab)
    config = LlamaConfig(
        vocab_size=n, hidden_size=n, intermediate_size=8, num_hidden_layers=1, num_attention_heads=1,
        num_key_value_heads=1, head_dim=n, max_position_embeddings=4096, rms_norm_eps=1e-12,
        tie_word_embeddings=False, bos_token_id=index["<|endoftext|>"], eos_token_id=index[END],
        pad_token_id=index["<pad>"],
    )
    model = LlamaForCausalLM(config)
    logits = torch.full((n, n), math.log(1 / n))  # [next, current]: uniform where the table is silent
    for a, row in table.items():
        logits[:, index[a]] = _FLOOR
        for b, p in row.items():
            logits[index[b], index[a]] = math.log(p) if p > 0 else _FLOOR
    with torch.no_grad():
        model.model.embed_tokens.weight.copy_(torch.eye(n))
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        # RMSNorm turns the one-hot e_i into sqrt(n)·e_i; the head undoes the scale
        model.lm_head.weight.copy_(logits / math.sqrt(n))
    model.generation_config.eos_token_id = index[END]
    model.generation_config.pad_token_id = index["<pad>"]
    model.generation_config.do_sample = False
    path = Path(path)
    model.save_pretrained(path)
    _tokenizer(vocab, split_digits).save_pretrained(path)
    return path


def _tokenizer(vocab: list[str], split_digits: bool):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="<unk>"))
    digits = r"\d" if split_digits else r"\d+"
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(rf"{digits}|[A-Za-z]+|\s|[^\sA-Za-z\d]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<|endoftext|>", eos_token=END, pad_token="<pad>",
        additional_special_tokens=["<|im_start|>"],
    )
    fast.padding_side = "left"
    fast.chat_template = CHATML_TEMPLATE
    return fast
