import pytest
from cosmos_datasets.errors import DatasetConfigError
from cosmos_datasets.labels import LabelMap


def test_labels_from_texts_are_sorted_positions():
    labels = LabelMap.from_texts(["fire", "car crash", "fire", "assault"])
    assert labels.names == ["assault", "car crash", "fire"]
    assert labels.ids == {"assault": 0, "car crash": 1, "fire": 2}


def test_mapping_may_share_ids_and_the_first_text_names_the_class():
    labels = LabelMap.from_mapping({"normal": 0, "car crash": 1, "nothing happens": 0})
    assert labels.names == ["normal", "car crash"]
    assert labels.ids["nothing happens"] == 0 and len(labels) == 2


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"a": 0, "b": 2}, "without gaps; no caption maps to 1"),
        ({"a": -1}, "non-negative"),
        ({"a": "0"}, "integer"),
    ],
)
def test_bad_mappings_are_config_errors(mapping, message):
    with pytest.raises(DatasetConfigError, match=message):
        LabelMap.from_mapping(mapping)
