"""onnxnet.surrogate"""
