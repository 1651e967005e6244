"""A trained run means one thing to everyone who loads it: Trainer's restore paths, the saved image processor,
the photo count and cut points in the config, the dataset description, and the Auto classes on import."""

import json
import shutil
import subprocess
import sys

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from transformers import AutoImageProcessor, AutoModelForImageClassification

import zillow_vit  # noqa: F401  (registers the Auto classes)
from dataset_builder import build_house_dataset
from dataset_builder.photos import STORED_PHOTO_VERSION
from zillow_vit.data import HouseTransform
from zillow_vit.recipes import MODELS

from conftest import load_script, simple_houses, write_listing, write_tiny_timm_checkpoint, write_tiny_vit_checkpoint

BACKBONES = {"vit": write_tiny_vit_checkpoint, "timm": write_tiny_timm_checkpoint}


def train(output_dir, model="vit-pretrained", backbone=None, *extra):
    argv = ["--model", model, "--preset", "tiny", "--num_synthetic_houses", "45", "--synthetic_image_size", "32",
            "--dataset_cache_dir", str(output_dir.parent / "cache"), "--output_dir", str(output_dir),
            "--disable_tqdm", "true", "--learning_rate", "1e-2", "--backbone_learning_rate_scale", "1.0", *extra]  # fmt: skip
    if backbone:
        argv += ["--pretrained_model_name_or_path", backbone]
    return load_script("train").main(argv)


def tensors(folder):
    return load_file(folder / "model.safetensors")


def assert_same_tensors(saved, live):
    assert saved.keys() == live.keys()
    assert all(torch.equal(saved[name], live[name]) for name in saved), "a restored tensor differs"


@pytest.fixture(params=sorted(BACKBONES))
def backbone(request, tmp_path):
    return BACKBONES[request.param](tmp_path / f"{request.param}-backbone")


def test_best_checkpoint_is_restored_whole(backbone, tmp_path, capfd):
    run = tmp_path / "run"
    train(run, "vit-pretrained", backbone, "--max_steps", "4", "--eval_strategy", "steps", "--eval_steps", "1",
          "--save_strategy", "steps", "--save_steps", "1", "--save_total_limit", "10",
          "--metric_for_best_model", "loss", "--greater_is_better", "false")  # fmt: skip
    live = AutoModelForImageClassification.from_pretrained(run).state_dict()
    for checkpoint in run.glob("checkpoint-*"):  # saved under the live names, which Trainer restores strictly
        assert tensors(checkpoint).keys() == live.keys()
    best = json.loads((run / "trainer_state.json").read_text())["best_model_checkpoint"]
    assert_same_tensors(tensors(run / best.split("/")[-1]), tensors(run))
    assert "missing keys" not in capfd.readouterr().err.lower()


def test_resumed_run_continues_with_its_fine_tuned_backbone(backbone, tmp_path, capfd):
    first, resumed = tmp_path / "first", tmp_path / "resumed"
    one_epoch = ["--num_train_epochs", "1", "--save_strategy", "epoch", "--eval_strategy", "no",
                 "--load_best_model_at_end", "false"]  # fmt: skip
    train(first, "vit-pretrained", backbone, *one_epoch)
    (checkpoint,) = first.glob("checkpoint-*")
    shutil.copytree(checkpoint, resumed / checkpoint.name)
    train(resumed, "vit-pretrained", backbone, *one_epoch)  # picks up the checkpoint: nothing left to train
    step = json.loads((checkpoint / "trainer_state.json").read_text())["global_step"]
    assert json.loads((resumed / "trainer_state.json").read_text())["global_step"] == step
    assert_same_tensors(tensors(checkpoint), tensors(resumed))
    assert "missing keys" not in capfd.readouterr().err.lower()


PHOTO_SIZES = {"square": (300, 300), "4:3": (400, 300), "3:2": (450, 300), "portrait": (300, 400)}


def textured_photo(size, seed):
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (size[1], size[0], 3), generator=generator, dtype=torch.uint8)
    return Image.fromarray(pixels.numpy())


@pytest.fixture(scope="module")
def scratch_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "vit-scratch"
    train(run, "vit-scratch", None, "--max_steps", "2", "--max_photos", "3")
    return run


