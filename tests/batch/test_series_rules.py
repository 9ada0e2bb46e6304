"""Series rules: channel spellings, default rules, --series-map overrides, missing and ambiguous inputs."""

import json

import pytest

from medpipe.batch.series_rules import canonical_channel, default_channels, default_rules, load_rules, match_series

BRATS = ("t1", "t1ce", "t2", "flair")


def tags(description, number, image_type=("ORIGINAL", "PRIMARY", "AXIAL"), modality="MR"):
    return {"SeriesDescription": description, "SeriesNumber": str(number), "ImageType": list(image_type), "Modality": modality}


@pytest.mark.parametrize(
    "spelling, expected",
    [("T1", "t1"), ("t1n", "t1"), ("T1w", "t1"), ("T1Gd", "t1ce"), ("t1c", "t1ce"), ("T1ce", "t1ce"),
     ("T2w", "t2"), ("FLAIR", "flair"), ("t2f", "flair"), ("T2-FLAIR", "flair"), ("CT image", "ctimage")],
)
def test_canonical_channel(spelling, expected):
    assert canonical_channel(spelling) == expected


def test_default_channels():
    assert default_channels("x", {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"}, 4) == ("flair", "t1", "t1ce", "t2")
    assert default_channels("brats_mri_revunet_segmentation", {}, 4) == BRATS
    assert default_channels("btcv_ct", {"0": "CT"}, 1) == ("image",)
    assert default_channels("other", {}, 2) == ("0000", "0001")


@pytest.mark.parametrize(
    "descriptions",
    [
        ["T1 AX", "T1 AX POST GD", "T2 AX", "AX FLAIR"],
        ["t1_mprage", "t1_mprage_+C", "T2W_TSE", "T2-FLAIR"],
        ["T1W", "T1 contrast", "T2", "FLAIR 3D"],
    ],
)
def test_brats_series_are_matched_and_localizer_and_extra_left_out(descriptions):
    series = [tags("3-plane Localizer", 1, ("ORIGINAL", "PRIMARY", "LOCALIZER"))]
    series += [tags(d, i + 2) for i, d in enumerate(descriptions)] + [tags("DWI b1000", 9)]
    chosen, problems, notes = match_series(series, default_rules(BRATS), BRATS)
    assert problems == []
    assert chosen == {"t1": 1, "t1ce": 2, "t2": 3, "flair": 4}
    assert any("Localizer" in n and "excluded" in n for n in notes)
    assert any("DWI" in n and "matches no input" in n for n in notes)


def test_missing_and_ambiguous_are_reported_not_guessed():
    series = [tags("T1 AX", 2), tags("T1 SAG", 3), tags("T2 AX", 4), tags("AX FLAIR", 5)]
    chosen, problems, _ = match_series(series, default_rules(BRATS), BRATS)
    assert "t1" not in chosen
    assert any(p.startswith("ambiguous: 2 series match input 't1'") and "T1 SAG" in p for p in problems)
    assert "no series matches input 't1ce'" in problems


def test_single_input_matches_by_modality():
    rules = default_rules(("image",), "CT")
    chosen, problems, _ = match_series([tags("Scout", 1, modality="CT"), tags("ABD 2.5mm", 2, modality="CT")], rules, ("image",))
    assert chosen == {"image": 1} and problems == []


def test_series_map_overrides_an_input(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"inputs": {"t1": {"SeriesDescription": "sag"}}}))
    rules = load_rules(path, BRATS, default_rules(BRATS))
    series = [tags("T1 AX", 2), tags("T1 SAG", 3), tags("T1 AX POST GD", 4), tags("T2 AX", 5), tags("AX FLAIR", 6)]
    chosen, problems, _ = match_series(series, rules, BRATS)
    assert problems == [] and chosen["t1"] == 1 and chosen["t1ce"] == 2


def test_load_rules_errors(tmp_path):
    base = default_rules(BRATS)
    with pytest.raises(ValueError, match="`--series-map` must be an existing JSON file"):
        load_rules(tmp_path / "absent.json", BRATS, base)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="`--series-map` must be valid JSON"):
        load_rules(bad, BRATS, base)
    bad.write_text(json.dumps({"series": {}}))
    with pytest.raises(ValueError, match="must be an object with keys 'exclude' and/or 'inputs'"):
        load_rules(bad, BRATS, base)
    bad.write_text(json.dumps({"inputs": {"dwi": {"SeriesDescription": "dwi"}}}))
    with pytest.raises(ValueError, match="input names must be among the bundle's inputs"):
        load_rules(bad, BRATS, base)
    bad.write_text(json.dumps({"inputs": {"t1": {"SeriesDescription": "t1("}}}))
    with pytest.raises(ValueError, match="must be a regular expression"):
        load_rules(bad, BRATS, base)
