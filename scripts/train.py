#!/usr/bin/env python
"""Train a price-tier model on house photos with `transformers.Trainer`.

    python scripts/train.py --model cnn                              # built-in synthetic houses
    accelerate launch scripts/train.py --model vit-scratch --dataset houses.json

Data → labels (and listing fact statistics, of the training split) → config/model/image processor → transforms
(`set_transform`) → collator → Trainer → train, evaluate on validation (best checkpoint), evaluate on test → save
model, metrics, cut points.
Every `TrainingArguments` option works from the command line; each model has its own defaults.
"""

import argparse
import json
import logging
import os
import shlex
import sys
from dataclasses import dataclass, field

import torch
import transformers
from huggingface_hub.errors import StrictDataclassError
from transformers import AutoConfig, HfArgumentParser, Trainer, TrainerState, TrainingArguments, set_seed

from zillow_vit.checkpoints import (
    RUN_FINISHED_FILE,
    TRAINER_STATE,
    checkpoint_problem,
    last_complete_checkpoint,
    run_argument_changes,
    run_argument_defaults,
    run_arguments,
    write_run_arguments,
)
from zillow_vit.cli import check_location, config_overrides, run_script, usage_error
from zillow_vit.data import DatasetArguments, collate_houses, fit_listing_facts, house_transforms, listing_fields
from zillow_vit.hub import prepare_for_hub, push_run_to_hub, write_model_card
from zillow_vit.metrics import build_compute_metrics
from zillow_vit.models import HEAD_TYPES, MultiPhotoHouseClassifier
from zillow_vit.models.modeling_multi_image_pretrained import read_blank_photo
from zillow_vit.recipes import DEFAULT_BACKBONE, MODELS
from zillow_vit.training import (
    FreezeBackboneCallback,
    backbone_optimizer,
    freeze_batch_norm_statistics,
    peak_memory_metrics,
    weights_fingerprint,
)

logger = logging.getLogger(__name__)

RUN_DEFAULTS = {
    "eval_strategy": "epoch",
    "save_strategy": "epoch",
    "logging_strategy": "steps",
    "logging_steps": 10,
    "load_best_model_at_end": True,
    "metric_for_best_model": "accuracy",
    "save_total_limit": 2,
    "remove_unused_columns": False,
    "optim": "adamw_torch",
    "ddp_find_unused_parameters": False,
}


@dataclass
class ModelArguments:
    model: str = field(default="cnn", metadata={"help": "Which model to train.", "choices": sorted(MODELS)})
    preset: str = field(default="default", metadata={"help": 'Config preset of the model ("default", "tiny").'})
    head_type: str = field(
        default="classification",
        metadata={"help": "One logit per tier, or one ordinal score in [0, 1].", "choices": list(HEAD_TYPES)},
    )
    config_overrides: str | None = field(
        default=None, metadata={"help": "JSON object of config fields to override, e.g. '{\"hidden_size\": 64}'."}
    )
    pretrained_model_name_or_path: str = field(
        default=DEFAULT_BACKBONE,
        metadata={
            "help": "vit-pretrained: Hub id or local folder of the photo backbone (AutoModel + AutoImageProcessor)."
        },
    )
    backbone_learning_rate_scale: float = field(
        default=1.0, metadata={"help": "vit-pretrained: the backbone learns at learning_rate times this."}
    )
    whole_photo: bool = field(
        default=False,
        metadata={
            "help": "vit-pretrained: read each 3:2 listing photo whole (short side at the backbone's input height, "
            "1.5 times as wide: 224 x 336) instead of the backbone's centre crop; for backbones that take any input "
            "size (convolutional: EfficientNet, ConvNeXt, ResNet). Saved in the run's image processor."
        },
    )
    backbone_layer_decay: float = field(
        default=1.0,
        metadata={
            "help": "vit-pretrained: layer-wise learning-rate decay; each backbone block learns at this times the rate "
            "of the block above it, the top one at learning_rate times backbone_learning_rate_scale (1: no decay)."
        },
    )
    freeze_backbone_epochs: int = field(
        default=0, metadata={"help": "vit-pretrained: train only the new layers for this many epochs first."}
    )
    freeze_backbone_batch_norm: bool = field(
        default=False,
        metadata={
            "help": "vit-pretrained: keep the backbone's batch-norm running statistics as pretrained while it trains "
            "(a few houses per batch make poor statistics); their scale and shift still learn."
        },
    )


