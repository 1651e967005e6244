#!/usr/bin/env python
"""Demo app: a house's price tier from its listing photos, in the browser (Gradio).

    pip install -e '.[app]'
    python scripts/app.py --model runs/vit-scratch                  # a run folder or a Hub id (several: --model A B)
    ZILLOW_VIT_MODEL=user/zillow-vit-scratch python scripts/app.py  # the same through the environment

Pick a model, upload a house's photos (or name a listing export and a house id), and see the tier, the probability of
each tier (or the score of a score head) and the photos ordered by the attention the model gave them. The model runs
through its own house pipeline (`pipeline(model=..., trust_remote_code=True)`). Bad input (a file that is not an
image, no photo, too many, an unknown house) gets a message in the page.

As a Hugging Face Space: this file is the Space's `app.py` (module-level `demo`, `main()` when run), the Space's
requirements install this project with its `app` extra, and the `ZILLOW_VIT_MODEL` variable names the model(s).
On a Space, only those models can be picked and listings must be URLs.
"""

import functools
import logging
import os
from dataclasses import dataclass, field

import gradio as gr
import httpx
from PIL import Image
from transformers import HfArgumentParser, pipeline

from dataset_builder import DatasetOptions, ListingFormatError, PhotoStore
from dataset_builder.report import tier_ranges
from zillow_vit.cli import check_location, parse_arguments
from zillow_vit.data import fetch_relisted_photos, model_houses, photo_cache_dir, stored_short_side
from zillow_vit.models.image_processing_house import open_photo, upright_rgb

logger = logging.getLogger(__name__)

MODEL_ENV = "ZILLOW_VIT_MODEL"  # run folders or Hub ids, separated by commas
ON_A_SPACE = "SPACE_ID" in os.environ  # set by Hugging Face Spaces
PHOTO_TIMEOUT_S = 20
THEME = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])  # no web fonts


@dataclass
class AppArguments:
    model: list[str] = field(
        default_factory=lambda: [name for name in os.environ.get(MODEL_ENV, "").split(",") if name],
        metadata={"help": f"Run folders or Hub ids to pick from (default: ${MODEL_ENV}, comma-separated)."},
    )
    host: str | None = field(default=None, metadata={"help": "Address to serve on (default: Gradio's, 127.0.0.1)."})
    port: int | None = field(default=None, metadata={"help": "Port to serve on (default: Gradio's, 7860)."})
    max_photos: int = field(default=40, metadata={"help": "Most photos one house may have."})


class BadInput(ValueError):
    """Input the page answers with a message instead of a prediction."""


@functools.lru_cache(maxsize=4)
def house_pipeline(model: str):
    """The model's own house pipeline, loaded once per model."""
    return pipeline(model=model, trust_remote_code=True)


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def load_model(model: str, allowed: list[str]):
    """The house pipeline of `model`; a model that cannot be picked or loaded is a `BadInput`."""
    if not model:
        raise BadInput("Give a model: a run folder of scripts/train.py or a Hub id.")
    if ON_A_SPACE and model not in allowed:
        raise BadInput(f"This Space serves {', '.join(allowed)} only.")
    try:
        return house_pipeline(model)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise BadInput(f"Could not load the model {model!r}: {error}") from error


def open_photos(locations: list[str], max_photos: int) -> tuple[list[Image.Image], list[str]]:
    """The photos (paths or URLs) decoded upright in RGB, and a note per location that is not a readable image."""
    if not locations:
        raise BadInput("Upload at least one photo of the house.")
    if len(locations) > max_photos:
        raise BadInput(f"{len(locations)} photos is too many: one house may have at most {max_photos}.")
    photos, unreadable = [], []
    for location in locations:
        try:
            photos.append(upright_rgb(open_photo(location, PHOTO_TIMEOUT_S)))
        except (OSError, ValueError, Image.DecompressionBombError, httpx.HTTPError) as error:
            unreadable.append(f"{os.path.basename(location)} is not an image ({type(error).__name__})")
    if not photos:
        raise BadInput("No photo could be read: " + "; ".join(unreadable) + ".")
    return photos, unreadable


def listing_house(listing: str, house_id: str, house_tier, max_photos: int) -> tuple[list[str], dict, list[str]]:
    """House `house_id` of the listing export `listing` (a path, or on a Space a URL) as `predict.py` reads it
    (`fetch_relisted_photos`): its first `max_photos` usable photos in listing order, stored as the model's training
    photos were (`PhotoStore` at the processor's `max_short_side`; tracking pixels and broken photos dropped, each
    replaced by the next in line), of its first record with a usable photo; the facts of the model's
    `config.listing_facts`; and a note per photo left out (refused or failed, each once)."""
    if not listing or not house_id:
        raise BadInput("Give a listing export (path or URL) and a house id.")
    if ON_A_SPACE and not is_url(listing):
        raise BadInput("On this Space, give the listing export as an http(s) URL.")
    options = DatasetOptions()
    short_side = stored_short_side([house_tier.image_processor], options)
    try:
        houses = model_houses(listing, house_tier.model.config.listing_facts, options, short_side)
    except ListingFormatError as error:
        raise BadInput(f"Cannot read the listing: {error}") from error
    records = [house for house in houses if house.house_id == house_id.strip()]
    if not records:
        raise BadInput(f"House {house_id!r}: not in the listing.")
    fetch_relisted_photos(records, PhotoStore(photo_cache_dir(options), short_side, options), max_photos)
    scored = next((index for index, house in enumerate(records) if house.problem is None), None)
    tried = records if scored is None else records[: scored + 1]
    dropped = {note["photo"]: note["reason"] for house in tried for note in house.dropped}
    notes = [f"{photo}: {reason}" for photo, reason in dropped.items()]
    if scored is None:
        problem = f"no usable photos ({'; '.join(notes)})" if notes else records[0].problem
        raise BadInput(f"House {house_id!r}: {problem}.")
    return records[scored].stored, records[scored].facts, notes


