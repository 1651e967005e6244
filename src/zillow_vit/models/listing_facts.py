"""Listing facts (area, zip code, ...) as tokens of the house encoder, read beside a house's photo vectors.

`config.listing_facts` declares the facts a model reads, in order (see `HouseTierConfig`): per fact its `name`,
export `path` and `kind`, and what the training split taught: `mean`/`std` (and `log`) of a number, `vocabulary`
of a category. Everything here reads that list and nothing else, so a saved model needs no other file.

- `ListingFactEncoder`: the facts of houses (`{name: value}` dicts; absent or None is missing) → the model inputs
  `fact_values` and `fact_codes`. The training transform, `predict.py` and the pipeline all call it.
- `ListingFactTokenizer`: those inputs → one token per fact (a feature tokenizer): a number's learned vector scaled
  by its standardised value, a category's learned embedding (with an unknown value), a learned "missing" embedding
  per fact; each plus the fact's own learned field embedding (the number token's bias).

Imported relatively by the config, modeling and pipeline files, so it ships with them as Hub custom code.
"""

import math

import torch
from torch import nn

FACT_KINDS = ("number", "category")
MISSING_CODE = -1  # `fact_codes` of a missing category; 0 is the unknown value, 1.. the vocabulary in order
UNKNOWN_CODE = 0
FLOAT32_MAX = float(torch.finfo(torch.float32).max)  # a fact beyond it is not finite, so missing
Z_LIMIT = 5.0  # standardised numbers are clipped to [-5, 5]: one mistyped listing cannot swamp its house


def check_listing_facts(listing_facts: list[dict]) -> list[dict]:
    """The facts of a config, checked (unique names, known kinds, the statistics each kind needs) and with numbers
    as floats; an error names the fact and what is wrong."""
    checked, names = [], set()
    for fact in listing_facts:
        name = fact.get("name")
        if not isinstance(name, str) or not name or name in names:
            raise ValueError(f"listing_facts: every fact needs a unique name, got {fact}")
        names.add(name)
        if fact.get("kind") not in FACT_KINDS:
            raise ValueError(f"listing_facts: {name}'s kind must be one of {FACT_KINDS}, got {fact.get('kind')!r}")
        if not isinstance(fact.get("path"), str):
            raise ValueError(f"listing_facts: {name} needs the path it is read from in a listing export")
        if fact["kind"] == "number":
            if not (math.isfinite(fact.get("mean", math.nan)) and fact.get("std", 0) > 0):
                raise ValueError(f"listing_facts: number {name} needs a finite mean and a positive std, got {fact}")
            fact = {**fact, "mean": float(fact["mean"]), "std": float(fact["std"]), "log": bool(fact.get("log"))}
        else:
            vocabulary = fact.get("vocabulary")
            if not isinstance(vocabulary, list) or not all(isinstance(value, str) for value in vocabulary):
                raise ValueError(f"listing_facts: category {name} needs a vocabulary (a list of text), got {fact}")
            if len(set(vocabulary)) != len(vocabulary):
                raise ValueError(f"listing_facts: category {name}'s vocabulary repeats a value")
        checked.append(fact)
    return checked


class ListingFactEncoder:
    """Facts of houses → `fact_values` float `(houses, facts)`, a number as given (NaN: missing), and `fact_codes`
    long `(houses, facts)`, a category's code (-1 missing, 0 unknown value, 1.. its place in the vocabulary); each
    tensor holds 0 at the other kind's columns. Columns follow `listing_facts`. A house's facts are a dict (or None):
    a fact absent or None is missing; a key that is no fact of the model is an error naming it. A model without facts
    gives no tensors at all."""

    def __init__(self, listing_facts: list[dict]):
        self.listing_facts = listing_facts
        self.codes = [
            {value: code for code, value in enumerate(fact["vocabulary"], start=1)}
            for fact in listing_facts
            if fact["kind"] == "category"
        ]

    @property
    def names(self) -> list[str]:
        return [fact["name"] for fact in self.listing_facts]

    def __call__(self, houses: list[dict | None]) -> dict[str, torch.Tensor]:
        for facts in houses:
            unknown = sorted(set(facts or {}) - set(self.names))
            if unknown:
                raise ValueError(
                    f"Unknown listing facts {unknown}: this model reads {self.names or 'no facts'} (config.listing_facts)"
                )
        if not self.listing_facts:
            return {}
        values = torch.zeros(len(houses), len(self.listing_facts), dtype=torch.float32)
        codes = torch.zeros(len(houses), len(self.listing_facts), dtype=torch.long)
        for row, facts in enumerate(houses):
            categories = iter(self.codes)
            for column, fact in enumerate(self.listing_facts):
                value = (facts or {}).get(fact["name"])
                if fact["kind"] == "number":
                    values[row, column] = number_value(fact["name"], value)
                else:
                    codes[row, column] = category_code(fact["name"], value, next(categories))
        return {"fact_values": values, "fact_codes": codes}


