import pytest

from semcom_phy.config import ChannelConfig, ModemConfig, OfdmConfig, PhyConfig, from_dict, to_dict


@pytest.mark.parametrize("kwargs, words", [
    (dict(fft_size=100), ["fft_size", "100", "power of two"]),
    (dict(fft_size=8), ["fft_size", "8", "[16, 4096]"]),
    (dict(cp_length_samples=0), ["cp_length_samples", "0", "[1, 32]"]),
    (dict(cp_length_samples=40), ["cp_length_samples", "40", "[1, 32]"]),
    (dict(pilot_carriers=(-21, 0, 7)), ["pilot_carriers", "not DC"]),
    (dict(pilot_carriers=(-30, 7)), ["pilot_carriers"]),
    (dict(num_guard_carriers=(20, 20)), ["num_guard_carriers", "[0, 16]"]),
    (dict(sample_rate_hz=-1.0), ["sample_rate_hz", "-1.0"]),
])
def test_ofdm_config_errors_name_field_value_and_range(kwargs, words):
    with pytest.raises(ValueError) as err:
        OfdmConfig(**kwargs)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("cls, kwargs, words", [
    (ModemConfig, dict(modulation="8psk"), ["modulation", "8psk", "qpsk"]),
    (ModemConfig, dict(mode="hybrid"), ["mode", "analog", "digital"]),
    (ModemConfig, dict(gap_samples=-5), ["gap_samples", "-5"]),
    (ModemConfig, dict(gap_samples=2.5), ["gap_samples", "integer"]),
    (ModemConfig, dict(detection_threshold=1.5), ["detection_threshold", "[0.03, 0.95]"]),
    (ModemConfig, dict(max_inferred_frames=-1), ["max_inferred_frames", "[0, 1024]"]),
    (ChannelConfig, dict(snr_db=500.0), ["snr_db", "500", "[-30, 100]"]),
    (ChannelConfig, dict(snr_db=float("nan")), ["snr_db", "finite"]),
    (ChannelConfig, dict(multipath="tdl-huge"), ["multipath", "tdl-long"]),
    (ChannelConfig, dict(carrier_frequency_hz=10e9), ["carrier_frequency_hz", "6e+09"]),
])
def test_stage_config_errors(cls, kwargs, words):
    with pytest.raises(ValueError) as err:
        cls(**kwargs)
    for w in words:
        assert w in str(err.value)


def test_defaults_fit_a_pluto_grid():
    cfg = OfdmConfig()
    assert (cfg.fft_size, cfg.cp_length_samples, cfg.num_used_carriers, cfg.num_data_carriers) == (64, 16, 52, 48)
    assert cfg.subcarrier_spacing_hz == pytest.approx(31250.0)
    assert 0 not in cfg.used_carriers


def test_dict_round_trip_and_unknown_keys_rejected():
    cfg = PhyConfig(ofdm=OfdmConfig(cp_length_samples=8), channel=ChannelConfig(snr_db=7.0, multipath="tdl-short"))
    assert from_dict(PhyConfig, to_dict(cfg)) == cfg
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['snr'\]"):
        from_dict(ChannelConfig, {"snr": 3})
    with pytest.raises(ValueError, match=r"PhyConfig.ofdm: unknown key\(s\) \[.fft.\]"):
        from_dict(PhyConfig, {"ofdm": {"fft": 64}})
