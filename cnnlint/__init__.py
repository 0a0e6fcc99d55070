"""cnnlint: a static overfitting linter for Keras convolutional networks."""

__version__ = "0.1.0"
