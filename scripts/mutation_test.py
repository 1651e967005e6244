#!/usr/bin/env python
"""Mutation testing by named mutations: would the suite notice a plausible silent error?

    python scripts/mutation_test.py                    # every module, on a copy of HEAD
    python scripts/mutation_test.py --modules splits tier_heads --working_tree

Each mutation is one small edit (an exact snippet replaced) of a module where a silent error costs most. The
repository is copied to a temporary folder (`git archive` of `--rev`, or the tracked and untracked files of the
working tree with `--working_tree`); the working tree itself is never touched. For each mutation the copy's file is
edited, the module's test files run there (`pytest -x`, the copy first on `PYTHONPATH`, a private HF cache), and the
file restored. A failing run kills the mutant; a passing one is a survivor: a behaviour no test pins down (or an
equivalent mutation). Prints killed/survived per module and every survivor. Not part of `make test` (minutes).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Mutation:
    """`old` (which must occur exactly once in `path`) replaced by `new`; `tests`, if given, replace the module's."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """A module (one or more files) and the test files that should notice a mutation of it."""

    tests: tuple[str, ...]
    mutations: tuple[Mutation, ...]


def mutations(path: str, *edits: tuple) -> tuple[Mutation, ...]:
    """Mutations of one file: (name, old, new) or (name, old, new, tests)."""
    return tuple(Mutation(edit[0], path, *edit[1:]) for edit in edits)


PHOTOS = "dataset_builder/photos.py"
LISTING = "dataset_builder/listing.py"
FACTS = "dataset_builder/facts.py"
SPLITS = "dataset_builder/splits.py"
TIER_HEADS = "src/zillow_vit/models/tier_heads.py"
COLLATOR = "src/zillow_vit/data/collator.py"
HOUSE_INPUTS = "src/zillow_vit/models/house_inputs.py"
TRANSFORMS = "src/zillow_vit/data/transforms.py"
PROCESSOR = "src/zillow_vit/models/image_processing_house.py"

