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


@pytest.mark.parametrize(
    ("text", "suffix"),
    [
        ('{"id": "a", "price": 5, "images": ["a.jpg", "b.jpg"]}', ".json"),
        ('{"zpid": 7, "price": "$5", "photos": [{"url": "a.jpg"}, {"url": "b.jpg"}]}\n', ".jsonl"),
        ('{"id": "a", "price": 5, "images": ["a.jpg"], "rooms": [{"name": "kitchen"}, {"name": "bath"}]}', ".json"),
    ],
    ids=["object", "one-line-json-lines", "object-holding-an-array"],
)
def test_a_lone_house_is_a_listing_of_one(tmp_path, text, suffix):
    path = tmp_path / f"house{suffix}"
    path.write_text(text)
    (listing,) = read_listings(str(path))
    assert (listing.price, listing.skip_reason) == (5.0, None) and len(listing.photos) >= 1


def test_an_object_holding_houses_is_not_read_as_one_house(tmp_path):
    path = tmp_path / "page.json"
    houses = [{"id": str(index), "price": 5, "images": ["a.jpg"]} for index in range(3)]
    path.write_text(json.dumps({"id": "search-1", "images": ["logo.png"], "results": houses}))
    assert [listing.house_id for listing in read_listings(str(path))] == ["0", "1", "2"]
    unknown_ids = [{"listingKey": str(index), "photos": ["a.jpg"]} for index in range(3)]
    path.write_text(json.dumps({"id": "search-1", "image": "logo.png", "results": unknown_ids}))
    with pytest.raises(ListingFormatError, match=r"no record has an id field .*have: listingKey, photos"):
        read_listings(str(path), require_price=False)


def test_a_lone_house_holding_its_neighbours_is_read_as_itself(tmp_path):
    path = tmp_path / "detail.json"
    neighbours = [{"zpid": 222, "price": 600_000, "imgSrc": "n1.jpg"}, {"zpid": 333, "price": 1, "imgSrc": "n2.jpg"}]
    path.write_text(json.dumps({"zpid": 111, "price": 700_000, "photos": ["a.jpg"], "nearbyHomes": neighbours}))
    assert [(listing.house_id, listing.price) for listing in read_listings(str(path))] == [("111", 700_000.0)]


@pytest.mark.parametrize(
    "neighbours_at",
    [("nearbyHomes",), ("comps", "results"), ("data", "similarHomes")],
    ids=lambda keys: ".".join(keys),
)
def test_an_unpriced_detail_page_is_read_as_itself_not_as_its_priced_neighbours(tmp_path, neighbours_at):
    path = tmp_path / "detail.json"
    page = {"zpid": 111, "photos": ["a.jpg"]}
    node = page
    for key in neighbours_at[:-1]:
        node = node.setdefault(key, {})
    node[neighbours_at[-1]] = [{"zpid": n, "price": 600_000, "imgSrc": "n.jpg"} for n in (222, 333)]
    path.write_text(json.dumps(page))
    assert [(listing.house_id, listing.price) for listing in read_listings(str(path), require_price=False)] == [
        ("111", None)
    ]
    with pytest.raises(ListingFormatError, match="no record has a price field"):
        read_listings(str(path))


@pytest.mark.parametrize(
    ("house", "reason"),
    [
        ({"zpid": 1, "price": 5, "pictures": [{"url": "a.jpg"}]}, r"no record has a photo field .* --images_field"),
        ({"zpid": 1, "price": 5, "photos": [], "rooms": [{"name": "hall", "area": 9}]}, None),
    ],
    ids=["photos-under-another-name", "no-photos"],
)
def test_a_lone_house_without_usable_photos_is_named_as_one_house(tmp_path, house, reason):
    path = tmp_path / "house.json"
    path.write_text(json.dumps(house))
    if reason:
        with pytest.raises(ListingFormatError, match=reason):
            read_listings(str(path))
    else:
        assert [listing.skip_reason for listing in read_listings(str(path))] == ["no photos"]


def test_a_local_listing_reads_protocol_relative_photos_as_https(tmp_path):
    path = tmp_path / "houses.json"
    path.write_text(json.dumps([{"id": "a", "price": 5, "images": ["//cdn.example.com/a.jpg", "b.jpg"]}]))
    (listing,) = read_listings(str(path))
    assert listing.photos == ["https://cdn.example.com/a.jpg", str(tmp_path / "b.jpg")]


def test_an_empty_export_says_so(tmp_path):
    path = tmp_path / "houses.json"
    path.write_text("[]")
    with pytest.raises(ListingFormatError, match=r"houses\.json: no houses \(an empty array\)"):
        read_listings(str(path))


def test_an_id_too_large_for_a_json_number_says_so(tmp_path):
    path = tmp_path / "houses.json"
    path.write_text(json.dumps([{"id": 1e20, "price": 5, "images": ["a.jpg"]}]))
    expected = "bad id (1e+20, a number too large to be exact; write ids as strings)"
    assert read_listings(str(path))[0].problem == expected
