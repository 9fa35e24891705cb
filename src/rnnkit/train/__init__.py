"""rnnkit.train — Trainer (a loop over one LoopState), callbacks, metrics, optimizers, checkpoints,
run directories, DDP (wrapping, sharding, every rank's RNG). See DESIGN.md."""

from rnnkit.train.batches import BatchSource, ShuffledBatches
from rnnkit.train.callbacks import (
    Checkpointing,
    EarlyStop,
    MetricsCSV,
    Progress,
    TensorBoard,
    TimeBudget,
)
from rnnkit.train.checkpoint import Checkpoint, list_checkpoints, load_checkpoint, load_latest, save_checkpoint
from rnnkit.train.early_stopping import EarlyStopping
from rnnkit.train.loop_state import LoopState
from rnnkit.train.metrics import (
    BLEU,
    Accuracy,
    EntityF1,
    ErrorRate,
    MacroF1,
    Mean,
    MeanNLL,
    Metric,
    Regression,
)
from rnnkit.train.optim import LRSchedule, OptimConfig, ScheduleConfig, build_optimizer, build_schedule
from rnnkit.train.rundir import RunDir
from rnnkit.train.seed import seed_everything
from rnnkit.train.sharding import ShardView, shard
from rnnkit.train.trainer import (
    Callback,
    FitResult,
    Objective,
    StepInfo,
    StepResult,
    TrainConfig,
    Trainer,
    detach_state,
)

__all__ = [
    "Trainer", "TrainConfig", "Objective", "StepResult", "StepInfo", "Callback", "FitResult", "detach_state",
    "OptimConfig", "ScheduleConfig", "build_optimizer", "build_schedule", "LRSchedule",
    "Metric", "Mean", "Accuracy", "MacroF1", "EntityF1", "Regression", "MeanNLL", "BLEU", "ErrorRate",
    "RunDir", "Checkpoint", "save_checkpoint", "load_checkpoint", "load_latest", "list_checkpoints",
    "EarlyStopping", "BatchSource", "ShuffledBatches", "seed_everything",
    "LoopState", "Checkpointing", "EarlyStop", "MetricsCSV", "Progress", "TensorBoard", "TimeBudget",
    "ShardView", "shard",
]
