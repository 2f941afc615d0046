"""onnxnet.graph"""
