import copy
import json

import numpy as np
import pytest

from medpipe import bundles
from medpipe.bundles import (
    bundles_root,
    case_datalist,
    describe_bundle,
    list_bundles,
    resolve_bundle,
    validate_metadata,
    write_layout_case,
)
from medpipe.schemas import load_schema, schema_path

LAYOUT = {
    "images": {"t1": "{case_id}/{case_id}_t1.nii.gz", "flair": "{case_id}/{case_id}_flair.nii.gz"},
    "label": "{case_id}/{case_id}_seg.nii.gz",
}
TENSOR = {"type": "image", "format": "magnitude", "num_channels": 1, "spatial_shape": [5, 6, 7],
          "dtype": "float32", "value_range": [0, 1]}
METADATA = {
    "schema": "https://example.invalid/meta_schema_20240725.json",
    "version": "0.1.0",
    "monai_version": "1.6.1",
    "pytorch_version": "2.13.0",
    "numpy_version": "2.4.6",
    "required_packages_version": {"medpipe": "0.1.0"},
    "task": "test task",
    "description": "a test bundle",
    "authors": "tests",
    "copyright": "tests",
    "network_data_format": {"inputs": {"image": TENSOR}, "outputs": {"pred": TENSOR}},
}


def _bundle(root, name="toy", metadata=METADATA):
    (root / name / "configs").mkdir(parents=True)
    (root / name / "configs" / "metadata.json").write_text(json.dumps(metadata))
    return root / name


def test_shipped_schema_states_monai_2024_07_25_requirements():
    schema = load_schema()
    assert schema_path().name == "meta_schema_20240725.json"
    assert set(schema["required"]) == {
        "schema", "version", "monai_version", "pytorch_version", "numpy_version",
        "required_packages_version", "task", "description", "authors", "copyright", "network_data_format",
    }
    assert schema["$defs"]["network_io"]["required"] == ["inputs", "outputs"]
    assert set(schema["$defs"]["tensor"]["required"]) == {
        "type", "format", "num_channels", "spatial_shape", "dtype", "value_range"
    }


def test_unknown_schema_name_is_refused():
    with pytest.raises(ValueError, match="`name` must be one of the shipped schemas"):
        schema_path("nope.json")


def test_valid_metadata_passes_and_monai_verify_agrees(tmp_path):
    from monai.bundle import verify_metadata

    path = _bundle(tmp_path) / "configs" / "metadata.json"
    assert validate_metadata(path)["task"] == "test task"
    verify_metadata(meta_file=str(path), filepath=str(schema_path()))  # offline: file exists


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.pop("required_packages_version"), "'required_packages_version' is a required property"),
        (lambda m: m.update(version=1), r"at version: 1 is not of type 'string'"),
        (lambda m: m["network_data_format"]["inputs"]["image"].pop("dtype"), r"at network_data_format/inputs/image"),
        (lambda m: m["network_data_format"]["inputs"].update(kspace=m["network_data_format"]["inputs"].pop("image")),
         r"network_data_format.inputs.image"),
        (lambda m: m["network_data_format"]["outputs"].update(out=m["network_data_format"]["outputs"].pop("pred")),
         r"network_data_format.outputs.pred"),
    ],
)
def test_invalid_metadata_is_refused_naming_the_problem(tmp_path, edit, message):
    metadata = copy.deepcopy(METADATA)
    edit(metadata)
    with pytest.raises(ValueError, match=message):
        validate_metadata(_bundle(tmp_path, metadata=metadata))


def test_unreadable_metadata(tmp_path):
    with pytest.raises(ValueError, match="must be a metadata.json file or bundle folder"):
        validate_metadata(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match="must be valid JSON"):
        validate_metadata(bad)


def test_resolve_list_and_describe(tmp_path, monkeypatch):
    path = _bundle(tmp_path, "toy_bundle")
    monkeypatch.setenv("MEDPIPE_BUNDLES", str(tmp_path))
    assert bundles_root() == tmp_path
    assert resolve_bundle("toy_bundle") == path.resolve()
    assert resolve_bundle(path) == path.resolve()
    with pytest.raises(ValueError, match="did you mean toy_bundle"):
        resolve_bundle("toy_bundel")
    [info] = list_bundles()
    assert (info.name, info.version) == ("toy_bundle", "0.1.0")
    assert info.inputs == {"image": TENSOR} and info.outputs == {"pred": TENSOR}
    assert describe_bundle("toy_bundle") == info