TARGETS = {
    "photos": Target(
        ("tests/test_builder.py", "tests/test_hostile_inputs.py", "tests/test_photo_store.py"),
        mutations(
            PHOTOS,
            ("retry_every_status", "response.status_code in RETRY_STATUSES", "response.status_code >= 400"),
            (
                "ignore_retry_after",
                'self._retry_delay(attempt, response.headers.get("Retry-After"))',
                "self._retry_delay(attempt, None)",
            ),
            (
                "one_retry_fewer",
                "if not transient or attempt == retries:",
                "if not transient or attempt >= retries - 1:",
            ),
            ("backoff_not_doubled", "self.settings.download_backoff * 2**attempt", "self.settings.download_backoff"),
            ("no_streaming_byte_cap", "if size > cap:", "if False:"),
            ("no_content_length_cap", "if declared.isdigit() and int(declared) > cap:", "if False:"),
            ("no_deadline_after_body", "self._check_deadline(download)  # a response", "pass  # a response"),
            ("no_exif_upright", "image = to_rgb(upright(image))", "image = to_rgb(image)"),
            ("upscales_small_photos", "if scale < 1:", "if scale != 1:"),
            ("no_pixel_cap", "if image.width * image.height > max_pixels:", "if False:"),
            ("sixteen_bit_clipped", "((levels.clip(0, 65535) * 255 + 32767) // 65535)", "levels.clip(0, 255)"),
            (
                "stored_photos_unversioned",
                'f"short{short_side}-v{STORED_PHOTO_VERSION}"',
                'f"short{short_side}"',
                ("tests/test_photo_store.py",),
            ),
            (
                "transparency_dropped",
                "    if image.has_transparency_data:\n        image = Image.alpha",
                "    if False:\n        image = Image.alpha",
                ("tests/test_data_pipeline.py",),
            ),
            ("strips_kept", "if max(image.size) > MAX_PHOTO_ASPECT * min(image.size):", "if False:"),
            (
                "stored_photo_not_verified",
                "if stored is not None and is_complete_jpeg(stored):",
                "if stored is not None:",
            ),
            ("raw_cache_checksum_ignored", "and hashlib.sha256(data).digest() == digest", ""),
            (
                "local_photo_keyed_by_path",
                "key, downloaded = hashlib.sha256(data).hexdigest(), False",
                "key, downloaded = self.key(location), False",
            ),
        ),
    ),
    "listing": Target(
        (
            "tests/test_listing.py",
            "tests/test_hostile_inputs.py",
            "tests/test_builder.py",
            "tests/test_build_dataset_script.py",
        ),
        mutations(
            LISTING,
            (
                "price_suffix_ignored",
                '_SUFFIX_MULTIPLIERS.get(\n            match.group("suffix").lower(), 1.0\n        )',
                "1.0",
            ),
            ("price_fraction_dropped", "float(f\"{whole}.{match.group('fraction') or 0}\")", "float(whole)"),
            ("loose_thousands", "(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)", "(?P<whole>[0-9,]+)"),
            ("zero_price_accepted", "price <= 0 or", "price < 0 or"),
            (
                "boolean_price_accepted",
                "if isinstance(value, bool) or not isinstance(value, (int, float, str)):",
                "if not isinstance(value, (int, float, str)):",
            ),
            ("id_not_stripped", "text = str(value).strip()", "text = str(value)"),
            ("duplicate_ids_kept", "if listing.house_id in first_row_of_id:", "if False:"),
            ("lone_house_not_read", "        return [document]\n", ""),
            ("rent_read_as_a_price", "    if status or rent:", "    if False:"),
            ("listing_without_deadline", "    worker.join(deadline)", "    worker.join()"),
            ("no_dotted_paths", 'for key in path.split("."):', "for key in [path]:"),
            (
                "photo_url_key_dropped",
                'PHOTO_URL_KEYS = ("url", "src", "href", "path")',
                'PHOTO_URL_KEYS = ("src", "href", "path")',
            ),
            ("duplicate_photos_kept", "if location not in listing.photos:", "if True:"),
            (
                "local_paths_unconfined",
                'if "\\x00" in path or not is_inside(path, self.local_root or folder):',
                'if "\\x00" in path:',
            ),
            (
                "price_problem_lost",
                'listing.price_problem = problems[0] if problems else "no price"',
                "listing.price_problem = None",
            ),
            (
                "facts_dropped",
                "listing.facts[listing_field.column] = fact.value",
                "listing.facts[listing_field.column] = None",
                ("tests/test_listing_facts.py", "tests/test_build_dataset_script.py"),
            ),
        ),
    ),
    "facts": Target(
        ("tests/test_listing_facts.py",),
        mutations(
            FACTS,
            (
                "non_finite_fact_kept",
                "if number is None or not math.isfinite(number) or abs(number) > FLOAT32_MAX:",
                "if number is None:",
            ),
            ("loose_thousands_in_facts", "(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:", "(?:[0-9,]+)(?:"),
            (
                "boolean_fact_is_a_number",
                "    if isinstance(value, bool):\n        return None",
                "    if False:\n        pass",
            ),
            (
                "placeholders_not_missing",
                "return value is None or (isinstance(value, str) and",
                "return value is None and (",
            ),
            ("name_rule_ignored", "if name_suggests_identifier(field.column):", "if False:"),
            (
                "leading_zero_ignored",
                "if _has_leading_zero(value) or number_of(value) is None:",
                "if number_of(value) is None:",
            ),
            ("given_kind_loses", "if field.kind is not None:\n        return field.kind", "if False:\n        pass"),
            ("duplicate_columns_accepted", "if field.column in by_column:", "if False:"),
            ("reserved_columns_accepted", "if field.column in RESERVED_COLUMNS:", "if False:"),
            (
                "whole_float_category_keeps_its_point",
                "value = int(value) if value.is_integer() and abs(value) < 2**53 else value",
                "pass",
            ),
        )
        + mutations(
            "dataset_builder/zillow_houses.py",
            ("missing_number_stored_as_null", "math.nan if value is None and column in numbers else value", "value"),
            (
                "unparseable_counted_as_missing",
                "listing.fact_problems.get(field.column) == UNPARSEABLE",
                "listing.fact_problems.get(field.column) == MISSING",
            ),
        )
        + mutations(
            "dataset_builder/folds.py",
            (
                "fold_report_without_facts",
                "listing_fields = source.listing_fields if listing_fields is None else listing_fields",
                "listing_fields = {}",
            ),
        )
        + mutations(
            "src/zillow_vit/baselines.py",
            ("no_log_of_positive_facts", "if self.logged[column]:", "if False:"),
            (
                "no_missing_indicator",
                "blocks += [imputed[:, None], missing[:, None].astype(np.float64)]",
                "blocks += [imputed[:, None]]",
            ),
            (
                "unseen_category_not_ignored",
                "if value in index:  # a value never seen in training is all zeros",
                "if True:",
            ),
            (
                "tree_categories_not_categorical",
                "return [self.kinds[column] == CATEGORY for column in self.used] or [False]",
                "return [False] * max(len(self.used), 1)",
            ),
        ),
    ),
    "splits": Target(
        ("tests/test_data_pipeline.py", "tests/test_builder.py", "tests/test_hostile_inputs.py"),
        mutations(
            SPLITS,
            ("quartiles_not_terciles", "[1 / 3, 2 / 3]", "[1 / 4, 3 / 4]"),
            ("cut_point_goes_down", 'side="right"', 'side="left"'),
            (
                "bins_not_shuffled",
                "rng.permutation(order[start : start + PRICE_BIN_SIZE])",
                "order[start : start + PRICE_BIN_SIZE]",
            ),
            ("bins_not_price_sorted", 'order = np.argsort(prices, kind="stable")', "order = np.arange(len(prices))"),
            (
                "shares_not_cumulative",
                "n_test = round(seen * test_fraction) - given_test",
                "n_test = round(len(price_bin) * test_fraction)",
            ),
            (
                "test_becomes_validation",
                'splits[price_bin[:n_test]] = "test"',
                'splits[price_bin[:n_test]] = "validation"',
            ),
            (
                "fractions_may_sum_to_one",
                "validation_fraction + test_fraction >= 1",
                "validation_fraction + test_fraction > 1",
            ),
            ("empty_tier_accepted", "if count == 0:", "if False:"),
            ("seed_ignored", "rng = np.random.default_rng(seed)", "rng = np.random.default_rng(0)"),
        ),
    ),
    "tier_heads": Target(
        (
            "tests/test_tier_heads.py",
            "tests/test_pretrained.py::test_score_head_reads_tiers_by_thresholds",  # before test_tier_heads.py
            "tests/test_pretrained.py::test_score_head_loss_is_smallest_at_the_tier_target",
            "tests/test_multi_image_vit.py",
            "tests/test_cnn.py",
        ),
        mutations(
            TIER_HEADS,
            ("targets_reversed", "torch.linspace(0.0, 1.0, num_labels", "torch.linspace(1.0, 0.0, num_labels"),
            (
                "score_logits_sign",
                "logits = -((score[:, None] - targets) ** 2)",
                "logits = (score[:, None] - targets) ** 2",
            ),
            ("score_without_sigmoid", "score = torch.sigmoid(score_logit)", "score = score_logit.clamp(0, 1)"),
            ("score_target_is_label", "targets[labels.to(score.device)])", "labels.to(score.device).float())"),
            ("score_not_returned", "return logits, score, loss", "return logits, None, loss"),
            (
                "smoothed_cross_entropy",
                "F.cross_entropy(logits, labels.to(logits.device))",
                "F.cross_entropy(logits, labels.to(logits.device), label_smoothing=0.1)",
            ),
            ("head_type_unchecked", "if head_type not in HEAD_TYPES:", "if False:"),
            (
                "score_head_is_classifier",
                'if self.head_type == "classification":\n            logits',
                "if True:\n            logits",
            ),
        ),
    ),
    "collator": Target(
        (
            "tests/test_data_pipeline.py",
            "tests/test_multi_image_vit.py",
            "tests/test_cnn.py",
            "tests/test_tier_heads.py",
        ),
        mutations(
            COLLATOR,
            ("float_labels", "dtype=torch.long", "dtype=torch.float"),
            (
                "labels_reversed",
                'torch.tensor([house["labels"] for house in houses]',
                'torch.tensor([house["labels"] for house in houses][::-1]',
            ),
        )
        + mutations(
            HOUSE_INPUTS,
            ("padding_marked_real", "photo_mask[index, : len(photos)] = True", "photo_mask[index, :] = True"),
            ("padding_with_ones", "houses[0].new_zeros(", "houses[0].new_ones("),
            (
                "max_photos_not_enforced",
                "pixel_values, photo_mask = pixel_values[:, :max_photos], photo_mask[:, :max_photos]",
                "pixel_values, photo_mask = pixel_values, photo_mask",
            ),
            (
                "last_photos_read",
                "pixel_values, photo_mask = pixel_values[:, :max_photos], photo_mask[:, :max_photos]",
                "pixel_values, photo_mask = pixel_values[:, -max_photos:], photo_mask[:, -max_photos:]",
            ),
            (
                "single_photo_is_one_house",
                "pixel_values = pixel_values.unsqueeze(1)",
                "pixel_values = pixel_values.unsqueeze(0)",
            ),
        ),
    ),
    "transforms": Target(
        (
            "tests/test_data_pipeline.py",
            "tests/test_pretrained.py::test_image_processor_of_the_backbone_drives_the_inputs",
            "tests/test_run_consistency.py::test_saved_processor_preprocesses_like_evaluation",
            "tests/test_run_consistency.py::test_processor_and_predict_script_give_the_same_tier",
        ),
        mutations(
            TRANSFORMS,
            ("eval_reads_last_photos", "return photos[: self.max_photos]", "return photos[-self.max_photos :]"),
            (
                "backbone_crop_margin_lost",
                'shortest_edge = size.get("shortest_edge") or min(size.get("height", height), size.get("width", width))',
                'shortest_edge = size.get("shortest_edge")',
            ),
            ("sample_not_in_listing_order", "sorted(random.sample(", "list(random.sample("),
            ("never_samples", "if self.sample_photos and len(photos) > self.max_photos:", "if False:"),
            (
                "train_stats_not_backbone",
                "v2.Normalize(mean=processor.image_mean, std=processor.image_std)",
                "v2.Normalize(mean=[0.5] * 3, std=[0.5] * 3)",
            ),
            (
                "train_crop_fixed_size",
                "                processor.crop_size,\n                scale=",
                "                32,\n                scale=",
            ),
            ("train_crop_of_the_whole_photo", "v2.RandomCrop(processor.crop_size, pad_if_needed=True),", ""),
            (
                "train_crop_always_centred",
                "v2.RandomCrop(processor.crop_size, pad_if_needed=True),",
                "v2.CenterCrop(processor.crop_size),",
            ),
            ("no_train_augmentation", '{"train": training,', '{"train": evaluation,'),
            (
                "sampling_flag_ignored",
                "HouseTransform(photo_transform, max_photos, sample_training_photos, listing_facts)",
                "HouseTransform(photo_transform, max_photos, True, listing_facts)",
            ),
            (
                "timm_crop_pct_ignored",
                'math.floor(min(height, width) / data_config.get("crop_pct", 1.0))',
                "min(height, width)",
            ),
            (
                "backbone_mean_std_swapped",
                "mean, std = source.image_mean, source.image_std",
                "mean, std = source.image_std, source.image_mean",
            ),
            (
                "whole_photo_keeps_the_square",
                "height, round(height * PHOTO_ASPECT), height",
                "height, width, shortest_edge",
            ),
        )
        + mutations(
            PROCESSOR,
            (
                "squash_instead_of_crop",
                "v2.Resize(self.shortest_edge, antialias=True)",
                "v2.Resize(self.crop_size, antialias=True)",
            ),
            (
                "processor_mean_ignored",
                "v2.Normalize(mean=self.image_mean, std=self.image_std)",
                "v2.Normalize(mean=[0.5] * 3, std=self.image_std)",
            ),
            ("processor_reads_every_photo", "enumerate(photos[:max_photos])", "enumerate(photos)"),
            (
                "processor_no_exif",
                "        image = ImageOps.exif_transpose(photo)\n",
                "        image = photo\n",
            ),
            ("flat_list_is_many_houses", "return [list(images)]", "return [[image] for image in images]"),
            ("stored_short_side_ignored", "                *stored,\n", ""),
            (
                "crop_edge_is_long_side",
                'max(shortest_edge or 0, min(self.size["height"], self.size["width"]))',
                'max(shortest_edge or 0, max(self.size["height"], self.size["width"]))',
            ),
        ),
    ),
    # The breakages of issue 13, and the training promises: each with the tests that should fail on it (the old
    # test's name too, where there was one, so a run on an older commit shows whether it noticed).
    "training": Target(
        (),
        mutations(
            "scripts/train.py",
            (
                "head_type_ignored",
                '"head_type": model_args.head_type,',
                '"head_type": "classification",',
                (
                    "tests/test_build_dataset_script.py::test_head_type_reaches_the_model_output_and_loss",
                    "tests/test_train.py::test_score_head_trains_above_chance",
                ),
            ),
            (
                "model_defaults_dropped",
                "**MODELS[model_name].training_defaults,",
                "",
                ("tests/test_train_arguments.py",),
            ),
            (
                "max_train_samples_ignored",
                '"train": data_args.max_train_samples,',
                '"train": None,',
                ("tests/test_build_dataset_script.py::test_max_train_samples_limits_the_training_houses",),
            ),
            (
                "config_overrides_dropped",
                "**{**config_overrides(model_args.config_overrides, entry.config_class), **run_fields},",
                "**run_fields,",
                ("tests/test_build_dataset_script.py::test_config_overrides_and_the_run_options_reach_the_model",),
            ),
            (
                "backbone_scale_not_passed",
                "model, training_args, model_args.backbone_learning_rate_scale, model_args.backbone_layer_decay",
                "model, training_args, 1.0, model_args.backbone_layer_decay",
                ("tests/test_pretrained.py::test_backbone_learns_at_its_scaled_learning_rate",),
            ),
            (
                "resume_ignores_the_arguments",
                "    if changes:\n        usage_error(\n",
                "    if False:\n        usage_error(\n",
                ("tests/test_run_consistency.py::test_a_rerun_resumes_only_a_run_with_its_own_arguments",),
            ),
            (
                "stored_short_side_not_saved",
                "    image_processor.max_short_side = report.image_short_side",
                "    pass",
                ("tests/test_run_consistency.py::test_a_run_reads_photos_at_the_resolution_its_build_stored_them",),
            ),
            (
                "layer_decay_not_passed",
                "model, training_args, model_args.backbone_learning_rate_scale, model_args.backbone_layer_decay",
                "model, training_args, model_args.backbone_learning_rate_scale",
                ("tests/test_pretrained.py::test_layer_decay_moves_each_backbone_block_less_than_the_one_above",),
            ),
        )
        + mutations(
            "src/zillow_vit/training.py",
            (
                "backbone_never_unfrozen",
                "if self.eval_hook is not None and round(state.epoch) >= self.epochs:",
                "if False:",
                (
                    "tests/test_pretrained.py::test_backbone_stays_frozen_for_its_epochs_then_is_fine_tuned",
                    "tests/test_pretrained.py::test_frozen_backbone_stays_equal_while_the_head_learns",
                ),
            ),
            (
                "frozen_backbone_in_train_mode",
                "self.eval_hook = model.backbone.register_forward_pre_hook(keep_in_eval_mode)",
                "self.eval_hook = model.backbone.register_forward_pre_hook(lambda *_: None)",
                (
                    "tests/test_pretrained.py::test_backbone_stays_frozen_for_its_epochs_then_is_fine_tuned",
                    "tests/test_pretrained.py::test_frozen_backbone_stays_equal_while_the_head_learns",
                ),
            ),
            (
                "backbone_scale_ignored",
                "id(parameter): backbone_lr_scale * layer_decay ** (top - depths[name])",
                "id(parameter): layer_decay ** (top - depths[name])",
                (
                    "tests/test_pretrained.py::test_backbone_optimizer_groups",
                    "tests/test_pretrained.py::test_backbone_learns_at_its_scaled_learning_rate",
                ),
            ),
            (
                "layer_decay_ignored",
                "id(parameter): backbone_lr_scale * layer_decay ** (top - depths[name])",
                "id(parameter): backbone_lr_scale",
                ("tests/test_pretrained.py::test_layer_decay_moves_each_backbone_block_less_than_the_one_above",),
            ),
            (
                "optim_ignored",
                "optimizer_class, optimizer_kwargs = Trainer.get_optimizer_cls_and_kwargs(args, model)",
                "optimizer_class, optimizer_kwargs = torch.optim.AdamW, {}",
                ("tests/test_pretrained.py::test_backbone_optimizer_groups",),
            ),
            (
                "head_of_backbone_at_its_input_depth",
                "(top if seen_block else 0)",
                "0",
                ("tests/test_pretrained.py::test_backbone_depths_count_blocks_from_the_input",),
            ),
        )
        + mutations(
            "dataset_builder/zillow_houses.py",
            (
                "relisting_not_tried",
                "[listing, *repeats[listing.row]] for listing in listings",
                "[listing] for listing in listings",
                ("tests/test_builder.py",),
            ),
            (
                "photo_sizes_for_the_default_side",
                "photo_short_side=options.image_short_side,",
                "photo_short_side=None,",
                ("tests/test_builder.py",),
            ),
        )
        + mutations(
            "src/zillow_vit/data/loading.py",
            (
                "saved_report_ignored",
                "return load_from_disk(self.dataset), BuildReport.load(self.dataset)",
                "return load_from_disk(self.dataset), BuildReport(source=self.dataset, cut_points=[1.0, 2.0])",
                ("tests/test_build_dataset_script.py::test_train_reads_the_saved_folder_and_its_cut_points",),
            ),
        )
        + mutations(
            "scripts/predict.py",
            (
                "duplicate_gets_the_first_house_s_tier",
                "predictions.get(index), config) for index, house",
                "predictions.get(usable[0] if house.problem and usable else index), config) for index, house",
                ("tests/test_predict_listing.py",),
            ),
            (
                "predict_reads_the_first_house",
                "houses = [house for house in houses if house.house_id == args.house_id.strip()]",
                "houses = houses[:1]",
                (
                    "tests/test_predict_house.py",
                    "tests/test_compare_predict.py::test_predict_gives_tier_probabilities_and_attention",
                ),
            ),
        )
        + mutations(
            "src/zillow_vit/data/listing_houses.py",
            (
                "predict_stores_photos_at_its_default",
                "return max(short_sides) if all(short_sides) else options.image_short_side",
                "return options.image_short_side",
                ("tests/test_run_consistency.py::test_a_run_reads_photos_at_the_resolution_its_build_stored_them",),
            ),
            (
                "relisting_not_tried_in_predict",
                "None if listing.repeat_of is not None else listing.problem,",
                "listing.problem,",
                ("tests/test_predict_listing.py",),
            ),
            (
                "app_reads_no_photo_beyond_the_first_few",
                "                wanted[index] = house.photos[tried[index] : tried[index] + needed]",
                "                wanted[index] = house.photos[tried[index] : max_photos]",
                ("tests/test_fact_tokens.py::test_the_app_reads_a_listed_house_as_predict_reads_it",),
            ),
        )
        + mutations(
            "scripts/compare.py",
            (
                "compare_keeps_a_run_of_other_arguments",
                "        if changes:\n            usage_error(",
                "        if False:\n            usage_error(",
                (
                    "tests/test_compare_cv.py::"
                    "test_a_finished_run_trained_with_other_arguments_is_not_kept_as_if_it_were_this_one",
                ),
            ),
        )
        + mutations(
            "dataset_builder/folds.py",
            (
                "folds_drop_the_stored_short_side",
                "        image_short_side=image_short_side,\n",
                "",
                ("tests/test_listing_facts.py::test_folds_keep_the_fact_columns_and_their_report",),
            ),
        )
        + mutations(
            "src/zillow_vit/models/modeling_multi_image_vit.py",
            (
                "reads_the_first_photo_only",
                "photos_read(pixel_values, photo_mask, self.config.max_photos, self.dtype)",
                "photos_read(pixel_values, photo_mask, 1, self.dtype)",
                (
                    "tests/test_multi_image_vit.py::test_tiny_model_learns_a_toy_task_and_generalises_to_new_houses",
                    "tests/test_multi_image_vit.py::test_tiny_model_learns_a_toy_task",
                ),
            ),
        )
        + mutations(
            "scripts/convert_efficientnet_lite.py",
            (
                "converted_kernels_mirrored",
                "        mapped[target] = tensor\n",
                "        mapped[target] = tensor.flip(-1) if tensor.dim() == 4 else tensor\n",
                ("tests/test_convert_efficientnet_lite.py",),
            ),
        ),
    ),
}


