"""rnnkit.viz — plots for understanding and reporting runs (PNG files via matplotlib).

matplotlib is the optional ``viz`` extra (``pip install rnnkit[viz]``); it is imported
only when a plot is drawn.
"""

from rnnkit.viz.gradients import gradient_norms_per_step, plot_gradient_norms

__all__ = ["gradient_norms_per_step", "plot_gradient_norms"]