def test_missing_bundles_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDPIPE_BUNDLES", str(tmp_path / "none"))
    with pytest.raises(ValueError, match="bundles folder must exist.*MEDPIPE_BUNDLES"):
        bundles_root()


def test_repository_bundles_are_listed():
    names = [b.name for b in list_bundles()]
    assert "brats_mri_revunet_segmentation" in names


def _write(tmp_path, case_ids, with_label=True):
    rng = np.random.default_rng(0)
    for case_id in case_ids:
        arrays = {"t1": rng.random((5, 6, 7), dtype=np.float32), "flair": rng.random((5, 6, 7), dtype=np.float32)}
        if with_label:
            arrays["label"] = np.zeros((5, 6, 7), np.uint8)
        write_layout_case(tmp_path, case_id, arrays, np.diag([1.0, 2.0, 3.0, 1.0]), LAYOUT)


def test_layout_round_trip(tmp_path):
    import nibabel as nib

    _write(tmp_path, ["b_02", "a_01"])
    datalist = case_datalist(tmp_path, LAYOUT)
    assert [item["case_id"] for item in datalist] == ["a_01", "b_02"]
    assert datalist[0]["flair"] == str(tmp_path / "a_01" / "a_01_flair.nii.gz")
    image = nib.load(datalist[1]["t1"])
    assert image.shape == (5, 6, 7)
    np.testing.assert_allclose(image.affine, np.diag([1.0, 2.0, 3.0, 1.0]))


def test_case_without_label(tmp_path):
    _write(tmp_path, ["c"], with_label=False)
    assert "label" not in case_datalist(tmp_path, LAYOUT, require_label=False)[0]
    with pytest.raises(ValueError, match=r"case 'c' .* must have its label file"):
        case_datalist(tmp_path, LAYOUT)


def test_case_missing_a_modality(tmp_path):
    _write(tmp_path, ["d"])
    (tmp_path / "d" / "d_flair.nii.gz").unlink()
    with pytest.raises(ValueError, match=r"case 'd' .* must have its flair file '\{case_id\}/\{case_id\}_flair.nii.gz'"):
        case_datalist(tmp_path, LAYOUT)


def test_datalist_errors(tmp_path):
    with pytest.raises(ValueError, match="`dataset_dir` must be an existing folder"):
        case_datalist(tmp_path / "none", LAYOUT)
    with pytest.raises(ValueError, match="`dataset_dir` must contain cases laid out as"):
        case_datalist(tmp_path, LAYOUT)
    with pytest.raises(ValueError, match="`layout` must be a mapping with an 'images' mapping"):
        case_datalist(tmp_path, {"label": "x"})
    with pytest.raises(ValueError, match=r"`layout` pattern for 't1' must contain \{case_id\}"):
        case_datalist(tmp_path, {"images": {"t1": "t1.nii.gz"}})


def test_write_layout_case_checks_keys(tmp_path):
    with pytest.raises(ValueError, match="`arrays` must have exactly the layout keys"):
        write_layout_case(tmp_path, "x", {"t1": np.zeros((5, 6, 7))}, np.eye(4), LAYOUT)


def test_bundles_command_lists_inputs_and_outputs(tmp_path, monkeypatch, capsys):
    from medpipe import cli

    _bundle(tmp_path, "toy_bundle")
    monkeypatch.setenv("MEDPIPE_BUNDLES", str(tmp_path))
    assert cli.main(["bundles"]) == 0
    out = capsys.readouterr().out
    assert "toy_bundle" in out and "input image: image float32 1 ch [5 x 6 x 7]" in out and "output pred" in out
    assert cli.main(["bundles", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["inputs"] == {"image": TENSOR}


def test_bundles_command_reports_a_bad_root(tmp_path, capsys):
    from medpipe import cli

    assert cli.main(["bundles", "--root", str(tmp_path / "none")]) == 1
    assert "`root` must be a folder holding bundles" in capsys.readouterr().err
