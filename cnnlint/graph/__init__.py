"""The model graph: one format-independent, validated picture of a network.

- ``model``: the data model (``ModelGraph``, ``Layer``, ``Node``, compile settings);
- ``builder``: ``build_graph(raw)``, the only code that walks an untrusted config dict;
- ``keras_nodes``: names, nested models, Keras 2 and 3 inbound nodes;
- ``training_config``: regularizers and the compile config (also read by ``confirm``).

Receptive fields are analysis (``cnnlint.analysis``); custom layers are counted
from the weights file by ``cnnlint.saved_weights``, which the pipeline runs after the builder.
"""

from cnnlint.graph.builder import build_graph
from cnnlint.graph.keras_nodes import MODEL_CLASSES
from cnnlint.graph.model import CompileInfo, Layer, Loss, ModelGraph, Node, Ref, Regularizer
from cnnlint.graph.training_config import parse_compile, parse_regularizer

__all__ = [
    "MODEL_CLASSES",
    "CompileInfo",
    "Layer",
    "Loss",
    "ModelGraph",
    "Node",
    "Ref",
    "Regularizer",
    "build_graph",
    "parse_compile",
    "parse_regularizer",
]
