"""rnnkit export of runs trained with data.tokenizer = "bpe" (seq2seq and lm): the tokenizer
files travel into the export folder, rnnkit.runtime reads them with Hugging Face `tokenizers`
(no torch) and its rows, translations and generated text equal the torch side's; a missing or
corrupt tokenizer file, or a missing `tokenizers` package, is refused with a message naming it."""

from __future__ import annotations

import builtins
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("tokenizers", reason="the text extra (pip install 'rnnkit[text]') is not installed")

import rnnkit  # noqa: E402
import rnnkit.runtime as rt  # noqa: E402
from rnnkit.data.bpe import MARK  # noqa: E402
from rnnkit.errors import ConfigError  # noqa: E402
from rnnkit.runtime import text as rt_text  # noqa: E402
from export_helpers import FAST  # noqa: E402
from export_helpers import same_rows as _same_rows  # noqa: E402
from seqtask_helpers import one_torch_thread  # noqa: E402,F401 (autouse fixture)

SRC = Path(__file__).resolve().parents[2] / "src"
LM_TEXT = "the cat sat on the mat.\nthe dog sat on the log.\n\na cat, a dog; a log!\n" * 12


def _pairs(n: int = 120, seed: int = 4) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    words = {"one": "un", "two": "deux", "three": "trois", "cat": "chat", "dog": "chien", "cats": "chats"}
    out = []
    for _ in range(n):
        en = [str(w) for w in rng.choice(list(words), rng.integers(1, 5))]
        out.append((" ".join(en), " ".join(words[w] for w in en)))
    return out


@pytest.fixture(scope="module")
def seq2seq_bpe(tmp_path_factory):
    """A seq2seq run with BPE subwords on both sides (trained a few steps, through the runner
    without plots as tests/export/test_tasks.py does) and its ONNX export."""
    from rnnkit.api import _settings
    from rnnkit.tasks import runner

    tmp = tmp_path_factory.mktemp("s2s-bpe")
    pairs = _pairs()
    settings = {**FAST, "train.max_steps": 30, "data.tokenizer": "bpe", "data.bpe_vocab_size": 30,
                "data.batch_size": 16, "decode.max_len": 12, "model.cell": "gru", "model.attention": "general"}
    cfg = runner.load_run_config("seq2seq", _settings(settings))
    task = runner.get_task("seq2seq")(cfg)
    runner.train(cfg, tmp / "run", quiet=True,
                 given={"train": task.from_memory([s for s, _ in pairs], [t for _, t in pairs])})
    run = rnnkit.load(tmp / "run")
    return run, run.export(tmp / "export-onnx", format="onnx"), tmp


def _fit_lm_bpe(tmp: Path):
    """A BPE lm run (trained enough that greedy generation ends lines) and its ONNX export."""
    run = rnnkit.fit("lm", [LM_TEXT], out=tmp / "run",
                     settings={**FAST, "train.max_steps": 150, "data.tokenizer": "bpe", "data.bpe_vocab_size": 40,
                               "data.seq_len": 12, "data.batch_size": 4, "data.eval_context": 8,
                               "generate.prime": "the cat"})
    return run, run.export(tmp / "export-onnx", format="onnx"), tmp


@pytest.fixture(scope="module")
def lm_bpe(tmp_path_factory):
    return _fit_lm_bpe(tmp_path_factory.mktemp("lm-bpe"))


@pytest.fixture(scope="module")
def lm_bpe_legacy(tmp_path_factory):
    """A BPE lm run as versions before e.g. "!\\n" stopped being a subword saved it: the tokenizer
    trained, and the vocabulary counted, on lines with their line breaks."""
    from collections import Counter

    from rnnkit.data import Vocab
    from rnnkit.data.bpe import BPETokenizer
    from rnnkit.tasks.lm import LMArtifacts, LanguageModelTask

    def legacy_fit(self, train):
        d = self.config.data
        bpe = BPETokenizer.train(train.inputs, d.bpe_vocab_size, lower=d.lower)
        counts = Counter(t for line in train.inputs for t in bpe(line))
        vocab = Vocab.from_counts(counts, pad="<pad>", unk="<unk>", bos=None, eos="<eos>")
        return LMArtifacts(vocab, "bpe", d.lower, bpe=bpe)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LanguageModelTask, "fit", legacy_fit)
        run, folder, tmp = _fit_lm_bpe(tmp_path_factory.mktemp("lm-bpe-legacy"))
    return rnnkit.load(tmp / "run"), folder, tmp


