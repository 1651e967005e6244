#!/usr/bin/env python
"""Price tier of a new listing from a trained model (run folder or Hub repo).

    python scripts/predict.py --model runs/vit-scratch --photos front.jpg kitchen.jpg https://.../bath.jpg
    python scripts/predict.py --model runs/vit-scratch --listing houses.json --house_id 1234

Prints JSON: the tier, the class probabilities (classification head) or the score in [0, 1] (score head),
and for multi-photo models the attention each photo got.
"""

import json
import sys
import tempfile
from dataclasses import dataclass, field

import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification, HfArgumentParser

from dataset_builder import PhotoStore, read_listings
from zillow_vit.data import photo_transforms
from zillow_vit.models import register_auto_classes


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


def load_photos(locations: list[str], cache_dir: str) -> list[Image.Image]:
    """Fetched and downscaled as in the dataset build; a photo that fails is an error naming it."""
    results = PhotoStore(cache_dir).prepare(locations, description="Reading photos")
    failed = [f"{location}: {results[location].error}" for location in locations if results[location].error]
    if failed:
        raise ValueError("Unusable photos:\n" + "\n".join(failed))
    return [Image.open(results[location].path).convert("RGB") for location in locations]


@torch.no_grad()
def predict_house(model, image_processor, photos: list[Image.Image]) -> dict:
    """Tier, probabilities or score, and per-photo attention for one house."""
    config = model.config
    photos = photos[: getattr(config, "max_photos", 1)]
    transform = photo_transforms(image_processor, train=False)
    pixel_values = torch.stack([transform(photo) for photo in photos])[None]
    reads_all_photos = hasattr(model, "house_encoder")
    output = model.eval()(pixel_values, output_attentions=reads_all_photos)
    tier = config.id2label[int(output.logits.argmax(-1))]
    result = {"tier": tier, "photos_read": len(photos) if reads_all_photos else 1}
    if output.score is not None:
        result["score"] = float(output.score[0])
    else:
        result["probabilities"] = {config.id2label[i]: float(p) for i, p in enumerate(output.logits.softmax(-1)[0])}
    if reads_all_photos:
        result["photo_attention"] = [round(float(a), 4) for a in output.photo_attention[0]]
    if getattr(config, "tier_cut_points", None):
        result["tier_cut_points"] = config.tier_cut_points
    return result


def main(argv: list[str] | None = None) -> dict:
    (args,) = HfArgumentParser(PredictArguments).parse_args_into_dataclasses(
        args=sys.argv[1:] if argv is None else argv
    )
    register_auto_classes()
    model = AutoModelForImageClassification.from_pretrained(args.model, trust_remote_code=args.trust_remote_code)
    image_processor = AutoImageProcessor.from_pretrained(args.model)
    with tempfile.TemporaryDirectory() as cache_dir:
        photos = load_photos(house_photo_locations(args), cache_dir)
    result = predict_house(model, image_processor, photos)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
