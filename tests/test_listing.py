import json

import pytest

from dataset_builder.listing import ListingFormatError, parse_price, read_listings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (869500, 869500.0),
        (1.5e6, 1.5e6),
        ("$1,599,900", 1_599_900.0),
        ("850K", 850_000.0),
        ("$1.2M", 1_200_000.0),
        ("425,000+", 425_000.0),
    ],
)
def test_parse_price_accepts_common_forms(raw, expected):
    assert parse_price(raw) == expected


@pytest.mark.parametrize("raw", ["call for price", "", "-5", 0, -100, float("nan"), True, None, [1]])
def test_parse_price_rejects_junk(raw):
    with pytest.raises(ValueError, match="unparseable price"):
        parse_price(raw)


def test_zillow_style_fields_are_detected_and_photos_resolved(tmp_path):
    records = [
        {"zpid": 11, "unformattedPrice": 500000, "carouselPhotos": [{"url": "https://x.test/a.jpg"}, {"url": "b.jpg"}]},
        {"zpid": 12, "unformattedPrice": "$650,000", "carouselPhotos": [{"url": "sub/c.jpg"}]},
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"searchResults": records, "total": 2}))
    first, second = read_listings(str(path))
    assert (first.house_id, first.price, first.problem) == ("11", 500000.0, None)
    assert first.photos == ["https://x.test/a.jpg", str(tmp_path / "b.jpg")]
    assert second.photos == [str(tmp_path / "sub" / "c.jpg")]


def test_json_lines_and_explicit_field_names(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text('{"key": "a", "cost": 1, "pics": ["p.jpg"]}\n\n{"key": "b", "cost": 2, "pics": "q.jpg"}\n')
    listings = read_listings(str(path), id_field="key", price_field="cost", images_field="pics")
    assert [(item.house_id, item.price, len(item.photos)) for item in listings] == [("a", 1.0, 1), ("b", 2.0, 1)]


def test_problem_records_carry_their_reason(tmp_path):
    records = [
        {"id": "ok", "price": 1, "images": ["a.jpg"]},
        {"id": "noprice", "images": ["a.jpg"]},
        {"id": "badprice", "price": "ask agent", "images": ["a.jpg"]},
        {"id": "nophotos", "price": 5, "images": []},
        {"id": "ok", "price": 2, "images": ["b.jpg"]},
        {"price": 3, "images": ["c.jpg"]},
        "not a house",
    ]
    path = tmp_path / "houses.json"
    path.write_text(json.dumps(records))
    problems = [(item.house_id, item.skip_reason) for item in read_listings(str(path))]
    assert problems == [
        ("ok", None),
        ("noprice", "no price"),
        ("badprice", "unparseable price 'ask agent'"),
        ("nophotos", "no photos"),
        ("ok", "duplicate id (first seen in row 0)"),
        ("row 5", "no id"),
        ("row 6", "not a JSON object (str)"),
    ]


def test_malformed_json_names_file_and_position(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[\n {"id": "1", "price": 10,}\n]')
    with pytest.raises(ListingFormatError, match=r"broken\.json: malformed JSON at line 2, column 26"):
        read_listings(str(path))


def test_malformed_json_lines_names_the_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"id": "1", "price": 10}\n{"id": "2", "price": }\n')
    with pytest.raises(ListingFormatError, match=r"broken\.jsonl: malformed JSON Lines at line 2"):
        read_listings(str(path))


def test_a_field_in_no_record_is_one_error_naming_the_fields_and_the_flag(tmp_path):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"data": {"homes": [{"key": 1, "cost": {"usd": 5}, "pics": ["a.jpg"]}]}}))
    with pytest.raises(
        ListingFormatError,
        match=r"odd\.json: no record has an id field .*have: cost\.usd, key, pics\. Name it with --id_field",
    ):
        read_listings(str(path))
    listings = read_listings(str(path), id_field="key", price_field="cost.usd", images_field="pics")
    assert [(item.house_id, item.price, item.skip_reason) for item in listings] == [("1", 5.0, None)]


def test_object_without_houses_is_rejected(tmp_path):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"meta": {"count": 2}, "a": [{"x": 1}], "b": [{"y": 2}]}))
    with pytest.raises(ListingFormatError, match="no array of houses found"):
        read_listings(str(path))
