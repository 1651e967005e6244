"""Listing facts (`--listing_fields`): specs and their errors, kind inference, reading values (missing told from
unparseable, never dropping a house), typed dataset columns with per-field counts in the build report, folds that
keep them, the dataset card, and the facts-only reference rows of the comparison."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, load_dataset

from dataset_builder import (
    BuildReport,
    DatasetOptions,
    ListingField,
    ListingFieldError,
    build_house_dataset,
    parse_listing_fields,
    read_listings,
)
from dataset_builder.facts import CATEGORY, MISSING, NUMBER, UNPARSEABLE, infer_kind, read_category, read_number
from dataset_builder.folds import fold_dataset, pool_houses
from zillow_vit import baselines
from zillow_vit.data import DatasetArguments
from zillow_vit.hub import export_dataset
from zillow_vit.metrics import load_tier_metric

from conftest import load_script, simple_houses, write_listing

# --- specs -------------------------------------------------------------------------------------------------------


def test_a_spec_is_a_path_with_an_optional_kind_and_its_column_is_the_last_segment():
    assert ListingField.parse("bedrooms") == ListingField("bedrooms", None)
    nested = ListingField.parse("hdpData.homeInfo.livingArea:number")
    assert (nested.path, nested.kind, nested.column) == ("hdpData.homeInfo.livingArea", NUMBER, "livingArea")
    assert ListingField.parse(" zipcode : Category ") == ListingField("zipcode", CATEGORY)
    assert ListingField("zipcode", CATEGORY).spec == "zipcode:category" and ListingField("area").spec == "area"


@pytest.mark.parametrize(
    ("specs", "named"),
    [
        (["area:float"], "'float'"),  # unknown kind
        (["area:"], "area"),  # empty kind
        ([":number"], "empty path"),
        (["hdpData..area"], "hdpData..area"),
        (["area", "facts.area:number"], "'area'"),  # two fields, one column
        (["price"], "'price'"),  # the dataset's own columns
        (["listing.images"], "'images'"),
        (["label:category"], "'label'"),
        (["hdpData.homeInfo.id"], "'id'"),
    ],
)
def test_a_bad_spec_fails_early_naming_the_field(specs, named):
    with pytest.raises(ListingFieldError, match="listing field") as caught:
        parse_listing_fields(specs)
    assert named in str(caught.value)
    with pytest.raises(ListingFieldError):
        DatasetOptions(listing_fields=specs)
    with pytest.raises(ListingFieldError):
        load_script("build_dataset").main(["--output_dir", "unused", "--listing_fields", *specs])


def test_the_command_line_takes_listing_fields():
    (data_args,) = (
        load_script("build_dataset")
        .HfArgumentParser(DatasetArguments)
        .parse_args_into_dataclasses(
            ["--listing_fields", "bedrooms", "hdpData.homeInfo.livingArea", "zipcode:category"]
        )
    )
    assert data_args.listing_fields == ["bedrooms", "hdpData.homeInfo.livingArea", "zipcode:category"]
    assert [field.column for field in data_args.parsed_listing_fields()] == ["bedrooms", "livingArea", "zipcode"]


# --- reading values ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [(3, 3.0), (2.5, 2.5), ("1,234 sqft", 1234.0), ("3 bds", 3.0), (" 2.5 ba ", 2.5), ("$1,250,000", 1_250_000.0),
     ("-4", -4.0), ("1e3", 1000.0), (10**30, 1e30)],
)  # fmt: skip
def test_numbers_parse_from_json_numbers_and_text_with_separators_and_units(value, number):
    assert read_number(value).value == pytest.approx(number) and read_number(value).problem is None


@pytest.mark.parametrize("value", [None, "", "  ", "N/A", "null", "NaN", float("nan")])
def test_an_absent_null_empty_or_placeholder_number_is_missing(value):
    assert read_number(value).value is None and read_number(value).problem == MISSING


@pytest.mark.parametrize(
    "value",
    ["many", "3 bds, 2 ba", "1.234,5", True, False, [3], {"value": 3}, "inf", "-Infinity", "1e400", float("inf"),
     10**400, 1e39, "12,34"],
)  # fmt: skip
def test_a_present_value_that_is_not_a_finite_float32_number_is_unparseable(value):
    assert read_number(value).value is None and read_number(value).problem == UNPARSEABLE


@pytest.mark.parametrize(
    ("value", "text"),
    [("85255", "85255"), (85255, "85255"), (85255.0, "85255"), (" 02134 ", "02134"), (2.5, "2.5"),
     (True, "true"), ("Single Family", "Single Family")],
)  # fmt: skip
def test_categories_are_stripped_text_and_whole_numbers_their_digits(value, text):
    assert read_category(value).value == text and read_category(value).problem is None


def test_a_category_is_missing_when_absent_or_empty_and_unparseable_when_not_text_or_a_number():
    assert [read_category(value).problem for value in (None, "", " ", "n/a")] == [MISSING] * 4
    assert [read_category(value).problem for value in ([1], {"a": 1}, float("inf"), "x" * 500)] == [UNPARSEABLE] * 4


# --- kinds -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "values", "kind"),
    [
        ("bedrooms", [3, 4.0, None, "5"], NUMBER),
        ("area", ["1,234 sqft", "980 sqft", 1500, ""], NUMBER),
        ("beds", ["3 bds", "N/A", "1e400"], NUMBER),  # a non-finite number is still a number (counted unparseable)
        ("zipcode", [85255, 85262, 92880], CATEGORY),  # numeric-looking, but the name says code
        ("addressZipcode", ["85255", "85262"], CATEGORY),
        ("postal_code", [12345], CATEGORY),
        ("mlsId", [1001, 1002], CATEGORY),
        ("district", ["02134", "12345"], CATEGORY),  # a leading zero: an identifier
        ("district", ["2134", "12345"], NUMBER),
        ("homeType", ["SINGLE_FAMILY", "CONDO"], CATEGORY),
        ("bedrooms", [3, 4, "many"], CATEGORY),  # one value that is no number is enough
        ("hasPool", [True, False], CATEGORY),
        ("zipcode:number", [85255, 85262], NUMBER),  # a given kind always wins
        ("bedrooms:number", [3, "many"], NUMBER),
        ("bedrooms:category", [3, 4], CATEGORY),
        ("lotSize", [None, None], NUMBER),
    ],
)
def test_kind_inference(spec, values, kind):
    assert infer_kind(ListingField.parse(spec), values) == kind


# --- listings ----------------------------------------------------------------------------------------------------

FACTS = [
    "bedrooms",
    "bathrooms:number",
    "hdpData.homeInfo.livingArea",
    "addressZipcode",
    "homeType",
]


def zillow_like(folder, count=12):
    """Houses with Zillow-like facts: nested area, numbers as text with units, zip codes as ints, and in a few houses
    a missing (absent or null) or unparseable (a word, a boolean, a list, inf) fact."""
    houses = simple_houses(folder, count=count, photos_per_house=1)
    for index, house in enumerate(houses):
        house.update(
            bedrooms=f"{index % 4 + 1} bds",
            bathrooms=index % 3 + 1,
            hdpData={"homeInfo": {"livingArea": f"{1000 + 100 * index:,} sqft"}},
            addressZipcode=85250 + index % 3,
            homeType=["SINGLE_FAMILY", "CONDO"][index % 2],
        )
    del houses[0]["bedrooms"]
    houses[1]["bathrooms"] = "many"
    houses[2]["hdpData"]["homeInfo"]["livingArea"] = None
    houses[3]["addressZipcode"] = ""
    houses[4]["bathrooms"] = True
    houses[5]["homeType"] = ["SINGLE_FAMILY"]
    houses[6]["bathrooms"] = "inf"
    houses[7]["hdpData"] = "not an object"
    return houses


def test_facts_are_read_per_listing_and_never_drop_a_house(tmp_path):
    listings = read_listings(
        str(write_listing(tmp_path, zillow_like(tmp_path))), listing_fields=parse_listing_fields(FACTS)
    )
    assert [listing.skip_reason for listing in listings] == [None] * 12
    assert listings[8].facts == {
        "bedrooms": 1.0, "bathrooms": 3.0, "livingArea": 1800.0, "addressZipcode": "85252", "homeType": "SINGLE_FAMILY"
    }  # fmt: skip
    assert listings[8].fact_problems == {}
    assert listings[0].facts["bedrooms"] is None and listings[0].fact_problems == {"bedrooms": MISSING}
    assert listings[1].fact_problems == {"bathrooms": UNPARSEABLE}
    assert listings[2].fact_problems == {"livingArea": MISSING}
    assert listings[3].facts["addressZipcode"] is None and listings[3].fact_problems == {"addressZipcode": MISSING}
    assert listings[4].fact_problems == {"bathrooms": UNPARSEABLE}
    assert listings[5].fact_problems == {"homeType": UNPARSEABLE}
    assert listings[6].fact_problems == {"bathrooms": UNPARSEABLE}
    assert listings[7].fact_problems == {"livingArea": MISSING}


def test_prediction_reads_facts_with_explicit_kinds_and_no_price(tmp_path):
    houses = [{"zpid": 7, "imgSrc": "a.jpg", "area": "1,234 sqft", "zip": 2134}, {"zpid": 8, "imgSrc": "b.jpg"}]
    fields = [ListingField("area", NUMBER), ListingField("zip", CATEGORY)]
    listings = read_listings(str(write_listing(tmp_path, houses)), listing_fields=fields, require_price=False)
    assert [listing.problem for listing in listings] == [None, None]
    assert [listing.facts for listing in listings] == [{"area": 1234.0, "zip": "2134"}, {"area": None, "zip": None}]


def test_a_field_no_house_has_is_missing_everywhere_and_the_summary_says_so(tmp_path):
    houses = simple_houses(tmp_path, count=3, photos_per_house=1)
    listings = read_listings(str(write_listing(tmp_path, houses)), listing_fields=["bedroom"])  # specs as text too
    assert [listing.fact_problems for listing in listings] == [{"bedroom": MISSING}] * 3
    fields = {"bedroom": {"path": "bedroom", "kind": NUMBER, "missing": 3, "unparseable": 0}}
    summary = BuildReport(source="houses.json", houses_kept=3, listing_fields=fields).summary()
    assert "Listing fact bedroom (number, from bedroom): 3 missing, 0 unparseable (no kept house has it" in summary


# --- the built dataset -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("facts")
    listing = write_listing(folder, zillow_like(folder, count=30))
    dataset, report = build_house_dataset(str(listing), cache_dir=str(folder / "cache"), listing_fields=FACTS)
    return folder, listing, dataset, report


def all_rows(dataset):
    return {row["id"]: row for split in dataset.values() for row in split.remove_columns("images")}


def test_fact_columns_are_float32_numbers_with_nan_and_strings_with_none(built):
    _, _, dataset, report = built
    features = dataset["train"].features
    columns = ("bedrooms", "bathrooms", "livingArea", "addressZipcode", "homeType")
    assert {column: features[column] for column in columns} == {
        "bedrooms": Value("float32"), "bathrooms": Value("float32"), "livingArea": Value("float32"),
        "addressZipcode": Value("string"), "homeType": Value("string"),
    }  # fmt: skip
    rows = all_rows(dataset)
    assert len(rows) == 30 == report.houses_kept
    assert math.isnan(rows["0"]["bedrooms"]) and rows["9"]["bedrooms"] == 2.0
    assert math.isnan(rows["1"]["bathrooms"]) and rows["10"]["bathrooms"] == 2.0
    assert math.isnan(rows["2"]["livingArea"]) and rows["12"]["livingArea"] == 2200.0
    assert rows["3"]["addressZipcode"] is None and rows["13"]["addressZipcode"] == "85251"
    assert rows["5"]["homeType"] is None and rows["14"]["homeType"] == "SINGLE_FAMILY"


def test_the_report_counts_missing_and_unparseable_per_field_in_order(built):
    folder, _, _, report = built
    assert list(report.listing_fields) == ["bedrooms", "bathrooms", "livingArea", "addressZipcode", "homeType"]
    assert report.listing_fields == {
        "bedrooms": {"path": "bedrooms", "kind": NUMBER, "missing": 1, "unparseable": 0},
        "bathrooms": {"path": "bathrooms", "kind": NUMBER, "missing": 0, "unparseable": 3},
        "livingArea": {"path": "hdpData.homeInfo.livingArea", "kind": NUMBER, "missing": 2, "unparseable": 0},
        "addressZipcode": {"path": "addressZipcode", "kind": CATEGORY, "missing": 1, "unparseable": 0},
        "homeType": {"path": "homeType", "kind": CATEGORY, "missing": 0, "unparseable": 1},
    }
    summary = report.summary()
    assert "Listing fact bathrooms (number, from bathrooms): 0 missing, 3 unparseable" in summary
    assert "Listing fact livingArea (number, from hdpData.homeInfo.livingArea): 2 missing, 0 unparseable" in summary
    report.save(folder)
    assert BuildReport.load(folder) == report and list(BuildReport.load(folder).listing_fields) == list(
        report.listing_fields
    )


def test_a_report_saved_before_listing_facts_loads_without_them(tmp_path):
    (tmp_path / BuildReport.FILE_NAME).write_text(json.dumps({"source": "houses.json", "houses_read": 3}))
    assert BuildReport.load(tmp_path).listing_fields == {}


def test_changing_the_listing_fields_builds_again(built):
    folder, listing, dataset, _ = built
    fewer, report = build_house_dataset(str(listing), cache_dir=str(folder / "cache"), listing_fields=["bedrooms"])
    assert "bedrooms" in fewer["train"].column_names and "homeType" not in fewer["train"].column_names
    assert list(report.listing_fields) == ["bedrooms"]
    as_text, report = build_house_dataset(
        str(listing), cache_dir=str(folder / "cache"), listing_fields=["bedrooms:category"]
    )
    assert (
        as_text["train"].features["bedrooms"] == Value("string")
        and report.listing_fields["bedrooms"]["kind"] == CATEGORY
    )
    again, _ = build_house_dataset(str(listing), cache_dir=str(folder / "cache"), listing_fields=FACTS)
    assert again["train"].cache_files == dataset["train"].cache_files  # the same options: the same build


def test_the_synthetic_houses_refuse_listing_fields(tmp_path):
    with pytest.raises(ValueError, match="synthetic houses carry no listing facts"):
        build_house_dataset("synthetic", cache_dir=str(tmp_path), listing_fields=["bedrooms"])


def test_folds_keep_the_fact_columns_and_their_report(built):
    _, _, dataset, report = built
    pool = pool_houses(dataset)
    fold, fold_report = fold_dataset(pool, 0, 3, 0.2, 0, report)
    assert fold["test"].features == dataset["train"].features
    rows = all_rows(fold)
    assert (
        math.isnan(rows["0"]["bedrooms"]) and rows["5"]["homeType"] is None and rows["13"]["addressZipcode"] == "85251"
    )
    assert fold_report.listing_fields == report.listing_fields and "fold 1 of 3" in fold_report.source
    assert fold_report.image_short_side == report.image_short_side == 256  # the photos' stored resolution
    _, derived = fold_dataset(pool, 0, 3, 0.2, 0, report.source)  # without the report: the facts among the columns
    assert derived.listing_fields["bathrooms"] == {"path": "bathrooms", "kind": NUMBER, "missing": 3, "unparseable": 0}
    assert derived.listing_fields["homeType"] == {"path": "homeType", "kind": CATEGORY, "missing": 1, "unparseable": 0}
    assert list(derived.listing_fields) == list(report.listing_fields)


def test_the_export_keeps_the_columns_and_its_card_lists_them(built):
    folder, _, dataset, report = built
    export_dataset(dataset, report, folder / "export")
    card = (folder / "export" / "README.md").read_text()
    assert (
        "`bathrooms` (number: float32, NaN when missing) from the listing's `bathrooms`: 0 missing, 3 unparseable"
        in card
    )
    assert "`addressZipcode` (category: string, null when missing)" in card
    loaded = load_dataset(str(folder / "export"), cache_dir=str(folder / "export_cache"))
    assert loaded["train"].features["livingArea"] == Value("float32")
    assert loaded["train"].features["addressZipcode"] == Value("string")
    assert BuildReport.load(folder / "export").listing_fields == report.listing_fields


# --- reference rows ----------------------------------------------------------------------------------------------

FACT_REPORT = {
    "area": {"path": "area", "kind": NUMBER, "missing": 0, "unparseable": 0},
    "zipcode": {"path": "zipcode", "kind": CATEGORY, "missing": 0, "unparseable": 0},
}


def fact_table(count: int, seed: int, zip_codes=("85001", "85002", "85003")) -> Dataset:
    """Houses whose tier is a function of the area alone (a tenth of the areas missing), with a noise zip code."""
    rng = np.random.default_rng(seed)
    area = rng.uniform(500, 3500, count)
    labels = np.digitize(area, [1500, 2500]).tolist()
    area[rng.random(count) < 0.1] = np.nan
    return Dataset.from_dict(
        {
            "id": [f"{seed}-{index}" for index in range(count)],
            "label": labels,
            "area": area.astype(np.float32).tolist(),
            "zipcode": [str(rng.choice(zip_codes)) for _ in range(count)],
        },
        features=Features(
            {
                "id": Value("string"),
                "label": ClassLabel(names=["cheap", "average", "expensive"]),
                "area": Value("float32"),
                "zipcode": Value("string"),
            }
        ),  # fmt: skip
    )


@pytest.fixture(scope="module")
def fact_split():
    dataset = DatasetDict(
        train=fact_table(240, 0),
        validation=fact_table(60, 1),
        test=fact_table(90, 2, zip_codes=("85001", "99999")),  # a zip code never seen in training
    )
    report = BuildReport(source="facts", listing_fields=FACT_REPORT)
    return SimpleNamespace(dataset=dataset, report=report)


def test_facts_rows_beat_majority_when_the_tier_is_a_function_of_a_fact(fact_split):
    rng = np.random.default_rng(3)
    photo_noise = {
        house: rng.normal(size=4) for split in fact_split.dataset.values() for house in split["id"]
    }  # frozen features that know nothing
    rows = load_script("compare").reference_rows(fact_split, {"frozen tiny features": photo_noise}, load_tier_metric())
    assert rows["always majority"]["accuracy"] < 0.45
    assert rows["listing facts + logistic regression"]["accuracy"] > 0.8
    assert rows["listing facts + logistic regression"]["C"] in baselines.REGULARISATION_GRID
    assert rows["listing facts + gradient boosting"]["accuracy"] > 0.8
    assert rows["frozen tiny features + logistic regression"]["accuracy"] < 0.6
    fused = rows["listing facts + frozen tiny features (late fusion)"]
    assert fused["accuracy"] > 0.8 and fused["validation_accuracy"] > 0.8  # uninformative photos cannot drown facts


def test_late_fusion_weighs_two_models_on_validation():
    """Each model is confidently right on its own half of the houses and unsure (a little wrong) on the other:
    alone each gets half, the fused probabilities get all."""
    labels = np.arange(60) % 3
    confident, unsure = np.eye(3)[labels] * 0.9 + 0.03, np.full((60, 3), 0.3) + np.eye(3)[(labels + 1) % 3] * 0.1
    first = np.where((np.arange(60) < 30)[:, None], confident, unsure)
    second = np.where((np.arange(60) < 30)[:, None], unsure, confident)
    weight = baselines.fusion_weight(first, second, labels)
    assert 0.0 < weight < 1.0
    assert (baselines.fused(weight, first, second) == labels).all()
    assert (baselines.fused(1.0, first, second) == labels).mean() == 0.5


def test_no_facts_rows_without_listing_facts(fact_split):
    plain = SimpleNamespace(dataset=fact_split.dataset, report=BuildReport(source="facts"))
    assert list(load_script("compare").reference_rows(plain, {}, load_tier_metric())) == ["always majority"]


def test_the_category_vocabulary_is_the_training_one_and_unseen_values_are_ignored(fact_split):
    kinds = baselines.fact_kinds(FACT_REPORT)
    train = baselines.fact_columns(fact_split.dataset["train"], kinds)
    test = baselines.fact_columns(fact_split.dataset["test"], kinds)
    linear = baselines.LinearFactEncoder(kinds).fit(train)
    assert linear.vocabularies["zipcode"] == ["85001", "85002", "85003"]
    encoded = linear.transform(test)
    unseen = test["zipcode"] == "99999"
    assert unseen.any() and encoded.shape == (90, 3 + 3)  # area, missing, log area; three zip codes
    assert (encoded[unseen, 3:] == 0).all() and (encoded[~unseen, 3:].sum(axis=1) == 1).all()
    missing = np.isnan(test["area"])
    assert (
        missing.any()
        and (encoded[missing, 0] == np.nanmedian(train["area"])).all()
        and (encoded[missing, 1] == 1).all()
    )
    np.testing.assert_allclose(encoded[:, 2], np.log(encoded[:, 0]))
    trees = baselines.TreeFactEncoder(kinds).fit(train)
    coded = trees.transform(test)
    assert trees.categorical == [False, True]
    assert np.isnan(coded[unseen, 1]).all() and set(coded[~unseen, 1]) == {0.0}


def test_a_field_without_any_training_value_encodes_without_failing():
    kinds = {"area": NUMBER, "zipcode": CATEGORY}
    train = {"area": np.full(6, np.nan), "zipcode": np.array([None] * 6, dtype=object)}
    test = {"area": np.array([1.0, np.nan]), "zipcode": np.array(["85001", None], dtype=object)}
    encoded = baselines.LinearFactEncoder(kinds).fit(train).transform(test)
    assert np.isfinite(encoded).all()
    trees = baselines.TreeFactEncoder(kinds).fit(train)
    labels = np.array([0, 1, 2, 0, 1, 2])
    classifier, _ = baselines.fit_gradient_boosting(
        trees.transform(train), labels, trees.transform(train), labels, trees.categorical
    )
    assert classifier.predict(trees.transform(test)).shape == (2,)
