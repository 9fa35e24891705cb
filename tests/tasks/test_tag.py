"""Task ``tag`` end to end: TOML config → train → run directory → evaluate → predict,
for CoNLL and CoNLL-U files, through rnnkit.tasks.runner and the CLI."""

from __future__ import annotations

import json
import random

import pytest

from rnnkit.cli.main import main
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import runner

# The tag is a function of the token: names are PER (a B- then an I- surname), cities LOC.
NAMES, CITIES, OTHER = ["Alice", "Bob", "Carol", "Dave"], ["Paris", "Rome", "Oslo"], ["the", "went", "to", "saw", "a"]

TINY = ["model.embedding_dim=8", "model.hidden_size=12", "data.batch_size=8", "train.quiet=true"]


def sentences(n: int, seed: int) -> list[list[tuple[str, str]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sent: list[tuple[str, str]] = []
        for _ in range(rng.randint(3, 7)):
            r = rng.random()
            if r < 0.25:
                sent += [(rng.choice(NAMES), "B-PER"), ("Smith", "I-PER")]
            elif r < 0.45:
                sent.append((rng.choice(CITIES), "B-LOC"))
            else:
                sent.append((rng.choice(OTHER), "O"))
        out.append(sent)
    return out


def write_conll(path, sents) -> str:
    with open(path, "w", encoding="utf-8") as f:
        f.write("-DOCSTART- -X- -X- O\n\n")
        for sent in sents:
            f.write("".join(f"{tok} NNP I-NP {tag}\n" for tok, tag in sent) + "\n")
    return str(path)


def write_conllu(path, sents) -> str:
    """POS tags in the upos column: NOUN for names and cities, X otherwise."""
    with open(path, "w", encoding="utf-8") as f:
        for k, sent in enumerate(sents):
            f.write(f"# sent_id = {k}\n")
            for i, (tok, tag) in enumerate(sent, 1):
                upos = "X" if tag == "O" else "NOUN"
                f.write(f"{i}\t{tok}\t{tok.lower()}\t{upos}\t_\t_\t0\tdep\t_\t_\n")
            f.write("\n")
    return str(path)


def write_config(path, body: str) -> str:
    path.write_text('task = "tag"\n' + body, encoding="utf-8")
    return str(path)


@pytest.fixture
def conll(tmp_path):
    return write_conll(tmp_path / "train.conll", sentences(120, 0))


def test_conll_crf_chars_learns_and_round_trips(tmp_path, conll):
    cfg_file = write_config(tmp_path / "ner.toml", "[data]\ntoken_column = 0\ntag_column = 3\nchar_features = true\n"
                            "[model]\ncrf = true\nchar_hidden_size = 6\nchar_embedding_dim = 5\n"
                            "[train]\nepochs = 4\n[train.optim]\nlr = 0.03\n")
    cfg = runner.load_run_config(cfg_file, TINY, data=conll)
    result = runner.train(cfg, tmp_path / "run")
    run = tmp_path / "run"
    for name in ("config.toml", "model.safetensors", "vocab.json", "vocab_chars.json", "tags.json",
                 "tokenizer.json", "metrics.csv", "report.md"):
        assert (run / name).is_file(), name
    assert json.loads((run / "tags.json").read_text())["tags"] == ["B-LOC", "B-PER", "I-PER", "O"]
    assert result.val_metrics["accuracy"] > 0.95 and result.val_metrics["f1"] > 0.9
    # entity F1 is an evaluation metric: training rows do not log a meaningless 0
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "val_f1" in header and "train_f1" not in header

    fresh = write_conll(tmp_path / "fresh.conll", sentences(30, 1))
    metrics = runner.evaluate(run, fresh)
    assert metrics["accuracy"] > 0.95 and metrics["f1"] > 0.9
    assert set(runner.evaluate(run)) == set(metrics)  # default: the config's validation split

    # an unseen capitalised name is tagged from its characters; blank lines are skipped
    rows = runner.predict(run, ["Alice Smith went to Paris", "", "the Zoe Smith"])
    assert [r["line"] for r in rows] == [1, 3]
    assert rows[0] == {"line": 1, "tokens": ["Alice", "Smith", "went", "to", "Paris"],
                       "tags": ["B-PER", "I-PER", "O", "O", "B-LOC"]}
    assert len(rows[1]["tags"]) == 3
    # a CoNLL file as predict input: one row per sentence, tokens from the token column
    file_rows = runner.predict(run, fresh)
    assert len(file_rows) == 30 and file_rows[0]["line"] == 3


def test_conllu_pos_with_val_file_and_lowercase(tmp_path):
    train = write_conllu(tmp_path / "train.conllu", sentences(80, 2))
    val = write_conllu(tmp_path / "val.conllu", sentences(20, 3))
    cfg_file = write_config(tmp_path / "pos.toml", "[data]\nlowercase = true\n[train]\nepochs = 4\n"
                            "[train.optim]\nlr = 0.03\n")
    cfg = runner.load_run_config(cfg_file, TINY, data=train, val=val)
    result = runner.train(cfg, tmp_path / "run")
    assert result.val_metrics["accuracy"] > 0.95
    assert "f1" not in result.val_metrics  # NOUN/X are not BIO chunks
    vocab = json.loads((tmp_path / "run" / "vocab.json").read_text())["tokens"]
    assert "alice" in vocab and "Alice" not in vocab
    rows = runner.predict(tmp_path / "run", ["ALICE went to OSLO"])
    assert rows[0]["tags"] == ["NOUN", "X", "X", "NOUN"]


def test_validation_split_is_deterministic_and_vocab_from_train_only(tmp_path):
    # every sentence has a word of its own: only the training part's may enter the vocabulary
    sents = [s + [(f"w{k}", "O")] for k, s in enumerate(sentences(40, 4))]
    data = write_conll(tmp_path / "train.conll", sents)
    cfg = runner.load_run_config(write_config(tmp_path / "c.toml", ""), ["data.val_fraction=0.25"], data=data)
    task = runner.get_task("tag")(cfg)
    a = task.prepare(None)
    b = runner.get_task("tag")(cfg).prepare(None)
    assert a.info["validation sentences"] == 10 and a.info["train sentences"] == 30
    assert [x.indices.tolist() for x in a.val] == [x.indices.tolist() for x in b.val]
    assert sum(t.startswith("w") and t[1:].isdigit() for t in task.words.tokens) == 30


def test_errors_name_the_problem(tmp_path, conll):
    with pytest.raises(ConfigError, match="data.path is required"):
        runner.train(runner.load_run_config(write_config(tmp_path / "c.toml", "")), tmp_path / "r0")
    with pytest.raises(ConfigError, match=r"data.val_fraction must be in \[0, 1\); got 1.5"):
        runner.load_run_config(write_config(tmp_path / "c.toml", ""), ["data.val_fraction=1.5"])
    with pytest.raises(ConfigError, match="unknown config key data.tokens"):
        runner.load_run_config(write_config(tmp_path / "c.toml", "[data]\ntokens = 1\n"))
    # the data layer's messages surface unchanged
    bad = tmp_path / "bad.conll"
    bad.write_text("a O\nb X O\n", encoding="utf-8")
    cfg = runner.load_run_config(write_config(tmp_path / "c.toml", ""), data=str(bad))
    with pytest.raises(DataError, match=r"bad.conll: line 2: expected 2 columns like line 1; got 3"):
        runner.train(cfg, tmp_path / "r1")
    unseen = tmp_path / "unseen.conll"
    unseen.write_text("Bob B-PER\nwent O\n\nRome B-GPE\n", encoding="utf-8")
    cfg = runner.load_run_config(write_config(tmp_path / "c.toml", "[train]\nepochs = 1\n"), TINY, data=conll,
                                 val=str(unseen))
    with pytest.raises(DataError, match=r"unseen.conll: line 4: tag 'B-GPE' never appears in the training data"):
        runner.train(cfg, tmp_path / "r2")


def test_cli_train_evaluate_predict(tmp_path, conll, capsys):
    cfg_file = write_config(tmp_path / "ner.toml", "[train]\nepochs = 1\n")
    run = tmp_path / "run"
    sets = [x for kv in TINY for x in ("--set", kv)]
    assert main(["train", cfg_file, "--data", conll, "--out", str(run), *sets]) == 0
    assert f"run directory: {run}" in capsys.readouterr().out
    assert main(["evaluate", str(run), "--data", conll]) == 0
    assert {"loss", "accuracy", "f1"} <= set(json.loads(capsys.readouterr().out))
    lines = tmp_path / "input.txt"
    lines.write_text("Bob Smith saw Rome\n", encoding="utf-8")
    assert main(["predict", str(run), str(lines)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["tokens"] == ["Bob", "Smith", "saw", "Rome"] and len(row["tags"]) == 4


def test_unk_dropout_replaces_real_words_only_while_training(tmp_path):
    import torch

    from rnnkit.data import Batch
    from rnnkit.tasks.tag import TagObjective

    seen: list[torch.Tensor] = []

    class Tagger(torch.nn.Module):
        def forward(self, words, lengths, chars):
            seen.append(words.clone())
            return torch.zeros(*words.shape, 2, requires_grad=True)

        def loss(self, emissions, targets, lengths):
            return emissions.sum()

        def decode(self, emissions, lengths):
            return emissions.argmax(-1)

    words = torch.full((64, 10), 7)
    words[:, 6:] = 0  # padding
    batch = Batch(words, torch.full((64,), 6), torch.zeros(64, 10, dtype=torch.long))
    model = Tagger()
    objective = TagObjective(["B-X", "O"], entity_f1=False, unk_dropout=0.25, unk_id=1)
    torch.manual_seed(0)
    objective(model.train(), batch, None)
    dropped = seen[-1][:, :6] == 1
    assert 0.2 < dropped.float().mean() < 0.3  # about a quarter of the real words
    assert torch.all(seen[-1][:, 6:] == 0)  # padding stays padding
    objective(model.eval(), batch, None)
    assert torch.equal(seen[-1], words)  # never while evaluating
    with pytest.raises(ConfigError, match=r"data.unk_dropout=0.25 needs a vocabulary with an unk token"):
        TagObjective(["O"], entity_f1=False, unk_dropout=0.25, unk_id=None)
    with pytest.raises(ConfigError, match=r"data.unk_dropout must be in \[0, 1\); got 1.5"):
        runner.load_run_config(write_config(tmp_path / "c.toml", "[data]\nunk_dropout = 1.5\n"))
