"""onnxnet: one universal text representation for any neural network, and a predictor of its accuracy."""

__version__ = "0.1.0"