@dataclass
class DataTrainingArguments(DatasetArguments):
    max_photos: int | None = field(
        default=None,
        metadata={"help": "Photos read per house (the first ones; default: the preset's). Saved as config.max_photos."},
    )
    train_photo_sampling: str = field(
        default="random",
        metadata={
            "help": "Training photos: a random sample of up to max_photos, or the first ones.",
            "choices": ["random", "first"],
        },
    )
    train_min_crop_scale: float = field(
        default=0.8,
        metadata={
            "help": "Augmentation: each training crop keeps this fraction of the area of a randomly placed "
            "evaluation-size crop or more."
        },
    )
    train_colour_jitter: float = field(
        default=0.0,
        metadata={"help": "Augmentation: brightness, contrast and saturation jitter of this strength (0: none)."},
    )
    use_listing_facts: bool = field(
        default=True,
        metadata={
            "help": "Read the dataset's listing facts (its fact columns) beside the photos; multi-photo models only. "
            "false: the photos-only model, e.g. the ablation on the same dataset."
        },
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only this many training houses."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Use only this many validation/test houses."})


def dataloader_defaults() -> dict:
    """Input pipeline defaults: on a GPU, decoding and augmentation run in worker processes, one per core this process
    can spare (its cores shared among the local processes, one kept for the training loop), kept alive across epochs,
    with pinned memory for non-blocking copies. On a CPU the training itself needs the cores: no workers."""
    if not torch.cuda.is_available():
        return {"dataloader_num_workers": 0, "dataloader_pin_memory": False}
    local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    workers = max(0, len(os.sched_getaffinity(0)) // local_processes - 1)
    settings = {"dataloader_num_workers": workers, "dataloader_pin_memory": True}
    if workers:
        settings.update(dataloader_persistent_workers=True, dataloader_prefetch_factor=4)
    return settings


def parse_arguments(argv: list[str]) -> tuple[ModelArguments, DataTrainingArguments, TrainingArguments]:
    """Parse the command line, with the chosen model's training defaults under any flag given."""
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, TrainingArguments), description=__doc__)
    model_flag = argparse.ArgumentParser(add_help=False)
    model_flag.add_argument("--model", default=ModelArguments.model, choices=sorted(MODELS))
    model_name = model_flag.parse_known_args(argv)[0].model
    parser.set_defaults(
        output_dir=os.path.join("runs", model_name),
        use_cpu=not torch.accelerator.is_available(),  # several processes on a CPU-only machine then join one gloo group
        **RUN_DEFAULTS,
        **dataloader_defaults(),
        **MODELS[model_name].training_defaults,
    )
    try:
        model_args, data_args, training_args, unknown = parser.parse_args_into_dataclasses(
            args=argv, return_remaining_strings=True
        )
    except ValueError as error:  # TrainingArguments' own checks (e.g. --eval_strategy no with the best model kept)
        usage_error(" ".join(str(error).split()))
    if unknown:
        usage_error(f"unrecognized arguments: {' '.join(unknown)}")
    check_arguments(model_args, data_args)
    return model_args, data_args, training_args


