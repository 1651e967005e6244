"""The house price-tier pipeline: a house's photos (and listing facts) in, its tier out. Ships with the model as Hub
custom code (named in config.json's `custom_pipelines`), so a Hub user runs

    house_tier = pipeline(model="user/zillow-vit-scratch", trust_remote_code=True)
    house_tier(["front.jpg", "kitchen.jpg"])                    # one house → one result
    house_tier([["a1.jpg", "a2.jpg"], ["b1.jpg"]])              # houses → one result each
    house_tier({"images": ["front.jpg"], "facts": {"area": 2100, "zipcode": "85255"}})  # a house with facts

A result holds the tier, the probability of each tier (classification head) or the score in [0, 1] (score head), the
number of photos read (the first `config.max_photos`) and, for the multi-photo models, the attention each photo got;
a model with listing facts (`config.listing_facts`) also gives the attention each fact got. A fact not given is
missing; a fact the model does not read is an error naming it.
"""

from collections.abc import Iterator

from transformers import Pipeline

from .image_processing_house import as_houses, read_photo
from .listing_facts import ListingFactEncoder

TASK = "house-price-tier"
PHOTOS_KEY = "house_photos"


class HousePriceTierPipeline(Pipeline):
    """Price tier of houses from their photos (paths, URLs or PIL images), preprocessed by the model's own
    `HousePhotoProcessor` exactly as in evaluation, and their listing facts (`{name: value}`), encoded as in training
    from the model's `config.listing_facts`. Houses run one at a time, or `batch_size` at a time, each padded to
    the most photos of its batch (padding is masked: the results are the same)."""

    _load_processor = False
    _load_image_processor = True
    _load_feature_extractor = False
    _load_tokenizer = False

    def __call__(self, houses, **kwargs):
        """One house (a list of photos, one photo, or `{"images": photos, "facts": {name: value}}`) → a dict; a list
        of houses (of such lists or dicts) → a list of dicts; an iterator of houses (a generator) → an iterator of
        dicts."""
        if isinstance(houses, Iterator):
            return super().__call__((as_house(house) for house in houses), **kwargs)
        batch = is_batch_of_houses(houses)
        results = super().__call__([as_house(house) for house in (houses if batch else [houses])], **kwargs)
        return results if batch else results[0]

    def _sanitize_parameters(self, timeout: float | None = None, **unexpected):
        """`timeout`: seconds to wait for a photo URL (default: no limit)."""
        if unexpected:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {sorted(unexpected)}")
        return ({} if timeout is None else {"timeout": timeout}), {}, {}

    def preprocess(self, house, timeout: float | None = None):
        config = self.model.config
        facts = ListingFactEncoder(config.listing_facts)([house["facts"]])
        photos = [read_photo(photo, timeout) for photo in house["images"][: config.max_photos]]
        inputs = self.image_processor(photos, max_photos=config.max_photos, return_tensors="pt").to(self.dtype)
        inputs.update(facts)
        # under a key of its own, which `batch_size` batching pads along the photos like a sequence (zeros, and
        # `photo_mask` False): `pixel_values` it would concatenate, and houses' photo counts differ
        inputs[PHOTOS_KEY] = inputs.pop("pixel_values")
        return inputs

    def _forward(self, inputs):
        inputs = dict(inputs)
        output = self.model(pixel_values=inputs.pop(PHOTOS_KEY), **inputs, output_attentions=True)
        return {
            "logits": output.logits,
            "score": output.score,
            "photo_attention": output.photo_attention,
            "fact_attention": output.fact_attention,
            "photo_mask": inputs["photo_mask"],
        }

    def postprocess(self, outputs):
        first = {name: None if value is None else value[0] for name, value in outputs.items()}
        return house_result(
            self.model.config,
            first["logits"],
            first["score"],
            first["photo_mask"],
            first["photo_attention"],
            first["fact_attention"],
        )


def house_result(config, logits, score, photo_mask, photo_attention, fact_attention=None) -> dict:
    """One house's answer from its rows of the model output: the tier, the probabilities (classification head) or
    the score (score head: no made-up probabilities), the photos read, for the multi-photo models the attention
    each read photo got, and for a model with listing facts the attention each fact got (by name)."""
    logits = logits.float()
    result = {"tier": config.id2label[int(logits.argmax())]}
    if score is not None:
        result["score"] = float(score)
    else:
        result["probabilities"] = {config.id2label[i]: float(p) for i, p in enumerate(logits.softmax(-1))}
    result["photos_read"] = int(photo_mask.sum())
    if photo_attention is not None:
        result["photo_attention"] = [float(a) for a in photo_attention[: result["photos_read"]]]
    if fact_attention is not None:
        result["fact_attention"] = {fact["name"]: float(a) for fact, a in zip(config.listing_facts, fact_attention)}
    return result


def as_house(house) -> dict:
    """A house as the pipeline takes it → `{"images": [photos], "facts": {name: value}}`."""
    if not isinstance(house, dict):
        return {"images": as_houses(house)[0], "facts": {}}
    unexpected = sorted(set(house) - {"images", "facts"})
    if unexpected or "images" not in house:
        raise ValueError(f'A house is {{"images": [photos], "facts": {{name: value}}}}; got the keys {sorted(house)}')
    photos = house["images"]
    return {"images": list(photos) if isinstance(photos, (list, tuple)) else [photos], "facts": house.get("facts")}


def is_batch_of_houses(houses) -> bool:
    """A list of houses (lists of photos or house dicts), not the photos of one house."""
    return (
        isinstance(houses, (list, tuple))
        and bool(houses)
        and all(isinstance(house, (list, tuple, dict)) for house in houses)
    )


__all__ = ["TASK", "HousePriceTierPipeline", "house_result"]
