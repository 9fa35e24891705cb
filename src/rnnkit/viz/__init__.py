"""rnnkit.viz — plots for understanding and reporting runs (PNG files via matplotlib).

matplotlib is the optional ``viz`` extra (``pip install rnnkit[viz]``); it is imported
only when a plot is drawn.
"""

from rnnkit.viz.attention import plot_attention
from rnnkit.viz.confusion import confusion_matrix, plot_confusion_matrix
from rnnkit.viz.curves import plot_training_curves
from rnnkit.viz.digits import plot_digits
from rnnkit.viz.gradients import gradient_norms_per_step, plot_gradient_norms
from rnnkit.viz.predictions import plot_predicted_vs_actual

__all__ = [
    "gradient_norms_per_step",
    "plot_gradient_norms",
    "plot_training_curves",
    "plot_attention",
    "confusion_matrix",
    "plot_confusion_matrix",
    "plot_digits",
    "plot_predicted_vs_actual",
]