@pytest.mark.parametrize("shape", sorted(PHOTO_SIZES))
def test_saved_processor_preprocesses_like_evaluation(scratch_run, shape):
    photos = [textured_photo(PHOTO_SIZES[shape], seed) for seed in range(4)]
    processor = AutoImageProcessor.from_pretrained(scratch_run)
    _, built = MODELS["vit-scratch"].build("tiny")  # the processor train.py builds, whose transform evaluates
    built.max_short_side = 32  # and the side its synthetic build stored the photos at
    evaluation = HouseTransform(built.photo_transform(), max_photos=3, sample_photos=False)
    expected = evaluation({"images": [photos], "label": [0]})["pixel_values"][0]
    inputs = processor(photos, max_photos=3)
    assert inputs["pixel_values"].shape == (1, 3, 3, 32, 32) and inputs["photo_mask"].all()
    torch.testing.assert_close(inputs["pixel_values"][0], expected, rtol=0, atol=1e-6)


def test_processor_and_predict_script_give_the_same_tier(scratch_run, tmp_path):
    houses = []
    for index, shape in enumerate(sorted(PHOTO_SIZES)):
        paths = []
        for k in range(4):
            path = tmp_path / f"{shape.replace(':', 'x')}_{k}.png"
            textured_photo(PHOTO_SIZES[shape], 10 * index + k).save(path)
            paths.append(str(path))
        houses.append(paths)
    model = AutoModelForImageClassification.from_pretrained(scratch_run).eval()
    processor = AutoImageProcessor.from_pretrained(scratch_run)
    predict = load_script("predict")
    for paths in houses:
        with torch.no_grad():
            probabilities = model(**processor(paths, max_photos=model.config.max_photos)).logits.softmax(-1)[0]
        result = predict.main(
            ["--model", str(scratch_run), "--photos", *paths, "--photo_cache_dir", str(tmp_path / "c")]
        )
        assert result["photos_read"] == 3
        assert result["tier"] == model.config.id2label[int(probabilities.argmax())]
        # predict.py reads each photo as the builder stores it (upright, short side <= 256, JPEG), so only that
        # storage step separates the two
        assert list(result["probabilities"].values()) == pytest.approx(probabilities.tolist(), abs=0.02)


def test_config_declares_the_photo_count_and_cut_points(scratch_run):
    config = json.loads((scratch_run / "config.json").read_text())
    report = json.loads((scratch_run / "build_report.json").read_text())
    assert config["max_photos"] == 3 and config["tier_cut_points"] == report["cut_points"]
    model = AutoModelForImageClassification.from_pretrained(scratch_run).eval()
    photos = torch.randn(2, 5, 3, 32, 32)
    with torch.no_grad():  # the model itself reads the first max_photos photos, whoever calls it
        assert torch.equal(model(photos).logits, model(photos[:, :3]).logits)
        assert not torch.equal(model(photos).logits, model(photos[:, 2:]).logits)
    assert MODELS["cnn"].make_config().max_photos == 1


def test_dataset_description_summarises_the_build_even_with_skipped_houses(tmp_path):
    houses = simple_houses(tmp_path, count=30)
    houses.append({"id": "no-price", "images": houses[0]["images"]})
    dataset, report = build_house_dataset(str(write_listing(tmp_path, houses)), cache_dir=str(tmp_path / "cache"))
    description = dataset["train"].info.description
    assert "skipped" not in description and "30 of 31 houses kept" in description


