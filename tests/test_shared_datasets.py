"""Hub datasets in as well as out: an exported folder or a Hub dataset repo loads through `datasets.load_dataset`,
with the cut points read back from the build report it carries; build → export → train works offline."""

import json

import huggingface_hub
import pytest
from datasets import load_dataset

from dataset_builder import DataError, build_house_dataset
from zillow_vit.data import DatasetArguments, loading
from zillow_vit.hub import export_dataset, hub_repo_id

from conftest import load_script


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shared")
    dataset, report = build_house_dataset("synthetic", str(folder / "cache"), num_synthetic_houses=45,
                                          synthetic_image_size=32)  # fmt: skip
    export_dataset(dataset, report, folder / "export")
    return folder / "export", dataset, report


def test_export_trains_with_the_cut_points_it_carries(export, tmp_path):
    folder, dataset, report = export
    loaded, loaded_report = DatasetArguments(dataset=str(folder)).load()
    assert loaded_report.cut_points == report.cut_points
    assert list(loaded["test"]["id"]) == list(dataset["test"]["id"])
    run = tmp_path / "run"
    load_script("train").main(["--model", "cnn", "--preset", "tiny", "--dataset", str(folder), "--max_steps", "1",
                               "--output_dir", str(run), "--disable_tqdm", "true"])  # fmt: skip
    assert json.loads((run / "config.json").read_text())["tier_cut_points"] == report.cut_points


def test_a_hub_repo_loads_through_load_dataset_and_its_report(export, monkeypatch):
    folder, _, report = export
    asked = []

    def hub_download(repo_id, filename, repo_type):
        asked.append((repo_id, filename, repo_type))
        return str(folder / filename)

    monkeypatch.setattr(loading, "load_dataset", lambda location, **options: load_dataset(str(folder)))
    monkeypatch.setattr(loading, "hf_hub_download", hub_download)
    dataset, loaded_report = DatasetArguments(dataset="someone/houses").load()
    assert asked == [("someone/houses", "build_report.json", "dataset")]
    assert loaded_report.cut_points == report.cut_points and len(dataset["train"]) == report.split_sizes["train"]
    assert hub_repo_id(loaded_report.source) == "someone/houses"  # what a model card trained on it links to


def test_an_export_without_its_report_is_refused(export, tmp_path):
    folder, _, _ = export
    bare = tmp_path / "bare"
    (bare / "data").mkdir(parents=True)
    for path in (folder / "data").iterdir():
        (bare / "data" / path.name).write_bytes(path.read_bytes())
    (bare / "README.md").write_text((folder / "README.md").read_text())
    with pytest.raises(ValueError, match="has no build_report.json: its tier cut points are unknown"):
        DatasetArguments(dataset=str(bare)).load()


def test_an_export_written_again_is_read_afresh(export, tmp_path):
    """`datasets` keys its cache of a folder on the card's sizes: an export of other prices whose shards keep their
    sizes (here: its card kept) must not be served from the cache of the first."""
    _, dataset, report = export
    folder, cache = tmp_path / "export", str(tmp_path / "cache")
    export_dataset(dataset, report, folder)
    card = (folder / "README.md").read_text()
    assert (
        DatasetArguments(dataset=str(folder), dataset_cache_dir=cache).load()[0]["train"][0]["price"]
        == (dataset["train"][0]["price"])
    )
    repriced = dataset.copy()
    repriced["train"] = dataset["train"].map(
        lambda house, index: {"price": house["price"] + (index == 0)}, with_indices=True
    )
    export_dataset(repriced, report, folder)
    (folder / "README.md").write_text(card)
    reloaded = DatasetArguments(dataset=str(folder), dataset_cache_dir=cache).load()[0]
    assert reloaded["train"][0]["price"] == dataset["train"][0]["price"] + 1


def test_a_hub_dataset_that_cannot_be_reached_is_one_data_error(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DataError, match=r"^someone/no-such-houses: "):
        DatasetArguments(dataset="someone/no-such-houses").load()
