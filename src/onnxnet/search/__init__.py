"""onnxnet.search"""
