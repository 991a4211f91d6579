"""batchcolor: batch line-art-to-color on OpenVINO, with PaddlePaddle training."""
__version__ = "0.1.0"