def test_a_run_reads_photos_at_the_resolution_its_build_stored_them(tmp_path):
    """Built with --image_short_side 20: the saved processor reduces larger photos to 20 px first, and predict.py
    stores fetched photos at 20 px, not at its own default."""
    listing = write_listing(tmp_path, simple_houses(tmp_path, count=30, photos_per_house=1))
    run = tmp_path / "run"
    train(run, "cnn", None, "--dataset", str(listing), "--image_short_side", "20", "--max_steps", "1",
          "--save_strategy", "no", "--load_best_model_at_end", "false")  # fmt: skip
    assert json.loads((run / "preprocessor_config.json").read_text())["max_short_side"] == 20
    processor = AutoImageProcessor.from_pretrained(run)
    full_size = Image.open(tmp_path / "images" / "3_0.jpg").resize((160, 120))
    stored = full_size.resize((27, 20), Image.Resampling.BICUBIC, reducing_gap=2.0)
    assert torch.equal(processor(full_size)["pixel_values"], processor(stored)["pixel_values"])
    photo_cache = tmp_path / "predict-cache"
    load_script("predict").main(["--model", str(run), "--listing", str(listing), "--house_id", "3",
                                 "--photo_cache_dir", str(photo_cache)])  # fmt: skip
    assert [folder.name for folder in photo_cache.glob("short*")] == [f"short20-v{STORED_PHOTO_VERSION}"]


REGISTERED_ON_IMPORT = r"""
import sys, torch
from transformers import AutoImageProcessor, AutoModelForImageClassification
import zillow_vit
from zillow_vit.recipes import MODELS

model, processor = MODELS["vit-scratch"].build("tiny")
model.save_pretrained(sys.argv[1]); processor.save_pretrained(sys.argv[1])
loaded = AutoModelForImageClassification.from_pretrained(sys.argv[1])
assert type(loaded) is type(model), type(loaded)
for backend in ("torchvision", "pil"):
    assert type(AutoImageProcessor.from_pretrained(sys.argv[1], backend=backend)) is type(processor)
"""


