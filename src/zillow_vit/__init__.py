"""zillow-vit: tell a house's price tier (cheap / average / expensive) from its listing photos.

Importing it registers the project's models and image processor with the transformers Auto classes."""

from . import models
from .recipes import MODELS

__all__ = ["MODELS", "models"]
