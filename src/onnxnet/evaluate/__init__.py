"""onnxnet.evaluate"""
