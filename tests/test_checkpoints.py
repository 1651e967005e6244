import json

import torch
from safetensors.torch import save_file

from dataset_builder import DatasetOptions
from zillow_vit.checkpoints import last_complete_checkpoint, run_argument_changes, run_arguments, write_run_arguments


def write_checkpoint(folder, step):
    folder.mkdir(parents=True)
    save_file({"weight": torch.ones(64, 64), "bias": torch.zeros(64)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"model_type": "house_cnn"}))
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    (folder / "optimizer.pt").write_bytes(b"state")
    return folder


def test_newest_complete_checkpoint_skips_the_broken_ones(tmp_path):
    write_checkpoint(tmp_path / "checkpoint-10", 10)
    good = write_checkpoint(tmp_path / "checkpoint-20", 20)
    (tmp_path / "checkpoint-50").mkdir()  # killed right after creating the folder
    truncated = write_checkpoint(tmp_path / "checkpoint-40", 40) / "model.safetensors"
    truncated.write_bytes(truncated.read_bytes()[:-100])
    (write_checkpoint(tmp_path / "checkpoint-30", 30) / "trainer_state.json").unlink()
    (tmp_path / "checkpoint-60.tmp").mkdir()
    path, skipped = last_complete_checkpoint(str(tmp_path))
    assert path == str(good)
    assert [(name.rsplit("/", 1)[-1], reason) for name, reason in skipped] == [
        ("checkpoint-50", "config.json missing or unreadable"),
        ("checkpoint-40", "model.safetensors truncated or malformed"),
        ("checkpoint-30", "trainer_state.json missing or unreadable"),
    ]


def test_no_complete_checkpoint(tmp_path):
    assert last_complete_checkpoint(str(tmp_path / "absent")) == (None, [])
    (write_checkpoint(tmp_path / "checkpoint-5", 5) / "model.safetensors").write_bytes(b"\x10\x00")
    (write_checkpoint(tmp_path / "checkpoint-6", 6) / "optimizer.pt").write_bytes(b"")
    path, skipped = last_complete_checkpoint(str(tmp_path))
    assert path is None
    assert [reason for _, reason in skipped] == ["optimizer.pt is empty", "model.safetensors truncated or malformed"]


def test_a_run_is_the_same_run_however_its_paths_are_written_and_its_photos_were_fetched(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "data")
    recorded = run_arguments(DatasetOptions(download_workers=8, download_timeout=20.0))
    assert not {"download_workers", "download_timeout", "photo_deadline"} & recorded.keys()
    write_run_arguments(tmp_path / "run", {**recorded, "dataset": str(tmp_path / "data"), "download_workers": 8})
    monkeypatch.chdir(tmp_path)
    for written in ("data", "data/", "./link", str(tmp_path / "data")):
        assert run_argument_changes(tmp_path / "run", {**recorded, "dataset": written}) == [], written
    assert run_argument_changes(tmp_path / "run", {**recorded, "dataset": "other"}) == [
        f"dataset {str(tmp_path / 'data')!r} there, 'other' now"
    ]