def test_importing_the_package_registers_the_auto_classes(tmp_path):
    result = subprocess.run([sys.executable, "-c", REGISTERED_ON_IMPORT, str(tmp_path / "model")],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "backend is not available" not in result.stderr  # the processor is registered for either backend


def test_rerun_after_a_kill_mid_checkpoint_resumes_from_the_last_complete_one(tmp_path, caplog):
    run = tmp_path / "run"
    steps = ["--eval_strategy", "no", "--load_best_model_at_end", "false", "--save_strategy", "steps",
             "--save_steps", "2", "--save_total_limit", "5"]  # fmt: skip
    train(run, "cnn", None, "--max_steps", "2", *steps)
    (run / "checkpoint-4").mkdir()  # killed as the next checkpoint was being written
    shutil.copytree(run / "checkpoint-2", run / "checkpoint-3")
    weights = run / "checkpoint-3" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # killed mid-write
    train(run, "cnn", None, "--max_steps", "4", *steps)
    assert json.loads((run / "trainer_state.json").read_text())["global_step"] == 4
    assert "Resuming from" in caplog.text and "checkpoint-2" in caplog.text
    assert "checkpoint-3, written only in part" in caplog.text


def test_a_rerun_resumes_only_a_run_with_its_own_arguments(tmp_path, capsys, caplog):
    """Other learning rate: refused, naming it, the checkpoint untouched. Other logging, fetch settings and a longer
    run: resumed."""
    run = tmp_path / "run"
    steps = ["--eval_strategy", "no", "--load_best_model_at_end", "false", "--save_strategy", "steps",
             "--save_steps", "2", "--max_steps", "2"]  # fmt: skip
    train(run, "cnn", None, *steps)
    saved = (run / "checkpoint-2" / "model.safetensors").read_bytes()
    with pytest.raises(SystemExit) as refused:
        train(run, "cnn", None, *steps, "--learning_rate", "3e-3")
    assert refused.value.code == 2
    assert "holds checkpoint-2 of a run with other arguments (learning_rate 0.01 there, 0.003 now)" in (
        capsys.readouterr().err
    )
    assert (run / "checkpoint-2" / "model.safetensors").read_bytes() == saved
    train(run, "cnn", None, *steps[:-1], "4", "--logging_steps", "1", "--download_workers", "2")
    assert "Resuming from" in caplog.text and json.loads((run / "trainer_state.json").read_text())["global_step"] == 4


def test_a_checkpoint_to_resume_must_be_of_a_run_with_these_arguments_and_steps_left(tmp_path, capsys):
    steps = ["--eval_strategy", "no", "--load_best_model_at_end", "false", "--save_strategy", "steps",
             "--save_steps", "2"]  # fmt: skip
    train(tmp_path / "first", "cnn", None, *steps, "--max_steps", "2")
    checkpoint = str(tmp_path / "first" / "checkpoint-2")
    refusals = {
        "a checkpoint of a run with other arguments (learning_rate 0.01 there, 0.003 now)": ["--learning_rate", "3e-3"],
        "at step 2 (epoch": ["--max_steps", "2"],
        "not a complete checkpoint (config.json missing": [
            "--max_steps",
            "4",
            "--resume_from_checkpoint",
            str(tmp_path),
        ],
    }
    for message, extra in refusals.items():
        with pytest.raises(SystemExit) as refused:
            train(
                tmp_path / "second",
                "cnn",
                None,
                *steps,
                "--max_steps",
                "4",
                "--resume_from_checkpoint",
                checkpoint,
                *extra,
            )
        assert refused.value.code == 2 and message in capsys.readouterr().err
    train(tmp_path / "second", "cnn", None, *steps, "--max_steps", "4", "--resume_from_checkpoint", checkpoint)
    assert json.loads((tmp_path / "second" / "trainer_state.json").read_text())["global_step"] == 4


def test_a_rerun_of_a_finished_run_reports_it_and_one_killed_before_its_card_keeps_no_made_up_training_time(
    tmp_path, capsys, caplog
):
    run = tmp_path / "run"
    steps = ["--eval_strategy", "no", "--load_best_model_at_end", "false", "--save_strategy", "steps",
             "--save_steps", "2", "--max_steps", "2"]  # fmt: skip
    metrics = train(run, "cnn", None, *steps)
    results = (run / "all_results.json").read_text()
    assert train(run, "cnn", None, *steps) == json.loads(results)  # nothing trained, nothing rewritten
    assert "is finished already (test accuracy" in capsys.readouterr().out
    assert (run / "all_results.json").read_text() == results
    (run / "README.md").unlink()  # killed after its last checkpoint, before its model card
    again = train(run, "cnn", None, *steps)
    assert "is at the end of this run: nothing to train" in caplog.text and "train_runtime" not in again
    assert not (run / "checkpoint-3").exists()  # no step trained past the end
    assert again["test_accuracy"] == metrics["test_accuracy"]


def test_a_run_of_another_number_of_processes_is_not_resumed(tmp_path, capsys):
    """The number of processes multiplies the batch: a checkpoint of a 2-process run is not resumed by 1 process; a
    record from before that number was kept counts as 1 process."""
    run = tmp_path / "run"
    steps = ["--eval_strategy", "no", "--load_best_model_at_end", "false", "--save_strategy", "steps",
             "--save_steps", "2"]  # fmt: skip
    train(run, "cnn", None, *steps, "--max_steps", "2")
    record = json.loads((run / "run_arguments.json").read_text())
    assert record["processes"] == 1
    (run / "run_arguments.json").write_text(json.dumps({**record, "processes": 2}))
    with pytest.raises(SystemExit):
        train(run, "cnn", None, *steps, "--max_steps", "4")
    assert "processes 2 there, 1 now" in capsys.readouterr().err
    del record["processes"]
    (run / "run_arguments.json").write_text(json.dumps(record))
    train(run, "cnn", None, *steps, "--max_steps", "4")
    assert json.loads((run / "trainer_state.json").read_text())["global_step"] == 4


def test_the_seed_fixes_the_trained_weights(tmp_path):
    """--seed is set before the model is built (as in transformers' examples), so it fixes the new layers' initial
    weights as well as the data order: the same seed trains the same tensors, another seed other ones."""
    one_step = ("--max_steps", "1", "--save_strategy", "no", "--load_best_model_at_end", "false")
    for name, seed in (("first", "0"), ("again", "0"), ("other", "1")):
        train(tmp_path / name, "cnn", None, "--seed", seed, *one_step)
    first = tensors(tmp_path / "first")
    assert_same_tensors(tensors(tmp_path / "again"), first)
    other = tensors(tmp_path / "other")
    assert not any(torch.equal(other[name], first[name]) for name in first if first[name].is_floating_point())
