"""ganas: adversarial image generation/translation and neural architecture search."""

__version__ = "0.1.0"
