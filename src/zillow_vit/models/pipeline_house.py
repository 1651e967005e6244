"""The house price-tier pipeline: a house's photos in, its tier out. Ships with the model as Hub custom code (named in
config.json's `custom_pipelines`), so a Hub user runs

    house_tier = pipeline(model="user/zillow-vit-scratch", trust_remote_code=True)
    house_tier(["front.jpg", "kitchen.jpg"])                    # one house → one result
    house_tier([["a1.jpg", "a2.jpg"], ["b1.jpg"]])              # houses → one result each

A result holds the tier, the probability of each tier (classification head) or the score in [0, 1] (score head), the
number of photos read (the first `config.max_photos`) and, for the multi-photo models, the attention each photo got.
"""

from transformers import Pipeline
from transformers.image_utils import load_image

from .image_processing_house import as_houses

TASK = "house-price-tier"


class HousePriceTierPipeline(Pipeline):
    """Price tier of houses from their photos (paths, URLs or PIL images), preprocessed by the model's own
    `HousePhotoProcessor` exactly as in evaluation. Houses run one at a time (each may have its own photo count)."""

    _load_processor = False
    _load_image_processor = True
    _load_feature_extractor = False
    _load_tokenizer = False

    def __call__(self, houses, **kwargs):
        """One house (a list of photos, or one photo) → a dict; a list of houses (a list of lists) → a list of dicts."""
        results = super().__call__(as_houses(houses), **kwargs)
        return results if is_batch_of_houses(houses) else results[0]

    def _sanitize_parameters(self, timeout: float | None = None, **unexpected):
        """`timeout`: seconds to wait for a photo URL (default: no limit)."""
        if unexpected:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {sorted(unexpected)}")
        return ({} if timeout is None else {"timeout": timeout}), {}, {}

    def preprocess(self, photos, timeout: float | None = None):
        max_photos = self.model.config.max_photos
        photos = [
            load_image(photo, timeout=timeout) if isinstance(photo, str) else photo for photo in photos[:max_photos]
        ]
        inputs = self.image_processor(photos, max_photos=max_photos, return_tensors="pt")
        return inputs.to(self.dtype)

    def _forward(self, inputs):
        output = self.model(**inputs, output_attentions=True)
        return {
            "logits": output.logits,
            "score": output.score,
            "photo_attention": output.photo_attention,
            "photo_mask": inputs["photo_mask"],
        }

    def postprocess(self, outputs):
        score, attention = outputs["score"], outputs["photo_attention"]
        return house_result(
            self.model.config,
            outputs["logits"][0],
            None if score is None else score[0],
            outputs["photo_mask"][0],
            None if attention is None else attention[0],
        )


def house_result(config, logits, score, photo_mask, photo_attention) -> dict:
    """One house's answer from its rows of the model output: the tier, the probabilities (classification head) or
    the score (score head: no made-up probabilities), the photos read, and for the multi-photo models the attention
    each read photo got."""
    logits = logits.float()
    result = {"tier": config.id2label[int(logits.argmax())]}
    if score is not None:
        result["score"] = float(score)
    else:
        result["probabilities"] = {config.id2label[i]: float(p) for i, p in enumerate(logits.softmax(-1))}
    result["photos_read"] = int(photo_mask.sum())
    if photo_attention is not None:
        result["photo_attention"] = [float(a) for a in photo_attention[: result["photos_read"]]]
    return result


def is_batch_of_houses(houses) -> bool:
    """A list of lists of photos (several houses), not the photos of one house."""
    return isinstance(houses, (list, tuple)) and bool(houses) and all(isinstance(h, (list, tuple)) for h in houses)


__all__ = ["TASK", "HousePriceTierPipeline", "house_result"]
