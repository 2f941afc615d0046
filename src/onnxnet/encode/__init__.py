"""onnxnet.encode"""