def number_value(name: str, value) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"Listing fact {name} is a number; got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"Listing fact {name} is a number; got {value!r}") from None
    except OverflowError:  # an integer past a float's range
        return math.inf if value > 0 else -math.inf
    if abs(number) > FLOAT32_MAX:  # beyond float32: not finite, as the model reads it
        return math.copysign(math.inf, number)
    return number


def category_code(name: str, value, codes: dict[str, int]) -> int:
    if value is None:
        return MISSING_CODE
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"Listing fact {name} is a category (text); got {value!r}")
    return codes.get(str(value), UNKNOWN_CODE)


class ListingFactTokenizer(nn.Module):
    """`fact_values`, `fact_codes` `(batch, facts)` (see `ListingFactEncoder`; None: every fact missing) → one token
    per fact `(batch, facts, hidden_size)`.

    A number is standardised with the config's training statistics (its logarithm first when `log`; a value that is
    not finite there, NaN or <= 0 under `log`, is missing), clipped to ±`Z_LIMIT`, and scales its learned vector. A
    category looks up its embedding table (row 0: a value outside the vocabulary). A missing fact of either kind is
    its learned missing embedding. Every token adds its fact's field embedding, so facts stay told apart.
    """

    def __init__(self, config):
        super().__init__()
        facts = config.listing_facts
        self.number_columns = [column for column, fact in enumerate(facts) if fact["kind"] == "number"]
        self.category_columns = [column for column, fact in enumerate(facts) if fact["kind"] == "category"]
        numbers = [facts[column] for column in self.number_columns]
        self.means = [fact["mean"] for fact in numbers]
        self.stds = [fact["std"] for fact in numbers]
        self.logs = [fact["log"] for fact in numbers]
        table_sizes = [1 + len(facts[column]["vocabulary"]) for column in self.category_columns]
        self.category_offsets = [sum(table_sizes[:index]) for index in range(len(table_sizes))]
        self.field_embeddings = nn.Parameter(torch.zeros(len(facts), config.hidden_size))
        self.missing_embeddings = nn.Parameter(torch.zeros(len(facts), config.hidden_size))
        self.number_vectors = nn.Parameter(torch.zeros(len(numbers), config.hidden_size)) if numbers else None
        self.category_embeddings = nn.Embedding(sum(table_sizes), config.hidden_size) if table_sizes else None

    def forward(
        self, fact_values: torch.Tensor | None, fact_codes: torch.Tensor | None, batch_size: int
    ) -> torch.Tensor:
        device, num_facts = self.field_embeddings.device, self.field_embeddings.shape[0]
        if fact_values is None:
            fact_values = torch.full((batch_size, num_facts), math.nan, device=device)
        if fact_codes is None:
            fact_codes = torch.full((batch_size, num_facts), MISSING_CODE, device=device)
        if fact_values.shape != (batch_size, num_facts) or fact_codes.shape != (batch_size, num_facts):
            raise ValueError(
                f"fact_values and fact_codes must be (batch, facts) = {(batch_size, num_facts)}, got "
                f"{tuple(fact_values.shape)} and {tuple(fact_codes.shape)} (see config.listing_facts)"
            )
        fact_values, fact_codes = fact_values.to(device, torch.float32), fact_codes.to(device)
        content = self.field_embeddings.new_zeros(batch_size, num_facts, self.field_embeddings.shape[1])
        missing = fact_codes == MISSING_CODE
        if self.number_vectors is not None:
            values = fact_values[:, self.number_columns]
            values = torch.where(values.new_tensor(self.logs, dtype=torch.bool), values.log(), values)
            missing[:, self.number_columns] = ~values.isfinite()
            standardised = ((values - values.new_tensor(self.means)) / values.new_tensor(self.stds)).clamp(
                -Z_LIMIT, Z_LIMIT
            )
            content[:, self.number_columns] = standardised.nan_to_num(0.0).to(content.dtype)[..., None] * (
                self.number_vectors
            )
        if self.category_embeddings is not None:
            rows = fact_codes[:, self.category_columns].clamp(min=UNKNOWN_CODE) + fact_codes.new_tensor(
                self.category_offsets
            )
            content[:, self.category_columns] = self.category_embeddings(rows)
        content = torch.where(missing[..., None], self.missing_embeddings, content)
        return self.field_embeddings + content


__all__ = ["ListingFactEncoder", "ListingFactTokenizer", "check_listing_facts"]
