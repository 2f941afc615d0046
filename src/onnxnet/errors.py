"""Errors that onnxnet raises on bad input.

Every message says which file or value is wrong, what is wrong, and what to do about it.
The CLI turns any ``OnnxNetError`` into a one-line message and a non-zero exit code.
"""

from __future__ import annotations


class OnnxNetError(Exception):
    """Base class: a user-facing error with a specific, actionable message."""


class UnknownNameError(OnnxNetError, KeyError):
    """A name (space, encoding, predictor, loss, ...) that is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message; we don't want that
        return str(self.args[0]) if self.args else ""


class ModelLoadError(OnnxNetError):
    """An ONNX model (or torch module) could not be loaded, checked, or simplified."""


class EncodingError(OnnxNetError):
    """A graph could not be rendered as text, or a text could not be parsed back."""


class ArchitectureError(OnnxNetError, ValueError):
    """A malformed architecture string or an architecture outside its search space."""


class DataError(OnnxNetError):
    """A missing or malformed data file, label table, or benchmark store."""


class ProtocolError(OnnxNetError, ValueError):
    """An evaluation protocol that cannot be run as asked (no labels, too few networks, ...)."""


class PredictorError(ProtocolError):
    """A predictor failed inside an evaluation run (its fit or predict raised); other predictors can go on."""


class FeaturesMissingError(PredictorError):
    """A predictor's features are missing for some networks, and partial results were not allowed."""


class TrainingError(OnnxNetError):
    """Training cannot start or had to stop (empty data, NaN loss, corrupted checkpoint, ...)."""


class DivergedError(TrainingError):
    """Training stopped because the loss became NaN or infinite (the message names the epoch, step and batch)."""


class SurrogateError(OnnxNetError):
    """A surrogate backbone, tokenizer, or saved surrogate folder could not be loaded or saved."""


class ConfigError(OnnxNetError, ValueError):
    """A hyperparameter value on the command line that does not fit its declared type."""