def check_arguments(model_args: ModelArguments, data_args: DataTrainingArguments) -> None:
    """Wrong input fails here, in one line with exit status 2, before any photo is fetched."""
    recipe = MODELS[model_args.model]
    if model_args.preset not in recipe.presets:
        usage_error(f"--preset {model_args.preset}: {model_args.model} has presets {', '.join(sorted(recipe.presets))}")
    overrides = config_overrides(model_args.config_overrides, recipe.config_class)
    photos = {} if data_args.max_photos is None else {"max_photos": data_args.max_photos}
    try:  # the model's own checks of its config (photo count, sizes, types), before any photo is fetched
        recipe.make_config(model_args.preset, **{**overrides, **photos})
    except (ValueError, TypeError, StrictDataclassError) as error:
        usage_error(f"--config_overrides / --max_photos: {' '.join(str(error).split())}")
    for flag in ("max_train_samples", "max_eval_samples"):
        if getattr(data_args, flag) is not None and getattr(data_args, flag) < 1:
            usage_error(f"--{flag} {getattr(data_args, flag)}: a number of houses, 1 or more")
    if model_args.freeze_backbone_epochs < 0:
        usage_error(f"--freeze_backbone_epochs {model_args.freeze_backbone_epochs}: a number of epochs, 0 or more")
    if model_args.backbone_learning_rate_scale < 0:
        usage_error(f"--backbone_learning_rate_scale {model_args.backbone_learning_rate_scale}: a factor, 0 or more")
    if not 0 < data_args.train_min_crop_scale <= 1:
        usage_error(f"--train_min_crop_scale {data_args.train_min_crop_scale}: a fraction of the area, in (0, 1]")
    if data_args.train_colour_jitter < 0:
        usage_error(f"--train_colour_jitter {data_args.train_colour_jitter}: a strength, 0 or more")
    check_location("--dataset", data_args.dataset if data_args.dataset != "synthetic" else None)
    if recipe.uses_backbone:
        check_location("--pretrained_model_name_or_path", model_args.pretrained_model_name_or_path)
    elif (
        model_args.freeze_backbone_epochs
        or model_args.freeze_backbone_batch_norm
        or model_args.whole_photo
        or model_args.backbone_layer_decay != 1
        or model_args.backbone_learning_rate_scale != ModelArguments.backbone_learning_rate_scale
    ):
        usage_error(f"--freeze_backbone_*, --backbone_learning_rate_scale, --backbone_layer_decay and --whole_photo: {model_args.model} "
                    "has no pretrained backbone (vit-pretrained has)")  # fmt: skip
    if not 0 < model_args.backbone_layer_decay <= 1:
        usage_error(f"--backbone_layer_decay {model_args.backbone_layer_decay}: a factor per block, in (0, 1]")


def check_backbone_can_be_had(model_args: ModelArguments) -> None:
    """A backbone that cannot be reached or found (a Hub id offline, a typo) is a usage error before the dataset is
    built, not a traceback after it."""
    if not MODELS[model_args.model].uses_backbone:
        return
    try:
        AutoConfig.from_pretrained(model_args.pretrained_model_name_or_path)
    except (OSError, ValueError) as error:
        backbone = model_args.pretrained_model_name_or_path
        usage_error(f"--pretrained_model_name_or_path {backbone}: {' '.join(str(error).split())}")


