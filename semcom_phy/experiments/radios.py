"""Radios on the command line: hardware presets (a Pluto's, or a SoapySDR / UHD radio's) and
``--device ARGS`` read as a radio's device string where it is one."""

from __future__ import annotations

import sys

from . import config as C


PRESET_FIXED = ("sample_rate_hz", "rf_bandwidth_hz")       # the OFDM grid's


def load_preset(name: str) -> dict:
    """A hardware preset, checked by name: the transport it sets (``{"kind": "pluto", "radio":
    PlutoConfig fields}``, or for a preset with ``link: soapy`` / ``uhd`` ``{"kind": link, "sdr":
    SdrConfig fields}``)."""
    import yaml

    from ..resources import preset_path
    from ..transport.pluto import PlutoConfig
    from ..transport.sdr import SDR_LINKS, SdrConfig

    path = preset_path(name)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"--preset {path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ValueError(f"--preset {path}: expected a mapping of PlutoConfig (or, with link: soapy / uhd, "
                         "SdrConfig) fields")
    data.pop("description", None)
    kind = data.pop("link", "pluto")
    if kind not in ("pluto",) + SDR_LINKS:
        raise ValueError(f"--preset {path}: link = {kind!r}: allowed pluto (the default), {', '.join(SDR_LINKS)}")
    for key in PRESET_FIXED:
        if key in data and data[key] != C.LoopbackConfig().link.ofdm.sample_rate_hz:
            raise ValueError(f"{path}: {key} = {data[key]}: the radios run at the OFDM grid's rate (set "
                             "link.ofdm.sample_rate_hz in --config to change it)")
    cls = PlutoConfig if kind == "pluto" else SdrConfig
    try:
        C.load(cls, data, where=f"{path}")
    except (ValueError, TypeError) as err:
        raise ValueError(f"--preset {path}: {err}") from None
    return {"kind": kind, "radio" if kind == "pluto" else "sdr": data}


def sdr_device_alias(argv) -> list[str]:
    """The command line with ``--device ARGS`` spelled ``--sdr-device ARGS`` where ARGS is a radio's
    device string: it holds '=' (``driver=hackrf``, ``type=b200``), or it is no torch device and
    ``--link soapy`` / ``uhd`` is given (``hackrf``: then the config names what is missing).
    ``--device auto|cpu|cuda`` stays the torch device."""
    argv = list(sys.argv[1:] if argv is None else argv)
    sdr_link = any(a in (f"--link={k}" for k in C.SDR_LINKS) or a == "--link" and b in C.SDR_LINKS
                   for a, b in zip(argv, argv[1:] + [""]))

    def radio(value: str) -> bool:
        return "=" in value or sdr_link and value not in C.DEVICES

    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out += argv[i:]
            break
        if arg == "--device" and i + 1 < len(argv) and radio(argv[i + 1]):
            out += ["--sdr-device", argv[i + 1]]
            i += 2
            continue
        out.append("--sdr-device=" + arg[len("--device="):] if arg.startswith("--device=") and
                   radio(arg[len("--device="):]) else arg)
        i += 1
    return out
