import pandas as pd
import pytest
import torch

from persona_evals.cli import main
from persona_evals.steering.vectors import cosine_matrix, save_vectors
from persona_evals.traits.results import projection_frame


def test_cosine_matrix_of_known_directions(tmp_path):
    e0, e1 = torch.zeros(3, 8), torch.zeros(3, 8)
    e0[:, 0], e1[:, 1] = 2.0, 5.0
    a = save_vectors(tmp_path / "a.safetensors", {"response_avg": e0, "prompt_last": -e0})
    b = save_vectors(tmp_path / "b.safetensors", {"vector": e1 + e0})
    labels, cos = cosine_matrix([str(a), f"{a}#prompt_last", str(b)], layer=1)
    assert labels == ["a", "a#prompt_last", "b"]
    assert cos[0, 1] == pytest.approx(-1) and cos[0, 0] == pytest.approx(1)
    assert cos[0, 2] == pytest.approx(2 / 29**0.5, abs=1e-6)  # cos((2,0), (2,5))


def test_vector_cosine_command_and_errors(tmp_path, capsys):
    a = save_vectors(tmp_path / "a.safetensors", {"vector": torch.randn(3, 8)})
    b = save_vectors(tmp_path / "b.safetensors", {"vector": torch.randn(3, 16)})
    out = tmp_path / "cos.png"
    assert main(["viz", "vector-cosine", str(a), str(a), "--layer", "2", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    [pair] = pd.read_csv(tmp_path / "cos.csv").to_dict("records")  # the heatmap's one cell off its diagonal
    assert (pair["a"], pair["b"], pair["trait_a"]) == ("a", "a", "a") and pair["cosine"] == pytest.approx(1.0)
    assert main(["viz", "vector-cosine", str(a), "--layer", "2", "--out", str(tmp_path / "one.png")]) == 0
    assert (tmp_path / "one.csv").read_text().strip() == "a,b,trait_a,trait_b,cosine"  # no pair: the header alone
    assert main(["viz", "vector-cosine", str(a), str(b), "--layer", "1"]) == 2
    assert "different hidden sizes" in capsys.readouterr().err
    assert main(["viz", "vector-cosine", str(a), "--layer", "7"]) == 2
    assert "--layer 7 is outside 0..2" in capsys.readouterr().err


def test_projection_trait_from_a_project_csv(tmp_path, capsys, drawn):
    from persona_evals.viz import vectors

    calls = drawn(vectors, "projection_figure")
    csv = tmp_path / "p.csv"
    pd.DataFrame({"id": list("abcd"), "trait": [10, 20, 30, None], "v_proj_layer2": [1.0, 2.0, 3.5, 4.0],
                  "v_prompt_last_proj_layer2": [0, 0, 0, 0]}).to_csv(csv, index=False)
    frame, name = projection_frame(None, str(csv), None)
    assert name == "v_proj_layer2" and len(frame) == 3  # the unscored sample is left out
    out = tmp_path / "pt.png"
    assert main(["viz", "projection-trait", "--csv", str(csv), "--out", str(out)]) == 0
    assert "Pearson r=0.99" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "pt.csv")  # the points drawn
    assert table.to_dict("list") == {"trait": [10.0, 20.0, 30.0], "proj": [1.0, 2.0, 3.5]}
    [(_, fig)] = calls
    assert fig.axes[0].collections[0].get_offsets().tolist() == table[["proj", "trait"]].values.tolist()


def test_projection_trait_refuses_logs_of_another_task(tmp_path, capsys):
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample

    from persona_evals.testing import scripted_model

    [log] = eval(Task(dataset=[Sample(input="hi")], name="other_task"), model=scripted_model(["hello"]),
                 log_dir=str(tmp_path / "logs"), display="none")
    assert main(["viz", "projection-trait", log.location, "--out", str(tmp_path / "pt.png")]) == 2
    assert f"expected trait_expression logs, got: {log.location} (other_task)" in capsys.readouterr().err
