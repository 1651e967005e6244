#!/usr/bin/env python
"""Build the house dataset from a listing export (path or URL) or "synthetic" and save it.

    python scripts/build_dataset.py --source houses.json --output_dir data/houses

Writes `save_to_disk` output and `build_report.json` (houses kept/skipped with reasons, photos
fetched/failed, split sizes, tercile cut points, and per listing fact its kind and how many houses lack it)
into the output folder, and prints the report. `--listing_fields bedrooms bathrooms area zipcode` carries
listing facts as columns (numbers float32 with NaN when missing, categories strings).
`--export DIR` also writes the Hub layout (Parquet + dataset card); `--push_to_hub user/name` uploads it.
`scripts/train.py --dataset DIR` then trains on the saved dataset.
"""

import os
from dataclasses import dataclass, field

from transformers import HfArgumentParser

from zillow_vit.cli import parse_arguments, run_script
from zillow_vit.data import DatasetArguments
from zillow_vit.hub import export_dataset, push_dataset_to_hub


@dataclass
class OutputArguments:
    output_dir: str = field(metadata={"help": "Folder to save the dataset and its build report into."})
    export: str | None = field(
        default=None, metadata={"help": "Also write the Hub layout (Parquet with image bytes, dataset card) here."}
    )
    push_to_hub: str | None = field(
        default=None, metadata={"help": "Also push the dataset and its card to this Hub repo (user/name)."}
    )
    private: bool = field(default=False, metadata={"help": "Create the Hub repo private."})


def main(argv: list[str] | None = None):
    parser = HfArgumentParser((DatasetArguments, OutputArguments), description=__doc__)
    data_args, output_args = parse_arguments(parser, argv)
    dataset, report = data_args.load()
    print(report.summary())
    if os.path.realpath(data_args.dataset) == os.path.realpath(output_args.output_dir):  # re-exporting a saved build
        print(f"Kept the {sum(len(split) for split in dataset.values())} houses saved in {output_args.output_dir}")
    else:
        dataset.save_to_disk(output_args.output_dir)
        report.save(output_args.output_dir)
        print(f"Saved {sum(len(split) for split in dataset.values())} houses to {output_args.output_dir}")
    if output_args.export:
        export_dataset(dataset, report, output_args.export)
        print(f"Exported for the Hub to {output_args.export}")
    if output_args.push_to_hub:
        print("Pushed to", push_dataset_to_hub(dataset, report, output_args.push_to_hub, private=output_args.private))
    return dataset, report


if __name__ == "__main__":
    run_script(main)