def copy_repository(destination: str, rev: str | None) -> None:
    """`git archive` of `rev`, or (rev None) the working tree's tracked and untracked, not ignored files."""
    if rev is not None:
        archive = subprocess.run(["git", "-C", REPO, "archive", rev], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", destination], input=archive, check=True)
        return
    listed = subprocess.run(
        ["git", "-C", REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout
    for relative in filter(None, listed.decode().split("\0")):
        source = os.path.join(REPO, relative)
        if os.path.isfile(source):
            os.makedirs(os.path.dirname(os.path.join(destination, relative)), exist_ok=True)
            shutil.copy2(source, os.path.join(destination, relative))


def present_tests(copy: str, tests: tuple[str, ...]) -> list[str]:
    """The test files and node ids (`file::test_name`) of `tests` that exist in the copy."""
    present = []
    for test in tests:
        path, _, name = test.partition("::")
        full = os.path.join(copy, path)
        if os.path.isfile(full) and (not name or f"def {name.split('[')[0]}(" in open(full).read()):
            present.append(test)
    return present


def default_sigint() -> None:
    """Ctrl-C raises KeyboardInterrupt in the tests (a Ctrl-C test needs it), even when this script runs in the
    background, whose children start with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_tests(copy: str, tests: list[str], timeout: float) -> tuple[str, float, str]:
    """The outcome ("passed", "failed" or "timeout"), the seconds taken and the end of pytest's output, for the tests
    run in the copy."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([os.path.join(copy, "src"), copy]),
        "PYTHONDONTWRITEBYTECODE": "1",  # a restored file of the same size and second must not load a stale .pyc
        "HF_HOME": os.path.join(copy, ".hf"),  # remote-code module caches stay inside the copy
        "HF_HUB_OFFLINE": "1",
    }
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header", *tests]
    start = time.monotonic()
    try:
        result = subprocess.run(
            command, cwd=copy, env=env, capture_output=True, timeout=timeout, preexec_fn=default_sigint
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - start, ""
    outcome = "passed" if result.returncode == 0 else "failed"
    return outcome, time.monotonic() - start, result.stdout.decode(errors="replace")[-3000:]


def apply(copy: str, mutation: Mutation) -> str | None:
    """Edit the copy's file; returns the original text, or None when the snippet is not there exactly once (the code
    moved on: the mutation is stale)."""
    path = os.path.join(copy, mutation.path)
    if not os.path.isfile(path):
        return None
    with open(path) as handle:
        original = handle.read()
    if original.count(mutation.old) != 1:
        return None
    with open(path, "w") as handle:
        handle.write(original.replace(mutation.old, mutation.new))
    return original


def first_failure(output: str) -> str:
    """The first failing test named in pytest's summary (`FAILED tests/x.py::name - ...`), shortened."""
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" ", 1)[1].split(" - ")[0].split("/")[-1]
    return ""


def mutate_and_test(copy: str, mutation: Mutation, tests: list[str], timeout: float) -> tuple[str, float, str]:
    original = apply(copy, mutation)
    if original is None:
        return "stale", 0.0, ""
    try:
        return run_tests(copy, tests, timeout)
    finally:
        with open(os.path.join(copy, mutation.path), "w") as handle:
            handle.write(original)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modules", nargs="+", choices=sorted(TARGETS), default=list(TARGETS))
    parser.add_argument("--mutations", nargs="+", help="Only these mutation names.")
    parser.add_argument("--rev", default="HEAD", help="Commit to copy (default HEAD).")
    parser.add_argument("--working_tree", action="store_true", help="Copy the working tree instead of a commit.")
    parser.add_argument("--timeout", type=float, default=600.0, help="Seconds per test run; longer kills the mutant.")
    parser.add_argument("--list", action="store_true", help="List the mutations and exit.")
    args = parser.parse_args(argv)

    if args.list:
        for module in args.modules:
            for mutation in TARGETS[module].mutations:
                print(f"{module:11} {mutation.name:30} {mutation.path}")
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # killed: still remove the copy
    copy = tempfile.mkdtemp(prefix="zillow-vit-mutation-")
    try:
        copy_repository(copy, None if args.working_tree else args.rev)
        baselines, survivors, counts = {}, [], {}
        for module in args.modules:
            print(f"== {module}", flush=True)
            counts[module] = {"killed": 0, "survived": 0, "skipped": 0}
            for mutation in TARGETS[module].mutations:
                if args.mutations and mutation.name not in args.mutations:
                    continue
                tests = present_tests(copy, mutation.tests or TARGETS[module].tests)
                key = tuple(tests)
                if key not in baselines:
                    outcome, output = "no tests", ""
                    for _ in range(2 if tests else 0):  # a second try: timing tests can fail on a loaded machine
                        outcome, _, output = run_tests(copy, tests, args.timeout)
                        if outcome == "passed":
                            break
                    baselines[key] = outcome
                    print(f"   (unmutated: {outcome}: {' '.join(tests)})", flush=True)
                    if outcome == "failed":
                        print(output, flush=True)
                if baselines[key] != "passed":
                    outcome, seconds, output = f"skipped: unmutated {baselines[key]}", 0.0, ""
                else:
                    outcome, seconds, output = mutate_and_test(copy, mutation, tests, args.timeout)
                    outcome = "skipped: stale snippet" if outcome == "stale" else outcome
                if outcome.startswith("skipped"):
                    counts[module]["skipped"] += 1
                    verdict = outcome
                elif outcome == "passed":
                    counts[module]["survived"] += 1
                    survivors.append((module, mutation))
                    verdict = "SURVIVED"
                else:
                    counts[module]["killed"] += 1
                    verdict = f"killed ({outcome})"
                print(f"   {mutation.name:30} {verdict:18} {seconds:5.0f} s  {first_failure(output)}", flush=True)
        print("\nmodule       killed  survived  skipped")
        for module, count in counts.items():
            print(f"{module:12} {count['killed']:6}  {count['survived']:8}  {count['skipped']:7}")
        killed = sum(count["killed"] for count in counts.values())
        tried = killed + sum(count["survived"] for count in counts.values())
        print(f"{'total':12} {killed:6}  {tried - killed:8}            ({killed}/{tried} killed)")
        if survivors:
            print("\nSurviving mutants (behaviour no test pins down, or an equivalent mutation):")
            for module, mutation in survivors:
                print(f"  {module}/{mutation.name}: {mutation.path}: {mutation.old!r} -> {mutation.new!r}")
        return 0
    finally:
        shutil.rmtree(copy, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
