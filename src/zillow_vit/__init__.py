"""zillow-vit: tell a house's price tier (cheap / average / expensive) from its listing photos."""

from .models import MODELS, register_auto_classes

__all__ = ["MODELS", "register_auto_classes"]
