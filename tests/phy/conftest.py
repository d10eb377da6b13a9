import numpy as np
import pytest

from semcom_phy.config import ModemConfig, OfdmConfig


@pytest.fixture
def ofdm():
    return OfdmConfig()


def random_payloads(mode: str, num: int, size: int, rng: np.random.Generator):
    """analog: unit-power complex Gaussian symbols; digital: random bytes."""
    if mode == "digital":
        return [rng.bytes(size) for _ in range(num)]
    z = rng.standard_normal((num, size)) + 1j * rng.standard_normal((num, size))
    return list((z / np.sqrt(2)).astype(np.complex64))


def modem(**kw) -> ModemConfig:
    return ModemConfig(**kw)
