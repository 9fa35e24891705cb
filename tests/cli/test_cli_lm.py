"""The command line end to end for language models, the main job and the shared verbs."""

from __future__ import annotations

import json

import pytest

from rnnkit.cli.main import main

TINY = ["--set", "model.hidden_size=16", "--set", "model.embedding_dim=8", "--set", "data.batch_size=4",
        "--set", "data.seq_len=16", "--quiet"]


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("the cat sat on the mat.\nthe dog sat on the log.\n" * 40, encoding="utf-8")
    return path


def test_version_and_recipes(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert main(["recipes"]) == 0
    assert "shakespeare-quick" in capsys.readouterr().out


def test_train_evaluate_predict_generate_lm(tmp_path, text_file, capsys):
    run = tmp_path / "run"
    config = tmp_path / "lm.toml"
    config.write_text('task = "lm"\n[train]\nepochs = 3\n[train.optim]\nlr = 0.01\n', encoding="utf-8")
    assert main(["train", str(config), "--data", str(text_file), "--out", str(run), *TINY]) == 0
    out = capsys.readouterr().out
    assert f"run directory: {run}" in out and "validation: loss=" in out
    for name in ("config.toml", "model.safetensors", "artifacts.json", "metrics.csv", "report.md"):
        assert (run / name).is_file(), name
    assert len((run / "metrics.csv").read_text().splitlines()) == 4  # header + 3 epochs

    assert main(["evaluate", str(run), "--data", str(text_file)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["nll"] < 3.0  # well under uniform over the ~20 symbols (log 20 = 3.0)

    assert main(["predict", str(run), str(text_file), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "text,nll,ppl,bits_per_token,tokens" and len(lines) == 81
    assert main(["predict", str(run), str(text_file)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    tokens = sum(r["tokens"] for r in rows)
    assert tokens == len(text_file.read_text()) - 1  # every character but the first, once
    assert sum(r["nll"] * r["tokens"] for r in rows) / tokens == pytest.approx(metrics["nll"], rel=1e-5)

    # settings that leave the model alone can change at predict time; the model's cannot
    assert main(["predict", str(run), str(text_file), "--set", "generate.length=5"]) == 0
    capsys.readouterr()
    assert main(["predict", str(run), str(text_file), "--set", "model.hidden_size=99"]) == 2
    assert "does not fit the model described by config.toml" in capsys.readouterr().err

    assert main(["generate", str(run), "--prime", "the ", "--length", "30", "--temperature", "0"]) == 0
    sample = capsys.readouterr().out.rstrip("\n")
    assert sample.startswith("the ") and len(sample) == 34
    assert main(["generate", str(run), "--prime", "the ", "--length", "30", "--temperature", "0"]) == 0
    assert capsys.readouterr().out.rstrip("\n") == sample  # greedy is deterministic


def test_resume_continues_an_interrupted_run(tmp_path, text_file, capsys):
    run = tmp_path / "run"
    args = ["train", "lm-missing.toml"]
    assert main(args) == 2
    assert "does not exist" in capsys.readouterr().err
    config = tmp_path / "lm.toml"
    config.write_text('task = "lm"\n[train]\nepochs = 2\nmax_steps = 4\n', encoding="utf-8")
    assert main(["train", str(config), "--data", str(text_file), "--out", str(run), *TINY]) == 0
    capsys.readouterr()
    # raise the step limit in the saved config and continue from the checkpoint
    cfg = (run / "config.toml").read_text().replace("max_steps = 4", "max_steps = 8")
    (run / "config.toml").write_text(cfg)
    assert main(["resume", str(run)]) == 0
    assert "after 8 steps" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "shakespeare-quick", "--set", "nope=1"], "unknown config key nope"),
        (["train", "shakespeare-quick", "--set", "train.max_steps=abc"], "train.max_steps must be int or none; got 'abc'"),
        (["train", "no-such-recipe"], "no config file, task or built-in recipe named 'no-such-recipe'"),
        (["evaluate", "/nonexistent/run"], "/nonexistent/run is not a run directory (no such folder)"),
    ],
)
def test_user_errors_exit_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_generate_refuses_unknown_characters(tmp_path, text_file, capsys):
    run = tmp_path / "run"
    config = tmp_path / "lm.toml"
    config.write_text('task = "lm"\n[train]\nmax_steps = 2\n', encoding="utf-8")
    assert main(["train", str(config), "--data", str(text_file), "--out", str(run), *TINY]) == 0
    assert main(["generate", str(run), "--prime", "QZ"]) == 2
    assert "--prime has characters the model never saw: ['Q', 'Z']" in capsys.readouterr().err


def test_main_job_runs_end_to_end_on_the_bundled_corpus(tmp_path, capsys):
    """The README's main job, cut to 3 steps of a tiny model: trains, samples, names the run dir."""
    run = tmp_path / "main"
    overrides = ["--set", "train.max_steps=3", "--set", "model.hidden_size=16", "--set", "data.batch_size=8",
                 "--set", "generate.length=40", "--set", "train.quiet=true"]
    assert main(["main", "--out", str(run), *overrides]) == 0
    out = capsys.readouterr().out
    assert "Tiny Shakespeare" in out and "--- sample" in out and f"run directory: {run}" in out
    assert (run / "model.safetensors").is_file()


def test_train_predict_generate_a_conditional_generator(tmp_path, capsys):
    """task = "generate" through the CLI: a label in, a text out."""
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "a great film i loved it,pos\nan awful film i hated it,neg\n" * 12,
                    encoding="utf-8")
    run = tmp_path / "run"
    config = tmp_path / "gen.toml"
    config.write_text('task = "generate"\n[train]\nepochs = 12\n[train.optim]\nlr = 0.02\n', encoding="utf-8")
    assert main(["train", str(config), "--data", str(data), "--out", str(run), "--set", "model.hidden_size=16",
                 "--set", "model.embedding_dim=8", "--set", "data.batch_size=4", "--quiet"]) == 0
    assert "validation: loss=" in capsys.readouterr().out
    assert main(["predict", str(run), str(data)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 24 and rows[1]["condition"] == "neg" and rows[1]["tokens"] == 7  # 6 words and <eos>
    samples = []
    for label in ("pos", "neg", "pos"):
        assert main(["generate", str(run), "--condition", label, "--length", "6", "--temperature", "0"]) == 0
        samples.append(capsys.readouterr().out.strip())
    assert samples[0] == samples[2] != samples[1]
    assert main(["generate", str(run), "--condition", "meh"]) == 2
    assert "condition 'meh' is not one of the training labels ['neg', 'pos']" in capsys.readouterr().err


def test_generate_streams_the_text_it_returns(tmp_path):
    """`rnnkit generate` writes its text piece by piece as it is sampled; the pieces are the text."""
    from rnnkit import api

    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20)
    for level in ("char", "word"):
        run = api.fit("lm", corpus, out=tmp_path / level, settings={
            "train.epochs": 1, "model.hidden_size": 8, "data.level": level, "data.batch_size": 2,
            "data.seq_len": 4, "generate.prime": "the cat\n"})
        pieces: list[str] = []
        text = run.generate(length=30, seed=3, on_text=pieces.append)
        assert len(pieces) == 31 and "".join(pieces) == text  # the prime, then one piece per token
        assert text == run.generate(length=30, seed=3)


def test_generate_task_streams_the_text_it_returns(tmp_path):
    from rnnkit import api

    texts = ["a great film", "a fine film", "an awful film", "a dull film"] * 5
    run = api.fit("generate", texts, ["pos", "pos", "neg", "neg"] * 5, out=tmp_path / "gen",
                  settings={"train.epochs": 1, "model.hidden_size": 8})
    pieces: list[str] = []
    text = run.generate(condition="neg", prime="a", length=6, seed=1, on_text=pieces.append)
    assert "".join(pieces) == text and text.startswith("a") and 1 <= len(pieces) <= 7  # the text may end at eos
