"""rnnkit.tasks — one pipeline skeleton (:mod:`rnnkit.tasks.pipeline`) and, per task type,
a short declaration (:class:`rnnkit.tasks.base.Task`): reader, artifacts, encoder, model,
objective and row formatter. :mod:`rnnkit.tasks.runner` runs them over run directories.

Importing this package registers every task type (see :mod:`rnnkit.tasks.registry`).
"""

from rnnkit.tasks.base import Artifacts, DataSection, Examples, PreparedData, Task
from rnnkit.tasks.registry import get_task, register, task_names

# task modules register themselves on import
from rnnkit.tasks import lm  # noqa: F401,E402
from rnnkit.tasks import tag  # noqa: F401,E402
from rnnkit.tasks import seq2seq  # noqa: F401,E402
from rnnkit.tasks import classify  # noqa: F401,E402
from rnnkit.tasks import regress  # noqa: F401,E402
from rnnkit.tasks import forecast  # noqa: F401,E402
from rnnkit.tasks import generate  # noqa: F401,E402

__all__ = ["Task", "Artifacts", "DataSection", "Examples", "PreparedData", "get_task", "register", "task_names"]
