import pytest

from medpipe import cli


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ["demo", "run", "scan", "convert", "metrics", "bundles", "report"]:
        assert name in out


def test_no_command_prints_help_and_exits_1(capsys):
    assert cli.main([]) == 1
    assert "COMMAND" in capsys.readouterr().out


def test_usage_error_exits_1():
    with pytest.raises(SystemExit) as exc:
        cli.main(["scan"])
    assert exc.value.code == 1
