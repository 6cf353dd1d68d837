"""Networks and their shared blocks; nets know no method, trainer or CLI."""

from .dcgan import DCGAN_IMAGE_SIZES, DCGANDiscriminator, DCGANGenerator, dcgan_depth
from .layers import activation, conv_block, init_dcgan_weights, norm_layer, preserved_bn_stats

__all__ = [
    "DCGAN_IMAGE_SIZES",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "activation",
    "conv_block",
    "dcgan_depth",
    "init_dcgan_weights",
    "norm_layer",
    "preserved_bn_stats",
]
