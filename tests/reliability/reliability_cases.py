"""The generated hostile inputs, family by family (seeded: the same cases every run)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
import shutil
import typing
from pathlib import Path

import numpy as np

from reliability_harness import Case

TASKS = ["classify", "regress", "forecast", "tag", "seq2seq", "lm", "generate"]
# a file each task's --data accepts (so only the setting under test can be wrong)
TASK_DATA = {"classify": "{cls_csv}", "regress": "{reg_npz}", "forecast": "{series_csv}", "tag": "{ner_conll}",
             "seq2seq": "{pairs_tsv}", "lm": "{corpus_txt}", "generate": "{gen_csv}"}
BAD_BY_TYPE = {
    int: ["abc", "1.5", "[1]", "{", "1e999x", "0x", "true"],
    float: ["abc", "[1]", "1.0.0", "x1", "{}"],
    bool: ["maybe", "2", "[true]", "yes please"],
    str: [],  # any text is a string
    list: [],  # a bare word is a one-element list
}


# ------------------------------------------------------------------ settings
def _leaves(obj, prefix=""):
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            yield from _leaves(value, key + ".")
            continue
        tp = hints.get(f.name)
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        base = args[0] if typing.get_origin(tp) is typing.Union and len(args) == 1 else tp
        if typing.get_origin(base) is typing.Literal:
            yield key, "literal", list(typing.get_args(base))
        elif typing.get_origin(base) in (list, tuple) or base in (list, tuple):
            yield key, list, None
        elif base in (bool, int, float, str):
            yield key, base, None


def setting_cases() -> list[Case]:
    import rnnkit.api  # noqa: F401  (imports the task registry in its own order)
    from rnnkit.tasks import runner

    cases: list[Case] = []
    for task in TASKS:
        try:
            cfg = runner.load_run_config(task)
        except Exception:  # noqa: BLE001 - an older commit without this task (measuring "before")
            continue
        for key, kind, choices in _leaves(cfg):
            if key == "task":
                continue
            values = ["zzz_not_a_choice", "1"] if kind == "literal" else BAD_BY_TYPE.get(kind, [])
            if kind == "literal":
                values = [v for v in values if v not in [str(c) for c in choices]]
            leaf = key.rsplit(".", 1)[-1]
            for v in values:
                cases.append(Case("config --set (type)", f"{task}:{key}={v}",
                                  ["train", task, "--data", TASK_DATA[task], "--set", f"{key}={v}", "--out", "{nonempty}"],
                                  culprit=leaf))
    return cases


RANGE = [  # (task, key, value, culprit) that type-check but are out of range
    *[("classify", "train.max_steps", v, "max_steps") for v in ("0", "-1", "-100")],
    *[("classify", "train.optim.lr", v, "lr") for v in ("inf", "nan", "0", "-1", "-inf")],
    *[("classify", "train.optim.weight_decay", v, "weight_decay") for v in ("-1", "nan", "inf")],
    *[("classify", "train.checkpoint_every_steps", v, "checkpoint_every_steps") for v in ("0", "-3")],
    *[("classify", "train.early_stopping_patience", v, "early_stopping_patience") for v in ("0", "-1")],
    *[("classify", "train.epochs", v, "epochs") for v in ("0", "-1")],
    *[("classify", "train.grad_accum", v, "grad_accum") for v in ("0", "-2")],
    *[("classify", "train.clip_norm", v, "clip_norm") for v in ("0", "-1", "nan", "inf")],
    *[("classify", "train.max_minutes", v, "max_minutes") for v in ("0", "-1", "nan", "inf")],
    *[("classify", "train.keep_checkpoints", v, "keep_checkpoints") for v in ("0", "-1")],
    *[("classify", "train.seed", v, "seed") for v in ("-1", str(2**63), str(2**70))],
    *[("classify", "train.device", v, "device") for v in ("tpu7", "gpu", "cuda:x", "")],
    *[("classify", "data.val_fraction", v, "val_fraction") for v in ("1", "1.5", "-0.1", "nan", "inf")],
    *[(t, "data.min_freq", v, "min_freq") for t in ("classify", "tag", "seq2seq", "lm", "generate") for v in ("0", "-1")],
    *[(t, "data.batch_size", v, "batch_size") for t in TASKS for v in ("0", "-1")],
    *[(t, "model.hidden_size", v, "hidden_size") for t in TASKS for v in ("0", "-1", str(10**9), str(10**12))],
    *[(t, "model.num_layers", v, "num_layers") for t in TASKS for v in ("0", "-2", str(10**6))],
    *[(t, "model.dropout", v, "dropout") for t in TASKS for v in ("1.5", "-0.1", "nan")],
    *[(t, "model.embedding_dim", v, "embedding_dim") for t in ("classify", "tag", "seq2seq", "lm", "generate")
      for v in ("0", "-4", str(10**10))],
    *[(t, "generate.temperature", v, "temperature") for t in ("lm", "generate") for v in ("nan", "-1", "inf", "-inf")],
    *[(t, "generate.length", v, "length") for t in ("lm", "generate") for v in ("0", "-5", str(10**9))],
    *[(t, "generate.top_k", v, "top_k") for t in ("lm", "generate") for v in ("0", "-1")],
    *[(t, "generate.top_p", v, "top_p") for t in ("lm", "generate") for v in ("0", "1.5", "nan", "-0.5")],
    *[(t, "generate.seed", v, "seed") for t in ("lm", "generate") for v in ("-1", str(2**64))],
    ("forecast", "data.test_fraction", "0.95", "fraction"),
    ("forecast", "data.test_fraction", "0.5", "fraction"),  # with val_fraction 0.5 below: nothing left
    ("seq2seq", "data.test_fraction", "0.9", "fraction"),
    ("lm", "data.seq_len", "0", "seq_len"),
    ("forecast", "data.horizon", "0", "horizon"),
    ("forecast", "data.input_len", "0", "input_len"),
]


def range_cases() -> list[Case]:
    cases = []
    for task, key, value, culprit in RANGE:
        extra = ["--set", "data.val_fraction=0.5"] if (task, key, value) == ("forecast", "data.test_fraction", "0.5") \
            else []
        cases.append(Case("config ranges and sizes", f"{task}:{key}={value}",
                          ["train", task, "--data", TASK_DATA[task], "--set", f"{key}={value}", *extra,
                           "--out", "{nonempty}"], culprit=culprit))
    return cases


def override_syntax_cases() -> list[Case]:
    bad = [("nokey", "override"), ("=5", "override"), ("train.nosuch=1", "nosuch"), ("nosuch.key=1", "nosuch"),
           ("train=5", "train"), ("model=1", "model"), ("train.optim=1", "optim"), ("data.nosuch=x", "nosuch"),
           ("model.nosuch=3", "nosuch"), ("train.epochs.x=1", "epochs"), ("train..epochs=1", "epochs"),
           ("generate.nosuch=1", "nosuch"), ("decode.nosuch=1", "nosuch")]
    cases = []
    for task in TASKS:
        for text, culprit in bad:
            cases.append(Case("config --set (syntax)", f"{task}:{text}",
                              ["train", task, "--data", TASK_DATA[task], "--set", text, "--out", "{nonempty}"],
                              culprit=culprit))
    return cases


def toml_cases() -> list[Case]:
    """Damaged config files: not TOML, not UTF-8, wrong tables and types."""
    texts = {
        "not-toml": b"task = classify\n[train\n", "non-utf8": b'task = "classify"\n# \xff\xfe\n',
        "no-task": b"[train]\nepochs = 1\n", "unknown-task": b'task = "dance"\n',
        "unknown-table": b'task = "classify"\n[nosuch]\nx = 1\n', "unknown-key": b'task = "classify"\n[train]\nnosuch = 1\n',
        "string-epochs": b'task = "classify"\n[train]\nepochs = "ten"\n', "table-as-value": b'task = "classify"\ntrain = 3\n',
        "list-lr": b'task = "classify"\n[train.optim]\nlr = [1, 2]\n', "empty": b"",
        "nul": b'task = "classify"\x00\n', "task-int": b"task = 5\n", "bom-garbage": b"\xef\xbb\xbf\xff",
        "deep": b'task = "classify"\n[model]\ncell = {a = 1}\n',
    }
    culprits = {"unknown-task": "dance", "unknown-table": "nosuch", "unknown-key": "nosuch", "string-epochs": "epochs",
                "table-as-value": "train", "list-lr": "lr", "deep": "cell", "no-task": "task", "task-int": "task"}

    def make(name: str, data: bytes):
        def setup(folder: Path) -> dict[str, str]:
            p = folder / f"{name}.toml"
            p.write_bytes(data)
            return {"cfg": str(p)}
        return setup

    return [Case("config files (TOML)", name, ["train", "{cfg}", "--data", "{cls_csv}", "--out", "{nonempty}"],
                 culprit=culprits.get(name, "{cfg}"), setup=make(name, data)) for name, data in texts.items()]


# ------------------------------------------------------------------ data files
FORMATS = {  # file key, the run that reads it, text or binary
    "cls_csv": "cls", "cls_tsv": "cls", "cls_jsonl": "cls", "cls_gz": "cls", "ner_conll": "tag",
    "pairs_tsv": "s2s", "corpus_txt": "lm", "gen_csv": "gen", "series_csv": "fc", "cls_npz": "clsnpz",
    "reg_npz": "reg",
}
SUFFIX = {"cls_csv": ".csv", "cls_tsv": ".tsv", "cls_jsonl": ".jsonl", "cls_gz": ".csv.gz", "ner_conll": ".conll",
          "pairs_tsv": ".tsv", "corpus_txt": ".txt", "gen_csv": ".csv", "series_csv": ".csv", "cls_npz": ".npz",
          "reg_npz": ".npz"}


def _mutations(key: str, rng: random.Random):
    """(name, function bytes -> bytes, always invalid?)"""
    out = [("empty", lambda b: b"", True)]
    if key.endswith("npz"):
        out += [("truncated-half", lambda b: b[: len(b) // 2], True), ("garbage", lambda b: bytes(rng.randrange(256) for _ in range(200)), True),
                ("zip-header-only", lambda b: b[:30], True), ("text", lambda b: b"X,y\n1,2\n", True)]
        for i in range(6):
            cut = rng.randrange(1, 400)
            out.append((f"truncated-{cut}", lambda b, c=cut: b[:c], True))
        for i in range(6):
            pos = rng.randrange(60, 300)
            out.append((f"flip-{pos}", lambda b, p=pos: b[:p] + bytes([b[p] ^ 0xFF]) + b[p + 1:], False))
        return out
    if key == "cls_gz":
        out += [("gz-truncated", lambda b: b[: len(b) // 2], True), ("gz-garbage", lambda b: b[:10] + b"\x00" * 40, True)]
        for i in range(4):
            cut = rng.randrange(10, 60)
            out.append((f"gz-cut-{cut}", lambda b, c=cut: b[:c], True))
        return out
    text_invalid = key not in ("corpus_txt",)  # almost any text is a corpus
    out += [("non-utf8-start", lambda b: b"\xff\xfe" + b, True), ("latin1-line", lambda b: b.replace(b"\n", b"\n\xe9t\xe9 ", 2), True),
            ("nul-bytes", lambda b: b.replace(b"\n", b"\x00\n", 3), False), ("only-newlines", lambda b: b"\n\n\n", True),
            ("binary", lambda b: bytes(rng.randrange(256) for _ in range(300)), True)]
    if key in ("cls_csv", "cls_tsv", "gen_csv", "series_csv"):
        out += [("header-only", lambda b: b.split(b"\n", 1)[0] + b"\n", True),
                ("no-header", lambda b: b.split(b"\n", 1)[1], True),
                ("renamed-columns", lambda b: b"a,b,c\n" + b.split(b"\n", 1)[1] if key == "series_csv" else b"foo,bar\n" + b.split(b"\n", 1)[1], True),
                ("extra-field", lambda b: b.replace(b"\n", b",x,y,z\n", 2).replace(b"\t", b"\tq\tr", 1) if False else b.split(b"\n", 1)[0] + b"\n" + b"a,b,c,d,e,f\n" + b.split(b"\n", 1)[1], False)]
    if key == "cls_jsonl":
        out += [("broken-json", lambda b: b.replace(b"}", b"", 1), True), ("not-objects", lambda b: b"[1,2]\n3\n", True),
                ("missing-label", lambda b: b.replace(b'"label"', b'"lab"', 1), True)]
    if key == "ner_conll":
        out += [("one-column", lambda b: b"\n".join(l.split(b" ")[0] for l in b.split(b"\n")), True),
                ("ragged", lambda b: b.replace(b" NNP I-NP ", b" ", 2), False)]
    if key == "pairs_tsv":
        out += [("no-tabs", lambda b: b.replace(b"\t", b" "), True), ("three-fields", lambda b: b.replace(b"\n", b"\tx\n", 1), False)]
    if key == "series_csv":
        out += [("text-values", lambda b: b.replace(b"20.", b"abc", 3), True), ("nan-values", lambda b: b.replace(b"20.", b"nan", 3), False),
                ("inf-values", lambda b: b.replace(b"20.", b"inf", 3), False)]
    for i in range(8):
        cut = rng.randrange(1, 400)
        out.append((f"truncated-{cut}", lambda b, c=cut: b[:c], False))
    for i in range(6):
        pos = rng.randrange(0, 400)
        junk = bytes([rng.randrange(256)])
        out.append((f"insert-{pos}-{junk.hex()}", lambda b, p=pos, j=junk: b[:p] + j + b[p:], False))
    for i in range(4):
        seed = rng.randrange(10**6)
        def shuffle(b, s=seed):
            lines = b.split(b"\n")
            r = random.Random(s)
            r.shuffle(lines)
            return b"\n".join(lines)
        out.append((f"shuffle-lines-{seed}", shuffle, False))
    out += [("crlf", lambda b: b.replace(b"\n", b"\r\n"), False), ("bom", lambda b: b"\xef\xbb\xbf" + b, False),
            ("doubled", lambda b: b + b, False)]
    if not text_invalid:
        out = [(n, f, inv and n in ("empty", "non-utf8-start", "latin1-line", "binary")) for n, f, inv in out]
    return out


PREDICT_VALID = ("no-header", "renamed-columns", "missing-label", "one-column", "no-tabs", "header-only")


def data_cases() -> list[Case]:
    rng = random.Random(11)
    cases = []
    for key, run in FORMATS.items():
        for name, fn, invalid in _mutations(key, rng):
            def setup(folder: Path, key=key, fn=fn, world=None) -> dict[str, str]:
                return {}
            for command in ("evaluate", "predict"):
                if command == "predict" and key in ("series_csv",):
                    continue
                argv = (["evaluate", f"{{{run}_run}}", "--data", "{bad}"] if command == "evaluate"
                        else ["predict", f"{{{run}_run}}", "{bad}"])
                # predict reads unlabelled input: one text per line is valid there
                unlabelled = command == "predict" and name in PREDICT_VALID
                cases.append(Case(f"data files ({SUFFIX[key]})", f"{command}:{key}:{name}", argv, culprit="{badname}",
                                  valid_ok=not invalid or unlabelled, extra={"source": key, "mutate": fn}))
    return cases


TRAIN_DATA = [  # (task, file key, mutation name): train reads the damaged file before anything is written
    ("classify", "cls_csv", "non-utf8-start"), ("classify", "cls_csv", "header-only"), ("classify", "cls_csv", "empty"),
    ("classify", "cls_tsv", "renamed-columns"), ("classify", "cls_jsonl", "broken-json"), ("classify", "cls_gz", "gz-truncated"),
    ("classify", "cls_npz", "truncated-half"), ("classify", "cls_npz", "garbage"), ("regress", "reg_npz", "zip-header-only"),
    ("tag", "ner_conll", "one-column"), ("tag", "ner_conll", "binary"), ("tag", "ner_conll", "latin1-line"), ("seq2seq", "pairs_tsv", "no-tabs"),
    ("lm", "corpus_txt", "non-utf8-start"), ("lm", "corpus_txt", "empty"), ("generate", "gen_csv", "no-header"),
    ("forecast", "series_csv", "text-values"), ("forecast", "series_csv", "header-only"),
]


def train_data_cases() -> list[Case]:
    rng = random.Random(11)
    muts = {key: {n: f for n, f, _ in _mutations(key, rng)} for key in FORMATS}
    extra = {"forecast": ["--set", 'data.target_columns=["temp"]', "--set", "data.input_len=8", "--set", "data.horizon=2"]}
    return [Case("data files (train)", f"{task}:{key}:{name}",
                 ["train", task, "--data", "{bad}", "--out", "{fresh}", *extra.get(task, []),
                  "--set", "model.hidden_size=8", "--set", "train.max_steps=1", "--quiet"],
                 culprit="{badname}", extra={"source": key, "mutate": muts[key][name]})
            for task, key, name in TRAIN_DATA]


def single_class_cases() -> list[Case]:
    def only(kind: str):
        def setup(folder: Path) -> dict[str, str]:
            if kind == "class":
                p = folder / "one.csv"
                p.write_text("text,label\n" + "a good film,pos\nanother one,pos\n" * 20)
            else:
                p = folder / "one.conll"
                p.write_text("".join(f"w{i} NN O\nx{i} NN O\n\n" for i in range(20)))
            return {"one": str(p), "fresh": str(folder / "out")}
        return setup
    return [Case("single class / tag", "classify-one-class", ["train", "classify", "--data", "{one}", "--out", "{fresh}",
                                                               "--set", "train.max_steps=1", "--quiet"],
                 culprit="class", setup=only("class")),
            Case("single class / tag", "tag-one-tag", ["train", "tag", "--data", "{one}", "--out", "{fresh}",
                                                        "--set", "train.max_steps=1", "--quiet"],
                 culprit="tag", setup=only("tag"))]


# ------------------------------------------------------------------ run directories
def _damage_file(rel: str, how: str):
    def damage(run: Path) -> None:
        p = run / rel
        if how == "delete":
            p.unlink()
        elif how == "truncate":
            p.write_bytes(p.read_bytes()[: max(1, p.stat().st_size // 3)])
        elif how == "empty":
            p.write_bytes(b"")
        elif how == "garbage":
            p.write_bytes(bytes(random.Random(rel).randrange(256) for _ in range(257)))
        elif how == "non-utf8":
            p.write_bytes(b"\xff\xfe" + p.read_bytes())
        elif how == "folder":
            p.unlink()
            p.mkdir()
        elif how.startswith("json:"):
            p.write_text(how[5:], encoding="utf-8")
        else:
            raise AssertionError(how)
    return damage


RUN_FILES = {"config.toml": ["delete", "empty", "garbage", "non-utf8", "folder", "json:task = 5",
                             'json:task = "classify"\n[model]\nhidden_size = -3'],
             "artifacts.json": ["delete", "truncate", "empty", "garbage", "non-utf8", "folder", "json:{}", "json:[]",
                                'json:{"names": []}', 'json:{"task": "classify", "artifacts": {}}', "json:null",
                                'json:{"task": "classify", "artifacts": {"labels": 5}}'],
             "model.safetensors": ["delete", "truncate", "empty", "garbage", "folder", "json:{}"]}
COMMANDS = {  # run -> command lines that read it
    "cls": [["evaluate", "{run}", "--data", "{cls_csv}"], ["predict", "{run}", "{cls_csv}"]],
    "tag": [["evaluate", "{run}", "--data", "{ner_conll}"], ["predict", "{run}", "{ner_conll}"]],
    "lm": [["generate", "{run}", "--length", "5"], ["evaluate", "{run}", "--data", "{corpus_txt}"]],
    "s2s": [["predict", "{run}", "{pairs_tsv}"]],
    "reg": [["evaluate", "{run}", "--data", "{reg_npz}"]],
    "gen": [["generate", "{run}", "--length", "3"]],
}


def rundir_cases() -> list[Case]:
    cases = []
    for run, commands in COMMANDS.items():
        for rel, hows in RUN_FILES.items():
            for how in hows:
                if run != "cls" and rel == "artifacts.json" and how.startswith("json:{\"task\": \"classify\""):
                    continue
                for argv in commands:
                    cases.append(Case("damaged run directories", f"{run}:{argv[0]}:{rel}:{how[:40]}", argv,
                                      culprit=rel, extra={"run": run, "damage": _damage_file(rel, how)}))
    # checkpoints: resume (extended by one step, so it would train) with every checkpoint's state damaged
    ck_damage = ["delete", "truncate", "empty", "garbage", "non-utf8", "folder", "json:{}", "json:[]",
                 'json:{"format": "rnnkit-checkpoint-2"}', "json:null"]
    for how in ck_damage:
        for name in ("trainer_state.json", "model.safetensors", "trainer_state.safetensors"):
            cases.append(Case("damaged checkpoints (resume)", f"{name}:{how[:30]}",
                              ["resume", "{run}", "--set", "train.max_steps=3"], culprit="checkpoint",
                              protect="run", extra={"run": "cls", "checkpoint_damage": (name, how)}))
    for field, value in [("global_step", -5), ("global_step", "x"), ("epoch", -1), ("train_seconds", "nan"),
                         ("history", 5), ("rng", []), ("world_size", 0), ("batch_in_epoch", 1.5), ("callbacks", []),
                         ("epoch_sums", None), ("sampler_seed", "s")]:
        cases.append(Case("damaged checkpoints (resume)", f"edited-{field}={value}",
                          ["resume", "{run}", "--set", "train.max_steps=3"], culprit="checkpoint",
                          protect="run", extra={"run": "cls", "loop_edit": (field, value)}))
    # metrics.csv damage must not stop evaluate/predict; resume rewrites it from the checkpoint
    for how in ("non-utf8", "garbage", "truncate", "delete"):
        cases.append(Case("damaged run directories", f"cls:resume:metrics.csv:{how}",
                          ["resume", "{run}", "--set", "train.max_steps=3"], expect=(0,), valid_ok=True,
                          extra={"run": "cls", "damage": _damage_file("metrics.csv", how)}))
    return cases


def environment_cases() -> list[Case]:
    def out_is_file(folder: Path) -> dict[str, str]:
        (folder / "afile").write_text("x")
        return {"x": str(folder / "afile"), "y": str(folder / "afile" / "sub")}
    def missing(folder: Path) -> dict[str, str]:
        return {"x": str(folder / "nope" / "out.jsonl"), "y": str(folder / "nope.csv"), "d": str(folder)}
    return [
        Case("environment", "out-is-a-file", ["train", "classify", "--data", "{cls_csv}", "--out", "{x}"], culprit="{x}",
             setup=out_is_file),
        Case("environment", "out-under-a-file", ["train", "classify", "--data", "{cls_csv}", "--out", "{y}"],
             expect=(1, 2), culprit="afile", setup=out_is_file),
        Case("environment", "data-missing", ["train", "classify", "--data", "{y}", "--out", "{d}/o"], culprit="{y}", setup=missing),
        Case("environment", "data-is-a-folder", ["train", "classify", "--data", "{d}", "--out", "{d}/o"], culprit="{d}", setup=missing),
        Case("environment", "predict-output-missing-folder", ["predict", "{cls_run}", "{cls_csv}", "--output", "{x}"],
             expect=(1, 2), culprit="nope", setup=missing),
        Case("environment", "predict-output-is-folder", ["predict", "{cls_run}", "{cls_csv}", "--output", "{d}"],
             expect=(1, 2), culprit="{d}", setup=missing),
        Case("environment", "predict-input-missing", ["predict", "{cls_run}", "{y}"], culprit="{y}", setup=missing),
        Case("environment", "evaluate-data-missing", ["evaluate", "{cls_run}", "--data", "{y}"], culprit="{y}", setup=missing),
        Case("environment", "run-dir-missing", ["evaluate", "{y}"], culprit="{y}", setup=missing),
        Case("environment", "resume-missing", ["resume", "{y}"], culprit="{y}", setup=missing),
        Case("environment", "device-cuda", ["train", "classify", "--data", "{cls_csv}", "--set", "train.device=cuda",
                                            "--out", "{d}/o"], expect=(1, 2), culprit="device", setup=missing),
        Case("environment", "device-cuda-7", ["train", "classify", "--data", "{cls_csv}", "--set", "train.device=cuda:7",
                                              "--out", "{d}/o"], expect=(1, 2), culprit="device", setup=missing),
        Case("environment", "device-tpu7", ["train", "classify", "--data", "{cls_csv}", "--set", "train.device=tpu7",
                                            "--out", "{d}/o"], culprit="device", setup=missing),
        Case("environment", "stdin-non-utf8", ["predict", "{cls_run}", "-"], stdin=b"a good \xff film\n", culprit="utf-8"),
        Case("environment", "stdin-empty", ["predict", "{cls_run}", "-"], stdin=b"", culprit="empty"),
    ]


def argument_cases() -> list[Case]:
    cases = []
    gen = [("--length", v, "length") for v in ("0", "-1", str(10**9), "abc", "1.5")] + \
          [("--temperature", v, "temperature") for v in ("nan", "-1", "inf", "-inf", "abc")] + \
          [("--top-k", v, "top") for v in ("0", "-3", "x")] + [("--top-p", v, "top") for v in ("0", "1.5", "nan", "-1")] + \
          [("--seed", v, "seed") for v in ("-1", str(2**64), "x")]
    for run in ("lm", "gen"):
        for opt, v, culprit in gen:
            cases.append(Case("generate / predict / evaluate arguments", f"{run}:generate {opt}={v}",
                              ["generate", f"{{{run}_run}}", opt, v], culprit=culprit))
    cases += [
        Case("generate / predict / evaluate arguments", "lm:prime-unseen", ["generate", "{lm_run}", "--prime", "ZQ\u00e9\u4e2d"],
             culprit="prime"),
        Case("generate / predict / evaluate arguments", "lm:condition", ["generate", "{lm_run}", "--condition", "pos"],
             culprit="condition"),
        Case("generate / predict / evaluate arguments", "gen:condition-unknown", ["generate", "{gen_run}", "--condition", "zzz"],
             culprit="zzz"),
        Case("generate / predict / evaluate arguments", "cls:generate", ["generate", "{cls_run}"], culprit="generate"),
        Case("generate / predict / evaluate arguments", "cls:predict-format", ["predict", "{cls_run}", "{cls_csv}", "--format", "xml"],
             culprit="format"),
        Case("generate / predict / evaluate arguments", "cls:evaluate-split", ["evaluate", "{cls_run}", "--split", "train"],
             culprit="split"),
        Case("generate / predict / evaluate arguments", "cls:evaluate-set-model", ["evaluate", "{cls_run}", "--set", "model.hidden_size=9"],
             culprit="{cls_run}"),
        Case("generate / predict / evaluate arguments", "cls:predict-set-unknown", ["predict", "{cls_run}", "{cls_csv}", "--set", "zz.y=1"],
             culprit="zz"),
        Case("generate / predict / evaluate arguments", "s2s:beam-0", ["predict", "{s2s_run}", "{pairs_tsv}", "--set", "decode.beam_size=0"],
             culprit="beam_size"),
        Case("generate / predict / evaluate arguments", "s2s:beam-x", ["predict", "{s2s_run}", "{pairs_tsv}", "--set", "decode.beam_size=x"],
             culprit="beam_size"),
        Case("generate / predict / evaluate arguments", "tag:evaluate-wrong-format", ["evaluate", "{tag_run}", "--data", "{cls_csv}"],
             culprit="cls.csv"),
        Case("generate / predict / evaluate arguments", "no-command-args", ["predict"], culprit="usage"),
        Case("generate / predict / evaluate arguments", "unknown-command", ["dance"], culprit="invalid choice"),
    ]
    return cases


def overwrite_cases() -> list[Case]:
    """An earlier run meets `train --out` without --overwrite: refused, nothing of it changes."""
    cases = []
    for task in TASKS:
        cases.append(Case("existing runs (data loss)", f"train-into-run:{task}",
                          ["train", task, "--data", TASK_DATA[task], "--out", "{run}", "--set", "train.max_steps=1"],
                          culprit="{run}", protect="run", extra={"run": "cls"}))
    cases.append(Case("existing runs (data loss)", "overwrite-non-run",
                      ["train", "classify", "--data", "{cls_csv}", "--out", "{run}", "--overwrite"], culprit="config.toml",
                      protect="run", extra={"run": "cls", "strip_config": True}))
    cases.append(Case("existing runs (data loss)", "resume-finished", ["resume", "{run}"], expect=(0,), valid_ok=True,
                      protect="run", extra={"run": "cls"}))
    cases.append(Case("existing runs (data loss)", "resume-set-lr", ["resume", "{run}", "--set", "train.optim.lr=1"],
                      culprit="lr", protect="run", extra={"run": "cls"}))
    cases.append(Case("existing runs (data loss)", "resume-set-model", ["resume", "{run}", "--set", "model.hidden_size=9"],
                      culprit="hidden_size", protect="run", extra={"run": "cls"}))
    return cases


def all_cases() -> list[Case]:
    return [*setting_cases(), *range_cases(), *override_syntax_cases(), *toml_cases(), *data_cases(),
            *train_data_cases(), *single_class_cases(), *rundir_cases(), *environment_cases(), *argument_cases(),
            *overwrite_cases()]
