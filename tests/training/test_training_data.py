"""Chat JSONL reading (errors name file and line) and the assistant-only label mask."""

import json

import pytest
from transformers import AutoTokenizer

from persona_evals.datasets.chats import Chat, ChatFileError, read_chats, write_chats
from persona_evals.steering.chat import render_turns
from persona_evals.steering.loading import load_shared
from persona_evals.training.data import IGNORE, encode_chat, split_eval

CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And the lazy dog?"},
    {"role": "assistant", "content": "It sleeps in the sun."},
]


def _write(path, lines):
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def _spans(labels):
    """Maximal runs of labelled positions as (start, end)."""
    spans, start = [], None
    for i, label in enumerate([*labels, IGNORE]):
        if label != IGNORE and start is None:
            start = i
        if label == IGNORE and start is not None:
            spans.append((start, i))
            start = None
    return spans


def test_label_mask_covers_assistant_turns_only(tmp_path, tiny_llama):
    tok = AutoTokenizer.from_pretrained(tiny_llama)
    chat = read_chats(_write(tmp_path / "c.jsonl", [{"messages": CHAT}]))[0]
    enc = encode_chat(tok, chat, max_len=4096)
    assert len(enc.input_ids) == len(enc.labels)
    # the ids are the whole rendered chat, and labels equal the ids where set
    assert tok.decode(enc.input_ids) == render_turns(tok, CHAT, add_generation_prompt=False)
    assert all(label in (IGNORE, i) for i, label in zip(enc.input_ids, enc.labels))
    spans = _spans(enc.labels)
    texts = [tok.decode(enc.input_ids[a:b]) for a, b in spans]
    assert texts == ["Paris.<|im_end|>\n", "It sleeps in the sun.<|im_end|>\n"]
    # what precedes each span is exactly the prompt inference would send (generation prompt included)
    for (a, _), n in zip(spans, (2, 4)):
        assert tok.decode(enc.input_ids[:a]) == render_turns(tok, CHAT[:n], add_generation_prompt=True)
    assert enc.n_labels == sum(b - a for a, b in spans) and not enc.truncated


def test_truncation_keeps_prefix_and_reports_it(tmp_path, tiny_llama):
    tok = AutoTokenizer.from_pretrained(tiny_llama)
    chat = read_chats(_write(tmp_path / "c.jsonl", [{"messages": CHAT}]))[0]
    full = encode_chat(tok, chat, max_len=4096)
    cut = encode_chat(tok, chat, max_len=len(full.input_ids) - 3)
    assert cut.truncated and cut.input_ids == full.input_ids[:-3] and cut.labels == full.labels[:-3]


@pytest.mark.parametrize(
    "lines, message",
    [
        ([], "holds no chat"),
        (["{not json"], "c.jsonl:1: not valid JSON"),
        ([{"messages": CHAT}, {"msgs": []}], 'c.jsonl:2: expected an object with a non-empty "messages"'),
        ([{"messages": [{"role": "robot", "content": "x"}]}], "c.jsonl:1: message 0 must be"),
        ([{"messages": CHAT[:2]}], "c.jsonl:1: the chat has no assistant turn"),
    ],
)
def test_bad_chat_files_name_the_line(tmp_path, lines, message):
    with pytest.raises(ChatFileError, match=message):
        read_chats(_write(tmp_path / "c.jsonl", lines))


def test_missing_file_and_last_turn_check(tmp_path):
    with pytest.raises(ChatFileError, match="no such file"):
        read_chats(tmp_path / "none.jsonl")
    path = _write(tmp_path / "c.jsonl", ["", {"messages": [*CHAT, {"role": "user", "content": "?"}]}])
    assert read_chats(path)[0].line == 2  # blank lines skipped, numbering kept
    with pytest.raises(ChatFileError, match="c.jsonl:2: the last message must be the assistant's answer"):
        read_chats(path, last_is_assistant=True)


def test_write_chats_refuses_existing_and_round_trips(tmp_path):
    path = tmp_path / "out.jsonl"
    rows = [{"messages": CHAT, "id": "x"}]
    write_chats(path, rows)
    with pytest.raises(FileExistsError, match="--overwrite"):
        write_chats(path, rows)
    write_chats(path, rows * 2, overwrite=True)
    back = read_chats(path)
    assert [c.record for c in back] == rows * 2 and back[0].answer == "It sleeps in the sun."
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temporary file left


def test_eval_split_is_seeded_and_disjoint():
    items = list(range(20))
    train, held = split_eval(items, 0.1, seed=0)
    assert len(held) == 2 and sorted(train + held) == items
    assert split_eval(items, 0.1, seed=0) == (train, held)
    assert split_eval(items, 0.1, seed=1)[1] != held
    assert split_eval(items, 0.0, seed=0) == (items, [])


def test_a_system_message_for_a_template_without_one_names_the_line(tiny_no_system):
    tok = load_shared(tiny_no_system).tokenizer
    turns = ({"role": "system", "content": "You are a pirate."}, {"role": "user", "content": "Where is Paris?"},
             {"role": "assistant", "content": "France."})
    chat = Chat(line=7, messages=turns, record={"messages": list(turns)})
    with pytest.raises(ChatFileError, match="line 7: a system message, but the model's chat template has no system role"):
        encode_chat(tok, chat, max_len=256)
