"""The named mutations of scripts/mutation_test.py still apply: each snippet occurs exactly once in the file it edits
(a stale one would be skipped, and the behaviour it guards silently left unchecked)."""

import os

import pytest

from conftest import SCRIPTS_DIR, load_script

CATALOGUE = load_script("mutation_test")
REPO = os.path.dirname(SCRIPTS_DIR)
MUTATIONS = [mutation for target in CATALOGUE.TARGETS.values() for mutation in target.mutations]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[mutation.name for mutation in MUTATIONS])
def test_every_mutation_edits_one_place_of_the_current_code(mutation):
    with open(os.path.join(REPO, mutation.path), encoding="utf-8") as handle:
        assert handle.read().count(mutation.old) == 1, f"{mutation.name}: its snippet is not once in {mutation.path}"
    for test in mutation.tests:
        assert os.path.isfile(os.path.join(REPO, test.split("::")[0])), test


def test_every_module_s_tests_exist():
    for name, target in CATALOGUE.TARGETS.items():
        for test in target.tests:
            assert os.path.isfile(os.path.join(REPO, test.split("::")[0])), (name, test)
