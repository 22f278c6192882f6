"""Estimators: rnnkit's tasks on Python data, with scikit-learn's conventions.

``fit`` takes lists and NumPy arrays, writes them as files the task's readers read and trains
through the same path as ``rnnkit train`` (so the same defaults and the same run folder);
``predict`` / ``predict_proba`` / ``sample`` use the loaded run; ``save(path)`` writes a normal
run folder that ``rnnkit.load`` and every command read back. Parameters are the command's
options by name (``TextClassifier(hidden=64, epochs=3)``); ``get_params`` / ``set_params``
follow scikit-learn, so ``sklearn.base.clone`` works.
"""

from .base import Estimator, NotFittedError
from .series import Forecaster, SeriesClassifier
from .text import LanguageModel, SequenceTagger, TextClassifier

__all__ = ["Estimator", "Forecaster", "LanguageModel", "NotFittedError", "SequenceTagger",
           "SeriesClassifier", "TextClassifier"]