def setup_logging(training_args: TrainingArguments) -> None:
    """Transformers logs at the process's level; the project's own progress lines on the main process only."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    transformers.utils.logging.set_verbosity(training_args.get_process_log_level())
    for name in (__name__, "zillow_vit"):
        logging.getLogger(name).setLevel(logging.INFO if training_args.should_log else logging.WARNING)


def limit_splits(dataset, data_args: DataTrainingArguments) -> None:
    limits = {
        "train": data_args.max_train_samples,
        "validation": data_args.max_eval_samples,
        "test": data_args.max_eval_samples,
    }
    for split, limit in limits.items():
        if limit is not None:
            dataset[split] = dataset[split].select(range(min(limit, len(dataset[split]))))


def recorded_defaults() -> dict:
    """The defaults of train.py's own arguments: what a run recorded before one of them existed ran with (and one
    process, before their number was recorded)."""
    return {**run_argument_defaults(ModelArguments, DataTrainingArguments), "processes": 1}


def check_backbone_reads(model, crop_size: tuple[int, int]) -> None:
    """`--whole_photo`: the backbone must take its wider input (a ViT's fixed patch grid cannot); tried on one blank
    photo (`read_blank_photo`)."""
    try:
        read_blank_photo(model.backbone, *crop_size)
    except (RuntimeError, ValueError, AssertionError) as error:  # timm's patch embeddings assert their input size
        usage_error(
            f"--whole_photo: the backbone {model.config.backbone} cannot read {crop_size[0]} x {crop_size[1]} photos "
            f"({' '.join(str(error).split())})"
        )


def checkpoint_state(checkpoint: str | None) -> TrainerState | None:
    return None if checkpoint is None else TrainerState.load_from_json(os.path.join(checkpoint, TRAINER_STATE))


def steps_left(state: TrainerState, training_args: TrainingArguments) -> bool:
    """Whether a run at this checkpoint `state` has steps left to train under `training_args`."""
    if training_args.max_steps > 0:
        return training_args.max_steps > state.global_step
    return training_args.num_train_epochs > state.epoch


def finished_results(output_dir: str) -> dict | None:
    """The results of the run of `output_dir` if it is finished (its model card written, the last file)."""
    results = os.path.join(output_dir, "all_results.json")
    if not (os.path.isfile(os.path.join(output_dir, RUN_FINISHED_FILE)) and os.path.isfile(results)):
        return None
    with open(results) as file:
        return json.load(file)


def restore_trained(trainer: Trainer, checkpoint: str, state: TrainerState) -> dict:
    """A run whose `checkpoint` (its `state`) has no step left to train: its model as training left it (the best
    checkpoint when that is kept) and its state, without training (Trainer would train a step more, or none and
    report zeros); its training time and loss are not known here, so none are reported."""
    best = state.best_model_checkpoint
    kept = os.path.join(trainer.args.output_dir, os.path.basename(best)) if best else None
    chosen = kept if trainer.args.load_best_model_at_end and kept and os.path.isdir(kept) else checkpoint
    logger.warning("%s is at the end of this run: nothing to train; the model of %s is evaluated and saved (its "
                   "training time and loss are not known)", checkpoint, chosen)  # fmt: skip
    trainer._load_from_checkpoint(chosen)
    trainer.state = state
    return {"epoch": state.epoch}


def check_checkpoint_to_resume(training_args: TrainingArguments, arguments: dict) -> None:
    """`--resume_from_checkpoint` must be a checkpoint of a run with these `arguments` (but its length), with steps
    left to train."""
    checkpoint = training_args.resume_from_checkpoint
    flag = f"--resume_from_checkpoint {checkpoint}"
    problem = checkpoint_problem(checkpoint)
    if problem:
        usage_error(f"{flag}: not a complete checkpoint ({problem})")
    run = os.path.dirname(os.path.abspath(checkpoint))
    changes = run_argument_changes(run, arguments, ("num_train_epochs", "max_steps"), recorded_defaults())
    if changes:
        usage_error(f"{flag}: a checkpoint of a run with other arguments ({'; '.join(changes)})")
    state = checkpoint_state(checkpoint)
    if not steps_left(state, training_args):
        usage_error(
            f"{flag}: at step {state.global_step} (epoch {state.epoch:g}), past the end of this run "
            f"(--num_train_epochs {training_args.num_train_epochs:g}, --max_steps {training_args.max_steps}): "
            "nothing would be trained"
        )


def checkpoint_to_resume(training_args: TrainingArguments, arguments: dict) -> str | None:
    """`--resume_from_checkpoint`, else the newest complete checkpoint of `--output_dir`, if that run was started with
    the same `arguments` (`run_arguments`) but perhaps its length (a longer run continues it); another run's
    checkpoint is a usage error, not a silent resume."""
    if training_args.resume_from_checkpoint is not None:
        check_checkpoint_to_resume(training_args, arguments)
        return training_args.resume_from_checkpoint
    checkpoint, skipped = last_complete_checkpoint(training_args.output_dir)
    for path, reason in skipped:
        logger.warning("Skipping %s, written only in part: %s", path, reason)
    if checkpoint is None:
        return None
    changes = run_argument_changes(
        training_args.output_dir, arguments, ("num_train_epochs", "max_steps"), recorded_defaults()
    )
    if changes:
        usage_error(
            f"--output_dir {training_args.output_dir} holds {os.path.basename(checkpoint)} of a run with other "
            f"arguments ({'; '.join(changes)}): rerun with its arguments to resume it, or choose another --output_dir"
        )
    logger.info("Resuming from %s (use another --output_dir to start afresh)", checkpoint)
    return checkpoint


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    model_args, data_args, training_args = parse_arguments(argv)
    setup_logging(training_args)
    set_seed(training_args.seed)  # before the model is built: the seed fixes its new layers' initial weights too
    arguments = run_arguments(model_args, data_args, training_args)
    checkpoint = checkpoint_to_resume(training_args, arguments)
    state = checkpoint_state(checkpoint)
    at_the_end = state is not None and not steps_left(state, training_args)
    finished = finished_results(training_args.output_dir) if at_the_end else None
    if finished is not None:  # a rerun of a finished run reports it: it does not train nothing and overwrite it
        print(f"{training_args.output_dir} is finished already (test accuracy {finished['test_accuracy']:.3f}): nothing "
              "to train; give more --num_train_epochs or --max_steps to continue it, or another --output_dir")  # fmt: skip
        return finished
    check_backbone_can_be_had(model_args)
    if training_args.should_save:
        write_run_arguments(training_args.output_dir, arguments)
    entry = MODELS[model_args.model]
    hub_repo_id = training_args.hub_model_id if training_args.push_to_hub else None
    if training_args.push_to_hub and hub_repo_id is None:
        raise ValueError("--push_to_hub needs --hub_model_id user/name")
    training_args.push_to_hub = False  # pushed once at the end by push_run_to_hub, with this project's model card
    if model_args.freeze_backbone_epochs:
        training_args.ddp_find_unused_parameters = True  # DDP must not wait for the frozen backbone's gradients

    with training_args.main_process_first(desc="building the dataset"):
        dataset, report = data_args.load()
    missing = [split for split in ("train", "validation", "test") if not len(dataset.get(split, ()))]
    if missing:
        usage_error(f"--dataset {data_args.dataset}: no {missing[0]} houses (a build with --{missing[0]}_fraction 0?); "
                    "train.py trains on train, keeps the best checkpoint on validation and reports test")  # fmt: skip
    logger.info("Dataset:\n%s", report.summary())
    limit_splits(dataset, data_args)

    label_names = dataset["train"].features["label"].names
    run_fields = {
        "head_type": model_args.head_type,
        "id2label": dict(enumerate(label_names)),
        "label2id": {name: index for index, name in enumerate(label_names)},
        "tier_cut_points": report.cut_points,
    }
    if data_args.max_photos is not None:
        run_fields["max_photos"] = data_args.max_photos
    fact_fields = listing_fields(report) if data_args.use_listing_facts else {}
    if fact_fields and not issubclass(entry.model_class, MultiPhotoHouseClassifier):
        logger.info("%s reads photos only: the listing facts %s are not read", model_args.model, sorted(fact_fields))
    elif fact_fields:
        run_fields["listing_facts"] = fit_listing_facts(dataset["train"], fact_fields)
        logger.info(
            "Listing facts (statistics of the %d training houses): %s", len(dataset["train"]), sorted(fact_fields)
        )
    model, image_processor = entry.build(
        model_args.preset,
        backbone=model_args.pretrained_model_name_or_path,
        whole_photo=model_args.whole_photo,
        **{**config_overrides(model_args.config_overrides, entry.config_class), **run_fields},
    )
    image_processor.max_short_side = report.image_short_side  # full-size photos are read as the build stored them
    if model_args.whole_photo:
        check_backbone_reads(model, image_processor.crop_size)
    prepare_for_hub(model)  # every checkpoint and the final save carry auto_map and the model's .py files
    if model_args.freeze_backbone_batch_norm:
        freeze_batch_norm_statistics(model.backbone)
    max_photos = model.config.max_photos
    logger.info(
        "Model %s (%s preset, %s head): %.2f M parameters, up to %d photos per house",
        model_args.model, model_args.preset, model_args.head_type, model.num_parameters() / 1e6, max_photos,
    )  # fmt: skip

    transforms = house_transforms(
        image_processor,
        max_photos,
        data_args.train_photo_sampling == "random",
        model.config.listing_facts,
        min_crop_scale=data_args.train_min_crop_scale,
        colour_jitter=data_args.train_colour_jitter,
    )
    for split, transform in transforms.items():
        dataset[split].set_transform(transform)

    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=dataset["train"],
        eval_dataset=dataset["validation"],
        data_collator=collate_houses,
        compute_metrics=build_compute_metrics(label_names),
        processing_class=image_processor,
        optimizers=(
            backbone_optimizer(
                model, training_args, model_args.backbone_learning_rate_scale, model_args.backbone_layer_decay
            ),
            None,
        )
        if entry.uses_backbone
        else (None, None),
        callbacks=[FreezeBackboneCallback(model_args.freeze_backbone_epochs)]
        if model_args.freeze_backbone_epochs
        else None,
    )

    sharded = trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled  # the whole weights not at hand: left unsaid
    backbone_before = weights_fingerprint(model.backbone) if entry.uses_backbone and not sharded else None
    if at_the_end:
        train_metrics = restore_trained(trainer, checkpoint, state)  # killed after its last checkpoint, before its card
    else:
        train_metrics = trainer.train(resume_from_checkpoint=checkpoint).metrics
    train_metrics.update(model_parameters=model.num_parameters(), **peak_memory_metrics())
    train_metrics["train_samples"] = len(dataset["train"])
    if backbone_before is not None:  # did the model kept (the best checkpoint) change its backbone?
        train_metrics["backbone_trained"] = weights_fingerprint(model.backbone) != backbone_before
    trainer.save_model()
    trainer.log_metrics("train", train_metrics)
    trainer.save_metrics("train", train_metrics)
    trainer.save_state()

    # as predict: evaluate() would log the best model's accuracy at the last step, over the last epoch's on the curves
    eval_metrics = trainer.predict(dataset["validation"], metric_key_prefix="eval").metrics
    eval_metrics["eval_samples"] = len(dataset["validation"])
    trainer.log_metrics("eval", eval_metrics)
    trainer.save_metrics("eval", eval_metrics)
    test_metrics = trainer.predict(dataset["test"], metric_key_prefix="test").metrics
    test_metrics["test_samples"] = len(dataset["test"])
    trainer.log_metrics("test", test_metrics)
    trainer.save_metrics("test", test_metrics)
    metrics = {**train_metrics, **eval_metrics, **test_metrics}
    if trainer.is_world_process_zero():
        report.save(training_args.output_dir)
        launcher = ["accelerate", "launch", "--num_processes", str(training_args.world_size)]
        command = shlex.join([*(launcher if training_args.world_size > 1 else ["python"]), "scripts/train.py", *argv])
        write_model_card(training_args.output_dir, hub_repo_id or model_args.model, metrics, report, command)
        if hub_repo_id:
            private = bool(training_args.hub_private_repo)
            print("Pushed to", push_run_to_hub(training_args.output_dir, hub_repo_id, training_args.hub_token, private))
        print(
            f"{model_args.model}: test accuracy {test_metrics['test_accuracy']:.3f} "
            f"(macro-F1 {test_metrics['test_f1_macro']:.3f}, {len(dataset['test'])} houses, chance 0.333) "
            f"with {training_args.world_size} process(es); run saved to {training_args.output_dir}"
        )
    return metrics


if __name__ == "__main__":
    run_script(main)
