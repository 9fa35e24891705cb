"""Task ``seq2seq`` end to end: TOML config → train → run directory → evaluate → predict,
for TSV pairs at char and word level, through rnnkit.tasks.runner and the CLI."""

from __future__ import annotations

import json
import random

import pytest

from rnnkit.cli.main import main
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import runner

# Without input feeding and with full teacher forcing the decoder runs over all steps in one call: fast.
FAST = ["model.embedding_dim=12", "model.hidden_size=32", "model.input_feeding=false", "train.quiet=true"]


def reversal_pairs(path, n: int, seed: int) -> str:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(n):
            w = "".join(rng.choice("abcde") for _ in range(rng.randint(2, 5)))
            f.write(f"{w}\t{w[::-1]}\n")
    return str(path)


def write_config(path, body: str) -> str:
    path.write_text('task = "seq2seq"\n' + body, encoding="utf-8")
    return str(path)


def test_char_reversal_learns_and_round_trips(tmp_path):
    data = reversal_pairs(tmp_path / "pairs.tsv", 400, 0)
    cfg_file = write_config(tmp_path / "rev.toml", '[data]\nsource_level = "char"\ntarget_level = "char"\n'
                            "batch_size = 16\nval_fraction = 0.1\n[decode]\nmax_len = 8\neval_batches = 2\n"
                            "[train]\nepochs = 12\n[train.optim]\nlr = 0.02\n")
    result = runner.train(runner.load_run_config(cfg_file, FAST, data=data), tmp_path / "run")
    run = tmp_path / "run"
    for name in ("config.toml", "model.safetensors", "vocab_source.json", "vocab_target.json", "tokenizers.json",
                 "metrics.csv", "report.md"):
        assert (run / name).is_file(), name
    target = json.loads((run / "vocab_target.json").read_text())
    assert target["specials"] == {"pad": "<pad>", "unk": "<unk>", "bos": "<bos>", "eos": "<eos>"}
    assert "bos" not in json.loads((run / "vocab_source.json").read_text())["specials"]
    v = result.val_metrics
    assert v["accuracy"] > 0.9 and v["bleu"] > 0.8 and v["sequence_error_rate"] < 0.3, v
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "val_bleu" in header and "train_bleu" not in header  # decoded metrics only in evaluation

    fresh = reversal_pairs(tmp_path / "fresh.tsv", 40, 1)
    metrics = runner.evaluate(run, fresh)
    assert metrics["bleu"] > 0.8 and metrics["sequence_error_rate"] < 0.3, metrics
    rows = runner.predict(run, ["abcd", "", "eedca"])
    assert [r["line"] for r in rows] == [1, 3] and rows[0]["source"] == "abcd"
    assert rows[0]["prediction"] == "dcba" and rows[1]["prediction"] == "acdee"

    # beam search and attention weights from the same run directory
    task, model = runner.load_run(run, ["decode.beam_size=3", "decode.attention=true"])
    beam = task.predict(model, ["abcd"])[0]
    assert beam["prediction"] == "dcba" and beam["source_tokens"] == list("abcd")
    attention = beam["attention"]
    assert len(attention) == 4 and all(len(step) == 4 and abs(sum(step) - 1) < 1e-3 for step in attention)


def test_word_level_with_val_file_and_swap(tmp_path):
    rng = random.Random(2)
    words = {"one": "un", "two": "deux", "three": "trois", "cat": "chat", "dog": "chien"}
    def write(path, n):
        with open(path, "w", encoding="utf-8") as f:
            for _ in range(n):
                en = [rng.choice(list(words)) for _ in range(rng.randint(1, 4))]
                f.write(" ".join(words[w] for w in en) + " !\t" + " ".join(en).title() + " !\n")
        return str(path)
    train, val = write(tmp_path / "fr-en.tsv", 200), write(tmp_path / "val.tsv", 30)
    cfg_file = write_config(tmp_path / "mt.toml", "[data]\nswap = true\nbatch_size = 16\n[decode]\nmax_len = 8\n"
                            "[train]\nepochs = 10\n[train.optim]\nlr = 0.02\n")
    # the recipes' decoder: input feeding, and its own predictions read back 20% of the time
    overrides = [*FAST, "model.input_feeding=true", "model.teacher_forcing_ratio=0.8"]
    result = runner.train(runner.load_run_config(cfg_file, overrides, data=train, val=val), tmp_path / "run")
    assert result.val_metrics["accuracy"] > 0.8, result.val_metrics
    source = json.loads((tmp_path / "run" / "vocab_source.json").read_text())["tokens"]
    assert "cat" in source and "!" in source and "chat" not in source  # swapped, lowercased, punctuation split
    rows = runner.predict(tmp_path / "run", ["Cat dog"])
    assert rows[0]["prediction"].split()[:2] == ["chat", "chien"]


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="data.path is required"):
        runner.train(runner.load_run_config(write_config(tmp_path / "c.toml", "")), tmp_path / "r0")
    with pytest.raises(ConfigError, match="decode.beam_size must be >= 1; got 0"):
        runner.load_run_config(write_config(tmp_path / "c.toml", ""), ["decode.beam_size=0"])
    with pytest.raises(ConfigError, match="data.source_level must be one of 'char', 'word'; got 'byte'"):
        runner.load_run_config(write_config(tmp_path / "c.toml", ""), ["data.source_level=byte"])
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nno tab here\n", encoding="utf-8")
    cfg = runner.load_run_config(write_config(tmp_path / "c.toml", ""), data=str(bad))
    with pytest.raises(DataError, match=r"bad.tsv: line 2: expected source<TAB>target; found no tab"):
        runner.train(cfg, tmp_path / "r1")


def test_cli_train_evaluate_predict(tmp_path, capsys):
    data = reversal_pairs(tmp_path / "pairs.tsv", 60, 3)
    cfg_file = write_config(tmp_path / "rev.toml", '[data]\nsource_level = "char"\ntarget_level = "char"\n'
                            "[decode]\nmax_len = 6\n[train]\nepochs = 1\n")
    run = tmp_path / "run"
    sets = [x for kv in FAST for x in ("--set", kv)]
    assert main(["train", cfg_file, "--data", data, "--out", str(run), *sets]) == 0
    assert f"run directory: {run}" in capsys.readouterr().out
    assert main(["evaluate", str(run), "--data", data]) == 0
    assert {"loss", "accuracy", "bleu", "sequence_error_rate"} <= set(json.loads(capsys.readouterr().out))
    src = tmp_path / "input.txt"
    src.write_text("abc\nde\n", encoding="utf-8")
    assert main(["predict", str(run), str(src), "--format", "csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "line,source,prediction" and len(out) == 3
