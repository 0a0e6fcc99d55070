"""Image preprocessing and augmentation layers (the Random* family and friends)."""

from __future__ import annotations

from cnnlint.layers.base import Built, Cfg, MaybeShape, identity, one_input, register

AUGMENTATION_LAYERS = (
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
    "RandomBrightness", "RandomGrayscale", "RandomHue", "RandomSaturation", "RandomSharpness",
    "RandomShear", "RandomColorJitter", "RandomColorDegeneration", "RandomPosterization",
    "RandomInvert", "RandomErasing", "RandomGaussianBlur", "RandomPerspective",
    "RandomElasticTransform", "AutoContrast", "Solarization", "Equalization", "MixUp",
    "CutMix", "AugMix", "RandAugment", "RandomApply", "Pipeline",
)  # fmt: skip

register(*AUGMENTATION_LAYERS, kind="augment")(identity)
register("Rescaling", kind="preprocess")(identity)


def _with_size(shape, cfg: Cfg, height: int | None, width: int | None):
    if len(shape) != 4:
        raise cfg.error(f"expects a 4D image batch, got rank {len(shape)}")
    if cfg.data_format() == "channels_last":
        return (shape[0], height, width, shape[3])
    return (shape[0], shape[1], height, width)


@register("Resizing", "CenterCrop", kind="preprocess")
def resize(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    shape = one_input(cfg, shapes)
    return Built([_with_size(shape, cfg, cfg.int("height", minimum=1), cfg.int("width", minimum=1))])


@register("RandomCrop", kind="augment")
def random_crop(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    shape = one_input(cfg, shapes)
    return Built([_with_size(shape, cfg, cfg.int("height", minimum=1), cfg.int("width", minimum=1))])


def _random_size(axis: int):
    def spec(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
        out = list(one_input(cfg, shapes, rank=4))
        out[axis if cfg.data_format() == "channels_last" else axis + 1] = None
        return Built([tuple(out)])

    return spec


register("RandomHeight", kind="augment")(_random_size(1))
register("RandomWidth", kind="augment")(_random_size(2))
