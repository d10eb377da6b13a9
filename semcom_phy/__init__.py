"""semcom_phy: secure semantic communication over real radios.

    from semcom_phy import Link, LinkConfig, load_test_images, transports

    images, labels = load_test_images(64)               # float32 [64, 1, 28, 28] in [0, 1], int64 [64]
    link = Link.from_config(LinkConfig(defense="latent"), transports.sim("awgn", snr_db=10))
    out = link.run(images)                              # LinkOutput: x_hat, logits, z_hat, no_eff ...
    print(out.metrics(images, labels))                  # accuracy, PSNR, SSIM, EVM, frames ...

The names below are imported on first use (PEP 562), so ``import semcom_phy`` is instant and
torch loads only with the models. Experiments (loopback, record, replay, compare) are functions
of :mod:`semcom_phy.experiments`; ``python -m semcom_phy <command> --help`` runs them.
"""

from ._lazy import attach

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = attach(__name__, {
    "Link": ".link", "LinkOutput": ".link",
    "LinkConfig": ".experiments.config", "TransportConfig": ".experiments.config",
    "LoopbackConfig": ".experiments.config", "RecordConfig": ".experiments.config",
    "OfdmConfig": ".config", "ModemConfig": ".config", "ChannelConfig": ".config",
    "DefenseConfig": ".purify.config", "AttackConfig": ".attacks.config", "PlutoConfig": ".transport.pluto",
    "load_codec": ".semantic.weights", "load_defense": ".purify.defense", "pick_device": ".semantic.weights",
    "load_test_images": ".data",
    "run_loopback": ".experiments.loopback", "record": ".experiments.record", "replay": ".experiments.replay",
    "SymbolLink": ".symbol_link",
    "transports": ".transports", "experiments": ".experiments",
})
