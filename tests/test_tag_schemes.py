"""rnnkit.tag_schemes: IOBES and IOB2 rewrites keep every chunk; the module stays torch-free."""

from __future__ import annotations

import random
import subprocess
import sys

from rnnkit.tag_schemes import entity_spans, to_iob2, to_iobes


def test_rewrites_by_hand():
    iob2 = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-LOC", "B-ORG", "B-ORG", "O", "B-MISC"]
    iobes = ["B-PER", "E-PER", "O", "B-LOC", "I-LOC", "E-LOC", "S-ORG", "S-ORG", "O", "S-MISC"]
    assert to_iobes(iob2) == iobes and to_iob2(iobes) == iob2
    assert to_iobes(["I-PER", "I-PER", "O", "I-LOC"]) == ["B-PER", "E-PER", "O", "S-LOC"]  # IOB1 in
    assert to_iob2(["E-PER", "S-LOC", "E-LOC"]) == ["B-PER", "B-LOC", "B-LOC"]  # ill-formed: conlleval's chunks
    assert to_iobes([]) == [] and to_iobes(["O", "O"]) == ["O", "O"]


def test_rewrites_keep_the_chunks_of_any_sequence():
    rng = random.Random(0)
    alphabet = ["O"] + [f"{p}-{t}" for p in "BIES" for t in ("PER", "LOC")]
    for _ in range(2000):
        tags = [rng.choice(alphabet) for _ in range(rng.randint(0, 12))]
        spans = entity_spans(tags)
        assert entity_spans(to_iobes(tags)) == spans and entity_spans(to_iob2(tags)) == spans, tags
        assert to_iob2(to_iobes(tags)) == to_iob2(tags) and to_iobes(to_iob2(tags)) == to_iobes(tags)


def test_importing_it_does_not_import_torch():
    code = "import sys, rnnkit.tag_schemes; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
