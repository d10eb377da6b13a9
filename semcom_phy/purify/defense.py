"""The defense switch: what the sender does before the channel and the receiver after it.

===========  ============================  ===================================================
defense      sender                        receiver
===========  ============================  ===================================================
none         encode                        decode, classify
receiver     encode                        latent denoising from t*(no_eff), decode, classify
                                           (CDDM-style, no sender diffusion)
latent       encode, diffuse symbols to    latent denoising from t*(sender + no_eff), decode,
             t_s (power stays 1)           classify
image        diffuse the image to t_s,     decode, image denoising from t* (``image_step``,
             encode (image codec)          default t_s; DiffPure), classify
median       encode                        decode, 3x3 median filter, classify (the classic
                                           input-filter baseline)
advtrain     encode (adversarially         decode, classify (the adversarial-training
             trained codec)                baseline, ``scripts/train_adversarial.py``)
advtrain_t1  encode (codec adversarially   decode, classify (air attacks are left to
             trained against image         ``scramble``; ``train_adversarial.py
             attacks only)                 --psr-db=-inf``)
smoothed     encode                        randomized smoothing (Cohen et al. 2019): ``votes``
                                           noisy copies z_hat + CN(0, sigma_r^2), each decoded
                                           at no_eff + sigma_r^2 and classified; PREDICT votes
                                           or abstains (:mod:`semcom_phy.certify`)
===========  ============================  ===================================================

With ``votes`` K > 1 the receiver purifies each received vector K times with independent noise
(stochastic sampling), classifies every result and takes the majority vote; the reconstruction is
the mean of the K images.

The ``smoothed`` receiver's reconstruction is the plain decoder's at z_hat with the channel's
no_eff (the image the link delivers: smoothing decides the class only); its scores are PREDICT's
vote counts per class, shifted by ``-(votes + 1)`` (every entry negative) where it abstains
(:meth:`Defense.predictions` reads the class or ``ABSTAIN`` from them). The vote has no gradient:
attacks go through :meth:`Defense.single_vote`, one draw of the base classifier per call (EOT over
the smoothing noise, as :class:`~semcom_phy.certify.SmoothedLink`).

With ``scramble`` any of them also scrambles the transmitted symbols with a secret ``key``
(:mod:`.scramble`): the link applies it after :meth:`Defense.encode` and undoes it before
:meth:`Defense.decode`.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import torch

from ..certify.smoothing import ABSTAIN, predict, smoothing_noise
from ..semantic import SemanticCodec
from ..semantic.inference import InferenceCodec
from ..semantic.weights import WEIGHTS_DIR, WeightsError, load_codec, load_model
from .config import ADVTRAIN, DEFENSES, NO_DENOISER, DefenseConfig  # noqa: F401 (DEFENSES: re-exported)
from .models import ImageUNet, ImageUNetConfig, LatentDenoiser, LatentDenoiserConfig
from .purifier import diffuse_image, diffuse_latent, purify_image, purify_latent
from .schedule import NoiseSchedule

NUM_CLASSES = 10          # the classifier's classes (Fashion-MNIST)
SMOOTHED_BATCH = 2048     # noisy copies per decoder call of the smoothed receiver (bounds its memory)


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """np.interp for torch (xp increasing), clamped at the ends."""
    i = torch.searchsorted(xp, x.clamp(xp[0], xp[-1])).clamp(1, len(xp) - 1)
    w = (x - xp[i - 1]) / (xp[i] - xp[i - 1])
    return fp[i - 1] + w * (fp[i] - fp[i - 1])


class Defense:
    """The models a defense needs, on one device.

    codec: the link's codec; own_codec: the codec this defense uses at both ends instead (image: a
    copy fine-tuned to carry diffused images; advtrain, advtrain_t1: an adversarially trained one);
    denoiser: the latent denoiser (``receiver``, ``latent``) or the image UNet (``image``), trained on
    ``schedule``; residual_var: the latent denoiser's measured residual error per starting step
    (``{"t": [...], "var": [...], "var_stochastic": [...]}``, from its manifest), which the decoder
    gets as the purified symbols' ``no_eff``.
    """

    one_draw = False      # smoothed: decode one draw of the base classifier (single_vote), not PREDICT

    def __init__(self, cfg: DefenseConfig, codec: SemanticCodec, schedule: NoiseSchedule | None = None,
                 denoiser: torch.nn.Module | None = None, residual_var: dict | None = None,
                 own_codec: SemanticCodec | None = None):
        self.cfg, self.codec, self.schedule, self.denoiser = cfg, codec, schedule, denoiser
        if cfg.defense == "image" or cfg.defense in ADVTRAIN:
            if own_codec is None:
                raise ValueError(f"defense {cfg.defense!r} needs its own codec (image: fine-tuned on diffused "
                                 "images; advtrain, advtrain_t1: adversarially trained)")
            self.codec = own_codec
        if cfg.defense in NO_DENOISER:
            return
        if schedule is None or denoiser is None:
            raise ValueError(f"defense {cfg.defense!r} needs a denoiser and its noise schedule")
        if cfg.sender_step >= schedule.num_train_steps:
            raise ValueError(f"DefenseConfig.sender_step = {cfg.sender_step}: allowed 0..{schedule.num_train_steps - 1}")
        if cfg.defense == "image" and cfg.image_step >= schedule.num_train_steps:
            raise ValueError(f"DefenseConfig.image_step = {cfg.image_step}: allowed -1..{schedule.num_train_steps - 1}")
        if cfg.defense != "image":
            if residual_var is None:
                raise ValueError(f"defense {cfg.defense!r} needs the denoiser's residual variance table")
            key = "var_stochastic" if cfg.stochastic else "var"
            self._resid_t, self._resid_var = (torch.tensor(residual_var[k], dtype=torch.float32) for k in ("t", key))
            self.max_step = int(self._resid_t[-1])          # the table spans the training steps

    def single_vote(self) -> Defense:
        """This defense with one purification per image, its models shared: the differentiable
        pipeline that attacks on a K-vote defense go through (vote counts have no gradient). For
        ``smoothed``: one draw of the base classifier per image and call (the noisy copy
        z_hat + CN(0, sigma_r^2) decoded at no_eff + sigma_r^2, its logits), what an attack on the
        smoothed receiver differentiates (EOT over the smoothing noise); ``cfg`` is unchanged."""
        d = copy.copy(self)
        if self.cfg.defense == "smoothed":
            d.one_draw = True
        else:
            d.cfg = replace(self.cfg, votes=1)
        return d

    @property
    def votes(self) -> int:
        """Classifications per image in one :meth:`decode` (1 for :meth:`single_vote`'s copy)."""
        return 1 if self.one_draw else int(self.cfg.votes)

    def predictions(self, scores: torch.Tensor) -> torch.Tensor:
        """The class of each image from :meth:`decode`'s scores float [B, 10]: long [B], the
        argmax, or ``ABSTAIN`` (-1) where the smoothed receiver abstained (its shifted counts)."""
        pred = scores.argmax(-1)
        if self.cfg.defense == "smoothed" and not self.one_draw:
            pred = pred.masked_fill(scores.amax(-1) < 0, ABSTAIN)
        return pred

    def for_inference(self, precision: str = "float32") -> Defense:
        """This defense at the receiver, its codec's decoder and classifier as an
        :class:`~semcom_phy.semantic.inference.InferenceCodec` (no gradients; float32: the same
        outputs to float rounding), its denoiser shared."""
        d = copy.copy(self)
        d.codec = InferenceCodec(self.codec, precision)
        return d

    @property
    def weights(self) -> dict:
        """SHA-256 of the models this defense runs: ``codec`` (its own or the link's) and
        ``denoiser`` (None without one): what names it in results."""
        return {"codec": getattr(self.codec, "sha256", None), "denoiser": getattr(self.denoiser, "sha256", None)}

    @property
    def draws_at_receiver(self) -> bool:
        """Whether :meth:`decode` draws from its generator (the denoising defenses, the smoothed
        receiver's noise): its outputs then depend on which images are decoded together, and in
        which order."""
        return self.cfg.defense not in NO_DENOISER or self.cfg.defense == "smoothed"

    @property
    def sender_step(self) -> int:
        return self.cfg.sender_step if self.cfg.defense in ("latent", "image") else -1

    @property
    def image_step(self) -> int:
        """The image defense's receiver step t* (``cfg.image_step``, -1: t_s)."""
        return self.cfg.image_step if self.cfg.image_step >= 0 else self.cfg.sender_step

    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images x float [B, 1, 28, 28] in [0, 1] -> transmitted symbols complex [B, k], unit power."""
        if self.cfg.defense == "image":
            return self.codec.encode(diffuse_image(x, self.schedule, self.sender_step, generator))
        z = self.codec.encode(x)
        return diffuse_latent(z, self.schedule, self.sender_step, generator) if self.cfg.defense == "latent" else z

    def decode(self, z_hat: torch.Tensor, no_eff: torch.Tensor, generator: torch.Generator | None = None,
               bpda: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Equalised symbols z_hat complex [B, k] and no_eff float [B, k] -> (images float
        [B, 1, 28, 28], class scores float [B, 10]: logits, or vote counts plus the mean
        probability / 2 to break ties when ``votes`` > 1).

        ``bpda``: the purification's backward pass is the identity (Athalye et al. 2018, BPDA):
        the forward values are unchanged, gradients skip the reverse process.

        ``smoothed``: PREDICT over ``votes`` draws of the smoothing noise from ``generator``, in
        calls of at most ``SMOOTHED_BATCH`` copies (the module doc says what it returns); no
        gradient (``ValueError`` when asked for one: attack :meth:`single_vote`)."""
        if self.cfg.defense == "smoothed":
            return self._smoothed(z_hat, no_eff, generator, bpda)
        cfg, k = self.cfg, self.cfg.votes
        if k > 1:
            z_hat, no_eff = z_hat.repeat_interleave(k, 0), no_eff.repeat_interleave(k, 0)
        autocast = torch.autocast(z_hat.device.type, torch.bfloat16, enabled=cfg.bf16)
        z_in = z_hat
        if cfg.defense in ("receiver", "latent"):
            with autocast:
                z_hat, t_star = purify_latent(self.denoiser, self.schedule, z_hat, no_eff, self.sender_step,
                                              cfg.nfe, cfg.eta, generator, self.max_step)
            z_hat = _straight_through(z_in, z_hat.to(torch.complex64)) if bpda else z_hat.to(torch.complex64)
            resid = _interp(t_star.float(), self._resid_t.to(t_star.device), self._resid_var.to(t_star.device))
            no_eff = torch.minimum(no_eff, resid[:, None].to(no_eff.dtype))
        x_hat = self.codec.decode(z_hat, no_eff)
        if cfg.defense == "median":
            x_hat = median_filter(x_hat)
        if cfg.defense == "image":
            with autocast:
                x_pur = purify_image(self.denoiser, self.schedule, x_hat, self.image_step, cfg.nfe, cfg.eta,
                                     generator).float()
            x_hat = _straight_through(x_hat, x_pur) if bpda else x_pur
        logits = self.codec.classify(x_hat)
        if k == 1:
            return x_hat, logits
        b = len(x_hat) // k
        x_hat = x_hat.view(b, k, *x_hat.shape[1:]).mean(1)
        probs = logits.softmax(-1).view(b, k, -1)
        votes = torch.nn.functional.one_hot(probs.argmax(-1), probs.shape[-1]).sum(1).to(probs.dtype)
        return x_hat, votes + probs.mean(1) / 2

    def _smoothed(self, z_hat: torch.Tensor, no_eff: torch.Tensor, generator: torch.Generator | None,
                  bpda: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """The smoothed receiver (``decode`` of ``smoothed``); one base-classifier draw for
        :meth:`single_vote`'s copy (differentiable)."""
        cfg, s2 = self.cfg, self.cfg.sigma_r ** 2
        if self.one_draw:
            z = z_hat + smoothing_noise(tuple(z_hat.shape), cfg.sigma_r, generator, z_hat.device).to(z_hat.dtype)
            x_hat = self.codec.decode(z, no_eff + s2)
            return x_hat, self.codec.classify(x_hat)
        if bpda or (torch.is_grad_enabled() and z_hat.requires_grad):
            raise ValueError("defense 'smoothed': PREDICT's vote has no gradient; attack the smoothed receiver "
                             "through its base classifier (Defense.single_vote(): one noisy draw per call, EOT)")
        with torch.no_grad():
            x_hat = self.codec.decode(z_hat, no_eff)

            def base(z: torch.Tensor, _generator, side: torch.Tensor) -> torch.Tensor:
                return self.codec.classify(self.codec.decode(z, side + s2)).argmax(-1)

            out = predict(base, z_hat, cfg.sigma_r, cfg.votes, cfg.alpha, SMOOTHED_BATCH, generator, NUM_CLASSES,
                          side=no_eff)
            counts = out.counts.to(device=x_hat.device, dtype=torch.float32)
            abstained = (out.prediction == ABSTAIN).to(x_hat.device)
            return x_hat, torch.where(abstained[:, None], counts - (cfg.votes + 1), counts)


def median_filter(x: torch.Tensor, size: int = 3) -> torch.Tensor:
    """Median over size x size neighbourhoods (reflected borders): x float [B, C, H, W] -> same shape."""
    b, c, h, w = x.shape
    p = size // 2
    patches = torch.nn.functional.unfold(torch.nn.functional.pad(x, (p, p, p, p), mode="reflect"), size)
    return patches.view(b, c, size * size, h * w).median(dim=2).values.view(b, c, h, w)


def _straight_through(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """y in the forward pass, the identity's gradient (d/dx = 1) in the backward pass."""
    return x + (y - x).detach()


def load_defense(cfg: DefenseConfig, codec: SemanticCodec, device: str | torch.device = "cpu",
                 weights_dir: str | Path | None = None) -> Defense:
    """The shipped denoiser (and the image codec) a defense needs, checked against their manifests."""
    root = Path(weights_dir or WEIGHTS_DIR)
    if cfg.defense in ADVTRAIN:
        return Defense(cfg, codec, own_codec=_load_own_codec(root / f"codec_{cfg.defense}.json", device,
                                                            ADVTRAIN[cfg.defense]))
    if cfg.defense in NO_DENOISER:
        return Defense(cfg, codec)
    name = "image_denoiser" if cfg.defense == "image" else "latent_denoiser"
    model_cls, cfg_cls = (ImageUNet, ImageUNetConfig) if cfg.defense == "image" else (LatentDenoiser, LatentDenoiserConfig)
    manifest, model = load_model(root / f"{name}.json", lambda m: model_cls(cfg_cls(**m["config"])),
                                 "scripts/train_purifier.py", device)
    model.sha256 = manifest["sha256"]                   # names the denoiser in results (evaluation keys)
    schedule = NoiseSchedule(**manifest["schedule"])
    if cfg.defense == "image":
        field = "image_step" if cfg.image_step >= 0 else "sender_step"          # the step purification starts at
        if getattr(cfg, field) > manifest["t_max"]:
            raise ValueError(f"DefenseConfig.{field} = {getattr(cfg, field)}: the image denoiser purifies from steps "
                             f"0..{manifest['t_max']} (retrain it with scripts/train_purifier.py image --t-max N)")
        return Defense(cfg, codec, schedule, model,
                       own_codec=_load_own_codec(root / "codec_image.json", device, "scripts/train_purifier.py image"))
    if manifest["codec_sha256"] != getattr(codec, "sha256", None):
        raise WeightsError(f"{name}.json was trained on the symbols of the codec with sha256 "
                           f"{manifest['codec_sha256'][:16]}..., not this one: retrain it with "
                           "scripts/train_purifier.py latent")
    return Defense(cfg, codec, schedule, model, residual_var=manifest["residual_var"])


def _load_own_codec(path: Path, device, trainer: str) -> SemanticCodec:
    """A defense's own codec, with the command that makes it named when it is missing."""
    if not path.is_file():
        raise WeightsError(f"{path} not found: train it with {trainer} or restore it from git")
    return load_codec(path, device)
