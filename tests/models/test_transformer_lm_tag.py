"""model.kind = "transformer" in the lm and tag tasks: the causal language model's cached
generation equals recomputing the whole prefix, the tagger's padded batch equals each sentence
alone (float64, forward and backward), and the tasks train, generate and predict (the lm's
export: tests/export/test_tasks.py); ``rnnkit config lm`` lists the kinds."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.errors import ConfigError, ShapeError
from rnnkit.models import TransformerLanguageModel
from rnnkit.models.transformer import TransformerTagger

V = 13


def _lm(**kw):
    torch.manual_seed(0)
    cfg = dict(vocab_size=V, d_model=16, num_heads=4, num_layers=2, ff_size=24, context_size=64)
    return TransformerLanguageModel(**{**cfg, **kw}).double().eval()


def test_cached_generation_equals_full_recompute():
    model = _lm()
    prime = torch.randint(0, V, (2, 4))
    new = model.generate(prime, 12, temperature=0.0)  # greedy, through the key/value cache
    seq = prime
    for _ in range(12):  # greedy by re-running the whole prefix each step, no cache
        logits, _ = model(seq)
        seq = torch.cat([seq, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(new, seq[:, 4:])
    # and the cached step's logits equal the full forward's, step by step
    logits, state = model(seq[:, :4])
    steps = [logits]
    for t in range(4, seq.shape[1]):
        out, state = model.stream(seq[:, t], state)
        steps.append(out.unsqueeze(1))
    torch.testing.assert_close(torch.cat(steps, 1), model(seq)[0], rtol=1e-10, atol=1e-12)


def test_lm_padded_batch_equals_each_sequence_alone_and_generation_streams_tokens():
    model = _lm(positions="learned", max_positions=32)
    x = torch.randint(0, V, (3, 9), dtype=torch.long)
    lengths = torch.tensor([9, 4, 6])
    full, _ = model(x, lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(full[b, :n], model(x[b:b + 1, :n])[0][0], rtol=1e-10, atol=1e-12)
    seen = []
    out = model.generate(x[0, :3], 5, seed=1, on_token=lambda tok: seen.append(int(tok[0])))
    assert out[0].tolist() == seen
    with pytest.raises(ShapeError, match="prompts of one length"):
        model.generate(x[:, :4], 3, prime_lengths=torch.tensor([4, 2, 4]))


def test_tagger_padded_batch_equals_each_sentence_alone_forward_and_backward():
    torch.manual_seed(0)
    model = TransformerTagger(vocab_size=V, d_model=16, num_heads=2, num_layers=2, num_tags=5, crf=True).double()
    x = torch.randint(0, V, (3, 7))
    lengths = torch.tensor([7, 3, 5])
    tags = torch.randint(0, 5, (3, 7))
    em = model(x, lengths)
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(em[b, :n], model(x[b:b + 1, :n])[0], rtol=1e-10, atol=1e-12)
    # the gradient of sentence b's loss is the same computed in the batch or alone
    model.zero_grad()
    model.loss(model(x[1:2], lengths[1:2]), tags[1:2], lengths[1:2]).backward()
    batched = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model.loss(model(x[1:2, :3]), tags[1:2, :3]).backward()
    for g, p in zip(batched, model.parameters()):
        torch.testing.assert_close(g, p.grad, rtol=1e-9, atol=1e-11)
    assert model.decode(em, lengths).shape == (3, 7)
    with pytest.raises(ConfigError, match="char_features"):
        model(x, lengths, chars=torch.zeros(3, 7, 4, dtype=torch.long))
    with pytest.raises(ConfigError, match="cannot stream"):
        model.stream(x[:, 0])


def test_lm_task_trains_and_generates(tmp_path):
    torch.set_num_threads(1)
    text = ["to be or not to be that is the question\n"] * 40
    run = rnnkit.fit("lm", text, out=tmp_path / "lm", settings={
        "model.kind": "transformer", "model.d_model": 16, "model.num_heads": 2, "model.num_layers": 1,
        "model.ff_size": 32, "train.epochs": 1, "data.seq_len": 16, "data.batch_size": 4})
    assert "nll" in run.evaluate(text[:5])
    pieces: list[str] = []
    text_out = run.generate(length=20, seed=0, on_text=pieces.append)
    assert text_out == "".join(pieces) and len(text_out) >= 20
    assert (tmp_path / "lm" / "model.safetensors").exists() and (tmp_path / "lm" / "metrics.csv").exists()


def test_tag_task_trains_and_refuses_char_features(tmp_path):
    torch.set_num_threads(1)
    sents = [["John", "lives", "in", "Paris"], ["Mary", "went", "to", "London", "today"]] * 10
    tags = [["B-PER", "O", "O", "B-LOC"], ["B-PER", "O", "O", "B-LOC", "O"]] * 10
    settings = {"model.kind": "transformer", "model.d_model": 16, "model.num_heads": 2, "train.epochs": 1}
    run = rnnkit.fit("tag", sents, tags, out=tmp_path / "tag", settings=settings)
    rows = run.predict(sents[:2])
    assert [len(r["tags"]) for r in rows] == [4, 5]
    with pytest.raises(ConfigError, match="data.char_features = true needs model.kind = 'rnn'"):
        rnnkit.fit("tag", sents, tags, out=tmp_path / "tag2", settings={**settings, "data.char_features": True})


def test_rnnkit_config_lm_lists_the_kinds(capsys):
    from rnnkit.cli.main import main

    assert main(["config", "lm"]) in (0, None)
    out = capsys.readouterr().out
    assert '"rnn" | "transformer"' in out
    assert main(["config", "lm", "--set", "model.kind=transformer"]) in (0, None)
    out = capsys.readouterr().out
    assert "context_size" in out and 'kind = "transformer"' in out
    assert main(["config", "tag", "--set", "model.kind=transformer"]) in (0, None)
    assert "num_tags" in capsys.readouterr().out
