import importlib

import pytest

PACKAGES = ["medpipe.io", "medpipe.losses", "medpipe.metrics", "medpipe.synthetic", "medpipe.networks"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves_and_dir_lists_it(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None
    assert set(module.__all__) <= set(dir(module))


def test_unknown_name_is_an_attribute_error():
    import medpipe.metrics

    with pytest.raises(AttributeError, match="module 'medpipe.metrics' has no attribute 'nope'"):
        medpipe.metrics.nope  # noqa: B018
