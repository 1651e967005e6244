#!/usr/bin/env python
"""Price tier of a new listing from a trained model (run folder or Hub repo).

    python scripts/predict.py --model runs/vit-scratch --photos front.jpg kitchen.jpg https://.../bath.jpg
    python scripts/predict.py --model runs/vit-scratch --listing houses.json --house_id 1234

Prints JSON: the tier, the class probabilities (classification head) or the score in [0, 1] (score head),
and for multi-photo models the attention each photo got.
"""

import json
import logging
import sys
from dataclasses import dataclass, field

import httpx
import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification, HfArgumentParser

import zillow_vit  # noqa: F401  (registers the project's models with the Auto classes)
from dataset_builder import read_listings
from zillow_vit.models.image_processing_house import upright_rgb

logger = logging.getLogger(__name__)


@dataclass
class PredictArguments:
    model: str = field(metadata={"help": "Run folder written by scripts/train.py, or a Hub repo id."})
    photos: list[str] = field(default_factory=list, metadata={"help": "Photo paths or URLs of one house."})
    listing: str | None = field(default=None, metadata={"help": "A listing export (path or URL) instead of --photos."})
    house_id: str | None = field(default=None, metadata={"help": "Which house of --listing."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Run the model code shipped with a Hub repo."})


def house_photo_locations(args: PredictArguments) -> list[str]:
    if args.listing is None:
        if not args.photos:
            raise ValueError("Give --photos, or --listing with --house_id")
        return args.photos
    listing = next((item for item in read_listings(args.listing) if item.house_id == args.house_id), None)
    if listing is None or listing.problem:
        raise ValueError(
            f"House {args.house_id!r} of {args.listing}: {'not found' if listing is None else listing.problem}"
        )
    return listing.photos


def readable_photos(locations: list) -> list[Image.Image]:
    """The photos opened upright and RGB; one that cannot be read is dropped with a warning naming it and why, and
    only a house with no readable photo left is an error."""
    photos, problems = [], []
    for location in locations:
        try:
            photos.append(upright_rgb(location))
        except (OSError, ValueError, httpx.HTTPError) as error:
            problems.append(f"{location}: undecodable image ({type(error).__name__})")
    for problem in problems:
        logger.warning("Dropped photo %s", problem)
    if not photos:
        raise ValueError("No usable photo:\n" + "\n".join(problems))
    return photos


@torch.no_grad()
def predict_house(model, image_processor, photos: list[Image.Image]) -> dict:
    """Tier, probabilities or score, and per-photo attention (multi-photo models) for one house: the first
    `config.max_photos` photos, preprocessed by the run's own image processor."""
    config = model.config
    inputs = image_processor(photos, max_photos=config.max_photos)
    output = model.eval()(**inputs, output_attentions=True)
    tier = config.id2label[int(output.logits.argmax(-1))]
    result = {"tier": tier, "photos_read": int(inputs["photo_mask"].sum())}
    if output.score is not None:
        result["score"] = float(output.score[0])
    else:
        result["probabilities"] = {config.id2label[i]: float(p) for i, p in enumerate(output.logits.softmax(-1)[0])}
    if output.photo_attention is not None:
        result["photo_attention"] = [round(float(a), 4) for a in output.photo_attention[0]]
    if config.tier_cut_points:
        result["tier_cut_points"] = config.tier_cut_points
    return result


def main(argv: list[str] | None = None) -> dict:
    (args,) = HfArgumentParser(PredictArguments).parse_args_into_dataclasses(
        args=sys.argv[1:] if argv is None else argv
    )
    model = AutoModelForImageClassification.from_pretrained(args.model, trust_remote_code=args.trust_remote_code)
    image_processor = AutoImageProcessor.from_pretrained(args.model, trust_remote_code=args.trust_remote_code)
    result = predict_house(model, image_processor, readable_photos(house_photo_locations(args)))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
