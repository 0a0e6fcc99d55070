"""Build the example models of the tutorial article on overfitting this tool grew from, as small .keras files.

    python examples/build_examples.py      # needs keras (pip install 'cnnlint[confirm]')

The article's three examples, as five models, for 28x28x1 MNIST-like images and 10 classes.
``pyproject.toml`` tells cnnlint they are meant for a small training set of
2,000 images (``[[tool.cnnlint.models]] path = "examples/*"``).

* ``example1_reduced.keras``: Example 1, "reducing model capacity" (32 and 16 filters).
* ``example1_4x_width.keras``: the same network at 4x width (128 and 64 filters).
* ``example2_plain.keras``: Example 2's network without its regularization.
* ``example2_regularized.keras``: Example 2: BatchNormalization, Dropout(0.25), L2(0.01).
* ``example3_augmented.keras``: Example 2's plain network with Example 3's augmentation
  (rotation 20 degrees, shifts 0.2, horizontal flip) done in the model by Random* layers
  instead of ImageDataGenerator.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).parent


def build(keras, input_shape: tuple[int, ...] = (28, 28, 1), classes: int = 10) -> dict[str, object]:
    """The five models, for ``input_shape`` and ``classes`` (the article's: 28x28x1 and 10; the study trains them
    on photos too, ``study.generate``)."""
    layers, l2 = keras.layers, keras.regularizers.l2

    def example1(width: int):
        return [
            layers.Conv2D(32 * width, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
            layers.Conv2D(16 * width, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
            layers.Flatten(), layers.Dense(classes, activation="softmax"),
        ]  # fmt: skip

    def example2(regularized: bool):
        def only_if_regularized(layer):
            return [layer] if regularized else []

        return [
            layers.Conv2D(64, (3, 3), activation="relu"), *only_if_regularized(layers.BatchNormalization()),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(32, (3, 3), activation="relu"), *only_if_regularized(layers.BatchNormalization()),
            layers.MaxPooling2D((2, 2)),
            *only_if_regularized(layers.Dropout(0.25)),
            layers.Flatten(),
            layers.Dense(classes, activation="softmax", kernel_regularizer=l2(0.01) if regularized else None),
        ]  # fmt: skip

    def augmentation():
        return [layers.RandomRotation(20 / 360), layers.RandomTranslation(0.2, 0.2), layers.RandomFlip("horizontal")]
    specs = {
        "example1_reduced": lambda: example1(1),
        "example1_4x_width": lambda: example1(4),
        "example2_plain": lambda: example2(False),
        "example2_regularized": lambda: example2(True),
        "example3_augmented": lambda: augmentation() + example2(False),
    }
    models = {}
    for name, make in specs.items():
        keras.backend.clear_session()  # layer names restart at conv2d, dense, ... in every file
        model = keras.Sequential([keras.Input(input_shape), *make()], name=name)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        models[name] = model
    return models


def main() -> None:
    import keras

    keras.utils.set_random_seed(0)
    for name, model in build(keras).items():
        model.save(HERE / f"{name}.keras")
        print(f"wrote examples/{name}.keras ({model.count_params():,} params)")


if __name__ == "__main__":
    main()