def test_seq2seq_bpe_export_translates_as_rnnkit_predict(seq2seq_bpe, tmp_path):
    run, folder, _ = seq2seq_bpe
    a = run.task.artifacts
    # the folder holds both tokenizers beside artifacts.json, byte for byte the run's tokenizers
    names = ["tokenizer-source.json", "tokenizer-target.json"]
    assert all((folder / n).is_file() for n in names)
    assert json.loads((folder / "manifest.json").read_text())["tokenizer_files"] == names
    assert (folder / "tokenizer-source.json").read_text(encoding="utf-8") == a.source_tokenizer.to_json()
    model = rt.load(folder)
    assert isinstance(model.source_tokens, rt_text.BPE) and isinstance(model.target_tokens, rt_text.BPE)
    # the runtime's subwords are the torch side's, unseen characters (<unk>) and case included
    for text in ("two dogs", "dogcat twone", "Three CATS, €", "one  two\tthree", ""):
        assert model.source_tokens(text) == a.source_tokenizer(text)
    for text in ("chien chats", "chienchat, €", "UN deux"):
        tokens = a.target_tokenizer(text)
        assert model.target_tokens(text) == tokens
        assert model.target_tokens.join(tokens) == a.target_tokenizer.join(tokens)
    # the predictions: the same subword ids, joined into the same text
    sources = ["one two", "cat dog cats", "three", "dogcat twone", "Two Cats, €"]
    rows = model.predict(sources)
    _same_rows(rows, run.predict(sources))
    assert all(MARK not in r["prediction"] for r in rows)
    assert any(r["prediction"] for r in rows)  # the test compares real text, not only empty outputs
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in _pairs(8, seed=9)), encoding="utf-8")
    _same_rows(model.predict(path), run.predict(path))


def test_lm_bpe_export_scores_and_generates_as_the_run(lm_bpe, tmp_path):
    run, folder, _ = lm_bpe
    bpe = run.task.artifacts.bpe
    assert (folder / "tokenizer.json").is_file()
    assert json.loads((folder / "manifest.json").read_text())["tokenizer_files"] == ["tokenizer.json"]
    model = rt.load(folder)
    assert model.level == "bpe" and isinstance(model.bpe, rt_text.BPE)
    for text in ("the cat sat", "The Mat-cat", "dogcat matlog", "a log!\n", "zebra €"):
        assert model.bpe(text) == bpe(text)
        assert model.bpe.join(bpe(text)) == bpe.join(bpe(text))
    # a line's end is <eos> alone: no subword holds a line break, on either side
    assert not [t for t in run.task.artifacts.vocab.tokens if "\n" in t] and not model.subword_breaks
    for prime in ("the cat", "the dog\nthe", "a log!\n", "\n", "a log!\r\nthe\n\n", LM_TEXT):
        np.testing.assert_array_equal(model.encode(prime), run.task.encode_prompt(prime).numpy())
    # the training text given as a prime has its training tokens; written back, it is the text itself
    ids = run.task.encode(run.task.from_memory(LM_TEXT)).ids
    np.testing.assert_array_equal(model.encode(LM_TEXT), ids)
    assert model.decode(ids) == run.task.decode(ids) == LM_TEXT
    # per-line scores: the runtime's rows equal `rnnkit predict`'s
    (tmp_path / "held.txt").write_text("the cat sat on the log.\n\na dog, a cat!\nthe mat\n", encoding="utf-8")
    _same_rows(model.predict(tmp_path / "held.txt"), run.predict(tmp_path / "held.txt"), tol=1e-4)
    # greedy generation: subwords glued into the text `rnnkit generate` writes, whatever the prime ends with
    for prime in ("the cat", "the cat ", "the dog\nthe", "a log!\n", "\n"):
        text = model.generate(prime, length=25, temperature=0)
        assert text == run.generate(prime=prime, length=25, temperature=0), prime
        assert text.startswith(prime) and MARK not in text
    _one_break_per_line_end(model, run, "the cat")
    assert model.generate(length=10, temperature=0) == run.generate(length=10, temperature=0)  # [generate] prime
    ids = model.encode("the cat sat")
    assert model.decode(ids) == run.task.decode(ids) == "the cat sat"
    sample = model.generate("the", length=15, temperature=0.8, top_k=5, seed=3)
    assert sample == model.generate("the", length=15, temperature=0.8, top_k=5, seed=3)
    # serving the BPE export loads tokenizers and onnxruntime, never torch
    code = ("import sys, rnnkit.runtime as rt; m = rt.load(sys.argv[1]); print(m.generate('the cat', length=5, "
            "temperature=0)); bad = sorted(x for x in sys.modules if x == 'torch' or x.startswith(('torch.', "
            "'rnnkit.data'))); sys.exit(f'imported {bad}' if bad else 0)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True,
                         env={**env, "PYTHONPATH": str(SRC)})
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == model.generate("the cat", length=5, temperature=0).strip()


def _one_break_per_line_end(model, run, prime):
    """Greedy generation over several lines: the runtime's text is `rnnkit generate`'s, and it
    has one line break per generated <eos> (no "\\n \\n", no line break doubled)."""
    text = model.generate(prime, length=40, temperature=0)
    assert text == run.generate(prime=prime, length=40, temperature=0)
    new = text[len(prime):]
    assert new.count("\n") >= 2, text  # the check covers several line ends
    generated = run.model.generate(run.task.encode_prompt(prime), 40, temperature=0)[0].tolist()  # the greedy ids
    assert new.count("\n") == generated.count(model.vocab.eos_id), text
    assert "\n \n" not in text and "\n\n\n" not in text and MARK not in text


