"""The bundled main job: train a character-level LSTM on Tiny Shakespeare (shipped
inside the package) for a few minutes on CPU, then print text sampled from it.

It is the built-in recipe ``shakespeare-quick`` run through the same code path as
``rnnkit train``; ``rnnkit generate RUN_DIR`` samples more from the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

RECIPE = "shakespeare-quick"


def run_main_job(out: Path, overrides: Sequence[str] = ()) -> int:
    from rnnkit import api
    from rnnkit.tasks import runner

    cfg = runner.load_run_config(RECIPE, overrides)
    d, m, t = cfg.data, cfg.model, cfg.train
    print(f"rnnkit main job: a {m.num_layers}-layer char {m.cell.upper()} ({m.hidden_size} units) on Tiny Shakespeare, "
          f"{t.max_steps} steps of {d.batch_size} streams x {d.seq_len} chars (truncated BPTT)")
    result = api.train(cfg, out)
    val = result.val_metrics
    print(f"\ntrained {result.fit.global_step} steps in {result.wall_time_s / 60:.1f} min; "
          f"validation loss {val.get('nll', float('nan')):.4f} nats/char ({val.get('bpc', float('nan')):.3f} bits/char)")
    sample = result.task.generate(result.model.eval(), length=600)
    print(f"\n--- sample (temperature {cfg.generate.temperature}, top-p {cfg.generate.top_p}) ---\n{sample}\n---")
    print(f"run directory: {result.run_dir}   (more text: rnnkit generate {result.run_dir} --prime 'ROMEO:')")
    return 0
