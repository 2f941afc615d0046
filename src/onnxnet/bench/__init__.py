"""onnxnet.bench"""
