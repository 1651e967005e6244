#!/usr/bin/env python
"""Price tier of new houses from a trained model (run folder or Hub repo): one house, or every house of a listing.

    python scripts/predict.py --model runs/vit-scratch --photos front.jpg kitchen.jpg https://.../bath.jpg
    python scripts/predict.py --model runs/vit-facts --photos front.jpg --facts '{"area": 2100, "zipcode": "85255"}'
    python scripts/predict.py --model runs/vit-scratch --listing export.json --house_id 31105437
    python scripts/predict.py --model runs/vit-scratch --listing export.json --output predictions.jsonl
    python scripts/predict.py --model runs/seed0 runs/seed1 runs/seed2 --listing export.json --output ensemble.csv

A house needs only an id and photos: a missing or odd price is no error (a price that parses is shown beside the
prediction, with its true tier under the model's own cut points). Photos are fetched, checked and stored by the
dataset builder's `PhotoStore` (same cache, limits and reasons as a build), then preprocessed by the run's image
processor; the model reads the first `config.max_photos` usable photos in listing order. Without `--house_id`
every house is scored in batches, the model loaded once, and written as JSON Lines or CSV (by the `--output`
suffix) with a summary line: accuracy against the model's cut points over the houses with a price. A house with no
usable photo gets a row with its reason. One house prints its JSON.

A model with listing facts (`config.listing_facts`) reads each fact from the listing at the path and as the kind its
config names (never re-inferred; a fact a house lacks is missing) and writes the attention each fact got beside the
photos'; `--facts` gives them for `--photos`.

Several `--model`s are a seed ensemble: runs of one recipe (same tiers, cut points, head, photos and facts read;
`zillow_vit.ensemble`), each reading the house, their tier probabilities (score heads: scores) and attention averaged.
"""

import csv
import json
import logging
import os
from dataclasses import dataclass, field

import torch
from PIL import Image
from tqdm.auto import tqdm
from transformers import HfArgumentParser

import zillow_vit  # noqa: F401  (registers the project's models with the Auto classes)
from dataset_builder import DataError, DatasetOptions, PhotoStore, price_tier
from zillow_vit.cli import check_location, parse_arguments, run_script, usage_error
from zillow_vit.data import House, fetch_relisted_photos, model_houses, photo_cache_dir, stored_short_side
from zillow_vit.ensemble import combined, load_members
from zillow_vit.models.listing_facts import ListingFactEncoder
from zillow_vit.models.pipeline_house import house_result

logger = logging.getLogger(__name__)
BUILD_OPTIONS = (  # options of a dataset build that prediction has no use for
    "listing_fields", "validation_fraction", "test_fraction", "split_seed", "num_synthetic_houses",
    "synthetic_image_size",
)  # fmt: skip


