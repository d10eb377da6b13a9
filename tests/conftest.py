"""Options for the hardware tests: ``pytest -m pluto --pluto-uri ip:192.168.2.1`` (hardware/README.md)."""

import pytest


def pytest_addoption(parser):
    parser.addoption("--pluto-uri", default=None,
                     help="run the PlutoSDR hardware tests against this radio (TX -> 30 dB attenuator -> RX cable)")


@pytest.fixture
def pluto_uri(request):
    uri = request.config.getoption("--pluto-uri")
    if not uri:
        pytest.skip("needs a PlutoSDR: pytest -m pluto --pluto-uri URI (a TX -> attenuator -> RX cable)")
    return uri
