"""OpenVINO and the model cards: ``engine`` (async infer requests, normalisation in the
graph), ``modelcard`` (what a model takes and gives, checked field by field), ``registry``
(installed models, the default), ``irgraph`` (IR rewrites), ``quantize`` (NNCF INT8),
``runtime`` (OpenVINO imported without telemetry). Never imports ``train``.
"""
