import pytest

from onnxnet.errors import UnknownNameError
from onnxnet.registry import Registry


def test_registry_register_get_and_clear_error():
    reg: Registry[type] = Registry("widget")

    @reg.register("Foo")
    class Foo:
        pass

    assert reg.get("foo") is Foo and "FOO" in reg and reg.names() == ["foo"]
    with pytest.raises(UnknownNameError, match="unknown widget 'bar'; choose one of: foo"):
        reg.get("bar")


def test_cli_help_runs():
    from onnxnet.cli.main import main

    assert main(["--help"]) == 0