def test_lm_bpe_run_trained_with_line_breaks_in_subwords_still_serves(lm_bpe_legacy, tmp_path):
    """A run whose subwords hold line breaks (saved before they were left out) is read as it was
    trained on both sides: lines keep their line breaks before <eos>, primes too; the runtime's
    rows and text equal the torch side's, and ids decode with one line break per line end (the
    subword's, the <eos> after it writing none)."""
    run, folder, _ = lm_bpe_legacy
    a = run.task.artifacts
    model = rt.load(folder)
    assert a.subword_breaks and model.subword_breaks and [t for t in a.vocab.tokens if "\n" in t]
    ids = run.task.encode(run.task.from_memory(LM_TEXT)).ids
    assert any("\n" in t for t in a.vocab.decode(ids.tolist()))  # lines keep their line breaks, as in training
    for prime in ("the cat", "a log!\n", "\n", "a log!\r\nthe\n\n", LM_TEXT):
        np.testing.assert_array_equal(model.encode(prime), run.task.encode_prompt(prime).numpy())
    np.testing.assert_array_equal(model.encode(LM_TEXT), ids)
    assert model.decode(ids) == run.task.decode(ids) == LM_TEXT
    (tmp_path / "held.txt").write_text("the cat sat on the log.\n\na dog, a cat!\nthe mat\n", encoding="utf-8")
    _same_rows(model.predict(tmp_path / "held.txt"), run.predict(tmp_path / "held.txt"), tol=1e-4)
    for prime in ("the cat", "a log!\n", "\n"):
        text = model.generate(prime, length=25, temperature=0)
        assert text == run.generate(prime=prime, length=25, temperature=0) and "\n \n" not in text


def test_missing_or_corrupt_tokenizer_files_are_refused_naming_them(seq2seq_bpe, lm_bpe, tmp_path, monkeypatch):
    for name, (_, folder, _) in (("s2s", seq2seq_bpe), ("lm", lm_bpe)):
        copy = tmp_path / name
        shutil.copytree(folder, copy)
        file = "tokenizer-target.json" if name == "s2s" else "tokenizer.json"
        (copy / file).unlink()
        with pytest.raises(rt.RuntimeError_, match=rf"{copy / file} is missing: the BPE tokenizer of this export"):
            rt.load(copy)
        (copy / file).write_text("{not json", encoding="utf-8")
        with pytest.raises(rt.RuntimeError_, match=rf"{copy / file}: not a tokenizers JSON file"):
            rt.load(copy)
    # an artifacts entry naming no plain file, and no folder to read from
    with pytest.raises(rt.RuntimeError_, match=r"needs 'file': a file name in the export folder; got '../x.json'"):
        rt_text.tokenizer({"level": "bpe", "file": "../x.json"}, tmp_path)
    with pytest.raises(rt.RuntimeError_, match=r"no folder was given"):
        rt_text.tokenizer({"level": "bpe", "file": "tokenizer.json"})
    # without the tokenizers package: a clear message naming the extra
    real_import = builtins.__import__

    def no_tokenizers(name, *args, **kwargs):
        if name == "tokenizers" or name.startswith("tokenizers."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tokenizers)
    with pytest.raises(rt.RuntimeError_, match=r"'tokenizers' package, which is not installed: pip install rnnkit\[text\]"):
        rt.load(lm_bpe[1])


def test_tokenizer_files_of_other_tasks_are_still_refused():
    """Only lm and seq2seq runs have a runtime reader for their tokenizer files."""
    from rnnkit.export.exporter import _refuse_tokenizer_files

    task = SimpleNamespace(name="classify", artifacts=SimpleNamespace(files=lambda: {"tokenizer.json": "{}"}))
    with pytest.raises(ConfigError, match=r"cannot export this classify run yet: its tokenizer files \(tokenizer\.json"):
        _refuse_tokenizer_files(task)
    for name in ("lm", "seq2seq"):
        _refuse_tokenizer_files(SimpleNamespace(name=name, artifacts=task.artifacts))  # exported with the files
    # what the runtime still cannot serve stays refused, tokenizer files or not: adaptive-softmax seq2seq
    from rnnkit.export.exporter import _graphs
    from rnnkit.models.seq2seq import Seq2Seq, Seq2SeqConfig

    adaptive = Seq2Seq(Seq2SeqConfig(src_vocab_size=70, tgt_vocab_size=70, hidden_size=16, softmax="adaptive",
                                     pad_id=0, bos_id=2, eos_id=3))
    files = SimpleNamespace(files=lambda: {"tokenizer-source.json": "{}", "tokenizer-target.json": "{}"})
    with pytest.raises(ConfigError, match=r"cannot export a seq2seq model with model.softmax='adaptive' yet"):
        _graphs(SimpleNamespace(name="seq2seq", artifacts=files), adaptive)