def tell_tier(
    house_tier, photos: list[Image.Image], notes: list[str], facts: dict | None = None
) -> tuple[str, dict | None, list]:
    """The page's answer for one house (its photos, and its listing facts when the model reads facts): verdict
    (Markdown), tier probabilities (None for a score head) and the photos with captions, those read first in
    decreasing attention."""
    result = house_tier({"images": photos, "facts": facts} if facts else photos)
    config = house_tier.model.config
    read = result["photos_read"]
    lines = [f"## Tier: **{result['tier']}**"]
    if "score" in result:
        lines.append(f"Score **{result['score']:.2f}** on the price ladder (cheap 0, average 0.5, expensive 1).")
    lines.append(f"Read {read} of {len(photos)} photos (this model reads the first {config.max_photos}).")
    if config.tier_cut_points:
        lines.append(f"Tiers: {tier_ranges(config.tier_cut_points)}.")
    lines += [f"Left out: {note}." for note in notes]
    attention = result.get("photo_attention")
    order = sorted(range(read), key=lambda index: -attention[index]) if attention else range(read)
    gallery = [
        (photos[index], f"photo {index + 1} · " + (f"{attention[index]:.2f}" if attention else "read"))
        for index in order
    ]
    gallery += [(photos[index], f"photo {index + 1} · not read") for index in range(read, len(photos))]
    return "\n\n".join(lines), result.get("probabilities"), gallery


def answer(models: list[str], max_photos: int, model: str, house) -> tuple:
    """The outputs of the page (verdict, probabilities, gallery) for the house whose photo locations, facts and notes
    on dropped photos `house(house_tier)` gives for the model's pipeline, or a message when the input is bad; an
    unexpected failure is logged and summarised, never shown as a trace."""
    try:
        house_tier = load_model(model, models)
        locations, facts, dropped = house(house_tier)
        photos, unreadable = open_photos(locations, max_photos)
        verdict, probabilities, gallery = tell_tier(house_tier, photos, dropped + unreadable, facts)
    except BadInput as error:
        return f"⚠️ {error}", gr.Label(value=None, visible=False), []
    except Exception as error:  # the page's last line of defence
        logger.exception("Prediction failed")
        return f"⚠️ The prediction failed ({type(error).__name__}); see the server log.", gr.Label(visible=False), []
    return verdict, gr.Label(value=probabilities, visible=probabilities is not None), gallery


def build_demo(models: list[str], max_photos: int = 40) -> gr.Blocks:
    """The page: model choice, photos or listing + house id, and the answer."""
    with gr.Blocks(title="House price tier", analytics_enabled=False) as demo:
        gr.Markdown(
            "# House price tier from listing photos\n"
            "Cheap, average or expensive: the terciles of the prices the model was trained on. "
            "A demo, **not for valuation decisions**; tiers proxy neighbourhood and can encode its biases."
        )
        model = gr.Dropdown(
            choices=models, value=models[0] if models else None, allow_custom_value=not ON_A_SPACE,
            label="Model: a run folder or a Hub id", elem_id="model",
        )  # fmt: skip
        with gr.Row():
            with gr.Column(scale=2):
                with gr.Tab("Photos"):
                    uploads = gr.File(
                        file_count="multiple", type="filepath", label="The house's photos, in listing order",
                        elem_id="photos",
                    )  # fmt: skip
                    from_photos = gr.Button("Tell the tier", variant="primary", elem_id="predict")
                with gr.Tab("Listing"):
                    listing = gr.Textbox(label="Listing export: a JSON file path or URL", elem_id="listing")
                    house_id = gr.Textbox(label="House id", elem_id="house-id")
                    from_listing = gr.Button(
                        "Tell the tier of this house", variant="primary", elem_id="predict-listing"
                    )
            with gr.Column(scale=3):
                verdict = gr.Markdown(elem_id="verdict")
                probabilities = gr.Label(label="Probability of each tier", visible=False, elem_id="probabilities")
        gallery = gr.Gallery(
            label="Photos read, by the attention the model gave them",
            columns=5,
            height=320,
            object_fit="cover",
            elem_id="gallery",
        )

        outputs = [verdict, probabilities, gallery]
        answer_for = functools.partial(answer, models, max_photos)

        def photos_answer(model_name, files):
            return answer_for(model_name, lambda house_tier: (list(files or []), {}, []))

        def listing_answer(model_name, listing_location, house_id):
            return answer_for(
                model_name, lambda house_tier: listing_house(listing_location, house_id, house_tier, max_photos)
            )

        from_photos.click(photos_answer, [model, uploads], outputs)
        uploads.upload(photos_answer, [model, uploads], outputs)
        from_listing.click(listing_answer, [model, listing, house_id], outputs)
    return demo


demo = build_demo(AppArguments().model)


def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(HfArgumentParser(AppArguments, description=__doc__), argv)
    for model in args.model:
        check_location("--model", model)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    if args.model:
        house_pipeline(args.model[0])  # a first answer without the wait
    build_demo(args.model, args.max_photos).launch(
        server_name=args.host, server_port=args.port, ssr_mode=False, theme=THEME
    )


if __name__ == "__main__":
    main()
