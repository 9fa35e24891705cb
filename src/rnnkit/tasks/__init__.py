"""rnnkit.tasks — the glue per task type: config → data pipeline, model, loss, metrics, predictions.

Importing this package registers every task type (see :mod:`rnnkit.tasks.registry`).
"""

from rnnkit.tasks.base import PreparedData, Task
from rnnkit.tasks.registry import get_task, register, task_names

# task modules register themselves on import
from rnnkit.tasks import lm  # noqa: F401,E402
from rnnkit.tasks import tag  # noqa: F401,E402
from rnnkit.tasks import seq2seq  # noqa: F401,E402
from rnnkit.tasks import classify  # noqa: F401,E402
from rnnkit.tasks import regress  # noqa: F401,E402
from rnnkit.tasks import forecast  # noqa: F401,E402

__all__ = ["Task", "PreparedData", "get_task", "register", "task_names"]
