"""The thin command-line interface over onnxnet's Python API."""
