"""Training and export (PaddlePaddle, paddle2onnx). Needs the ``train`` extra; imported lazily."""