@dataclass
class PredictArguments:
    model: list[str] = field(
        metadata={
            "help": "Run folder written by scripts/train.py, or a Hub repo id. Several: a seed ensemble (runs of one "
            "recipe: the mean of their tier probabilities, or scores, and of their attention)."
        }
    )
    photos: list[str] = field(default_factory=list, metadata={"help": "Photo paths or URLs of one house."})
    facts: str | None = field(
        default=None,
        metadata={"help": "Listing facts of the --photos house, a JSON object such as '{\"area\": 2100}'."},
    )
    listing: str | None = field(default=None, metadata={"help": "A listing export (path or URL) instead of --photos."})
    house_id: str | None = field(default=None, metadata={"help": "Score only this house of --listing."})
    output: str | None = field(
        default=None, metadata={"help": "Where the rows of a whole listing go: a .jsonl or .csv file."}
    )
    batch_size: int = field(default=16, metadata={"help": "Houses scored at once."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Run the model code shipped with a Hub repo."})
    test_time_flip: bool | None = field(
        default=None,
        metadata={"help": "Read each photo and its mirror image (flip test-time augmentation) whatever the models' "
                  "configs say (true), or never (false); default: as each config says."},
    )  # fmt: skip


def houses_to_score(
    args: PredictArguments, options: DatasetOptions, listing_facts: list[dict], short_side: int | None = None
) -> list[House]:
    """The house of `--photos` (with `--facts`), or the houses of `--listing` with the facts of `listing_facts` (of a
    photo offered in several sizes, the smallest that keeps `short_side`); a repeat of an id is left to
    `fetch_relisted_photos`."""
    if args.listing is None:
        return [House("photos", args.photos, facts=json.loads(args.facts or "{}"))]
    houses = model_houses(args.listing, listing_facts, options, short_side)
    if args.house_id is not None:
        houses = [house for house in houses if house.house_id == args.house_id.strip()]
        if not houses:
            raise DataError(f"House {args.house_id!r} of {args.listing}: not found")
    return houses


def mean_or_none(tensors: list[torch.Tensor | None]) -> torch.Tensor | None:
    return None if tensors[0] is None else torch.stack(tensors).mean(0)


@torch.no_grad()
def score(members: list[tuple], houses: list[House]) -> list[dict]:
    """One batch of houses with usable photos → their prediction rows, from one model or an ensemble's members
    (`(model, processor)` pairs that read the same photos and facts, `ensemble.check_members`)."""
    config = members[0][0].config
    photos = [[Image.open(path) for path in house.stored] for house in houses]
    facts = ListingFactEncoder(config.listing_facts)([house.facts for house in houses])
    inputs_by_processor, outputs = {}, []  # members with the same preprocessing (seeds of one recipe) share it
    for model, processor in members:
        preprocessing = processor.to_json_string()
        if preprocessing not in inputs_by_processor:
            inputs_by_processor[preprocessing] = processor(photos, max_photos=config.max_photos)
        outputs.append(model(**inputs_by_processor[preprocessing], **facts, output_attentions=True))
    inputs = next(iter(inputs_by_processor.values()))  # its photo_mask: every member's (same photos, max_photos)
    logits, scores = combined([output.logits for output in outputs], [output.score for output in outputs])
    photo_attention = mean_or_none([output.photo_attention for output in outputs])
    fact_attention = mean_or_none([output.fact_attention for output in outputs])
    rows = []
    for index in range(len(houses)):
        row = house_result(
            config,
            logits[index],
            None if scores is None else scores[index],
            inputs["photo_mask"][index],
            None if photo_attention is None else photo_attention[index],
            None if fact_attention is None else fact_attention[index],
        )
        if "photo_attention" in row:
            row["photo_attention"] = [round(weight, 4) for weight in row["photo_attention"]]
        if "fact_attention" in row:
            row["fact_attention"] = {name: round(weight, 4) for name, weight in row["fact_attention"].items()}
        rows.append(row)
    return rows


def prediction_row(house: House, prediction: dict | None, config) -> dict:
    """A house's output row: id, prediction (or the reason there is none), photos dropped, price and true tier."""
    row = {"id": house.house_id}
    row.update(prediction or {"tier": None, "problem": house.problem})
    row["photos_dropped"] = house.dropped
    row["photos_rule"] = f"first {config.max_photos} usable photos in listing order"
    if house.price is not None:
        row["price"] = house.price
        if config.tier_cut_points:
            row["true_tier"] = config.id2label[price_tier(house.price, config.tier_cut_points)]
    return row


def predict_houses(members: list[tuple], houses: list[House], batch_size: int) -> list[dict]:
    """Rows for every house, in listing order, the usable ones scored `batch_size` at a time."""
    usable = [index for index, house in enumerate(houses) if house.problem is None]
    predictions = {}  # by position: a skipped duplicate shares its id with a scored house
    for start in tqdm(range(0, len(usable), batch_size), desc="Scoring houses", unit="batch"):
        batch = usable[start : start + batch_size]
        predictions.update(zip(batch, score(members, [houses[index] for index in batch])))
    config = members[0][0].config
    return [prediction_row(house, predictions.get(index), config) for index, house in enumerate(houses)]


def summary(rows: list[dict]) -> dict:
    """Houses scored, skipped, and the accuracy against the model's cut points over those with a price."""
    judged = [row for row in rows if row["tier"] is not None and "true_tier" in row]
    correct = sum(row["tier"] == row["true_tier"] for row in judged)
    return {
        "houses": len(rows),
        "scored": sum(row["tier"] is not None for row in rows),
        "with_price": len(judged),
        "accuracy": correct / len(judged) if judged else None,
    }


def write_rows(rows: list[dict], path: str) -> None:
    """JSON Lines (one object per house) or CSV (nested values as JSON text), chosen by the file suffix."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        if path.endswith(".csv"):
            columns = list(dict.fromkeys(key for row in rows for key in row))
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in row.items()})
        else:
            for row in rows:
                handle.write(json.dumps(row) + "\n")


def check_arguments(args: PredictArguments, options: DatasetOptions) -> None:
    if bool(args.photos) == bool(args.listing):
        usage_error("give either --photos (one house) or --listing (with --house_id for one house)")
    if args.facts is not None:
        if args.listing:
            usage_error("--facts goes with --photos: a listing's facts are read from the listing")
        try:
            facts = json.loads(args.facts)
        except json.JSONDecodeError as error:
            usage_error(f"--facts {args.facts}: not JSON ({error})")
        if not isinstance(facts, dict):
            usage_error(f'--facts {args.facts}: must be a JSON object such as {{"area": 2100}}')
    if args.output and not args.output.endswith((".jsonl", ".csv")):
        usage_error(f"--output {args.output}: must end in .jsonl or .csv")
    for model in args.model:
        check_location("--model", model)
        if os.path.isdir(model) and not os.path.isfile(os.path.join(model, "config.json")):
            checkpoints = sorted(name for name in os.listdir(model) if name.startswith("checkpoint-"))
            usage_error(
                f"--model {model}: no trained model here (no config.json)"
                + (f"; its checkpoints: {', '.join(checkpoints)} (give one as --model)" if checkpoints else "")
            )
    check_location("--listing", args.listing)
    for photo in args.photos:
        check_location("--photos", photo)
        if os.path.isdir(photo):
            usage_error(f"--photos {photo}: a folder; give the house's photo files")
    given = [name for name in BUILD_OPTIONS if getattr(options, name) != getattr(DatasetOptions(), name)]
    if given:
        usage_error(
            f"--{given[0]}: an option of a dataset build; a listing is read as the model was trained to read it"
        )


def load_model(args: PredictArguments) -> list[tuple]:
    """The members (`ensemble.load_members`); runs that cannot be loaded or make one ensemble, or `--facts` the model
    cannot read, are a usage error, before any photo is fetched."""
    flip = {} if args.test_time_flip is None else {"test_time_flip": args.test_time_flip}
    try:
        members = load_members(args.model, trust_remote_code=args.trust_remote_code, **flip)
    except (ValueError, OSError) as error:  # OSError: a Hub id that cannot be reached or found
        usage_error(f"--model: {' '.join(str(error).split())}")
    try:
        ListingFactEncoder(members[0][0].config.listing_facts)([json.loads(args.facts or "{}")])
    except ValueError as error:
        usage_error(f"--facts: {error}")
    return members


def warn_of_absent_facts(houses: list[House], listing: str, listing_facts: list[dict]) -> None:
    """A fact the model reads that no house of the listing has (another field name?) is missing for every house."""
    for fact in listing_facts:
        if houses and all(house.facts.get(fact["name"]) is None for house in houses):
            logger.warning(
                "No house of %s has the listing fact %s (at %s) the model was trained with: it is missing for every "
                "house", listing, fact["name"], fact["path"],
            )  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = HfArgumentParser((PredictArguments, DatasetOptions), description=__doc__)
    args, options = parse_arguments(parser, argv)
    check_arguments(args, options)
    members = load_model(args)
    config = members[0][0].config
    short_side = stored_short_side([processor for _, processor in members], options)
    houses = houses_to_score(args, options, config.listing_facts, short_side)
    if args.listing:
        warn_of_absent_facts(houses, args.listing, config.listing_facts)
    fetch_relisted_photos(houses, PhotoStore(photo_cache_dir(options), short_side, options), config.max_photos)
    rows = predict_houses(members, houses, args.batch_size)
    if args.listing is None or args.house_id is not None:
        row = next((row for row in rows if row["tier"] is not None), rows[-1])  # a repeated id: its scored record
        if row["tier"] is None:
            dropped = "".join(f"; {d['photo']}: {d['reason']}" for d in row["photos_dropped"])
            raise DataError(f"House {row['id']}: {row['problem']}{dropped}")
        print(json.dumps(row, indent=2))
        return row
    result = summary(rows)
    if args.output:
        write_rows(rows, args.output)
        result["output"] = args.output
    else:
        for row in rows:
            print(json.dumps(row))
    print(json.dumps({"summary": result}))
    return {"summary": result, "rows": rows}


if __name__ == "__main__":
    run_script(main)
