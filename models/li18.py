#!/usr/bin/env python3
"""Li 2018: content-weighted image compression with an importance map.

Paper: Mu Li, Wangmeng Zuo, Shuhang Gu, Debin Zhao, David Zhang, "Learning
Convolutional Networks for Content-weighted Image Compression", CVPR 2018
(arXiv 1703.10553), following the authors' released Caffe configuration.

Shows: a learned, content-dependent bit allocation. A binary code of n
channels at 1/8 resolution is cut, at every position, to the number of
channels an importance map grants there, and only those bits are coded.

  input:      (x - 127.5) / 127.5
  encoder:    conv 8x8/4 (w) + ReLU, residual block, conv 4x4/2 (2w) + ReLU,
              residual block, conv 3x3 (2w) + ReLU, residual block -> F;
              conv 1x1 (n) + sigmoid -> e; binarizer b = [e > 0.5] with a
              straight-through gradient
  importance: on F, conv 3x3 (w) + ReLU, conv 1x1 (1) + sigmoid -> p;
              level Q = min(floor(L p), L - 1); channel k is kept where
              (Q + 1) n / L > k (n / L channels per level); the mask's
              gradient is the paper's proxy: L for channel k while L p is
              within 1 of the level that switches k
  decoder:    conv 1x1 (4w) + ReLU, residual block, depth-to-space 2,
              conv 3x3 (2w) + ReLU, residual block, conv 3x3 (16 w/4) + ReLU,
              depth-to-space 4, conv 3x3 (w) + ReLU, conv 1x1 (3)
  loss:       per image, the paper's sum of squared errors (in the [-1, 1]
              scale) + gamma * max(sum p - r0 h w, 0), both divided by the
              map's h w (the paper's gamma applies unchanged)
  residual block: conv 3x3 + ReLU, conv 3x3, added to the input, ReLU.

Entropy coding (real, TFC's range coder; bpp = file size), in two parts:
  * importance levels, L symbols, in two passes of one range-coder call
    each: positions with i + j even under one learned distribution, then
    the others under a distribution chosen by the rounded mean level of
    their (already decoded) 4 neighbours (L + 1 learned distributions);
  * only the kept bits, channel plane by channel plane (one call per
    plane), each bit under a learned Bernoulli probability chosen by its
    channel k, the bits of channels k-1 and k-2 at its position, and the
    number of ones among the 8 neighbours in channel k-1 (36 contexts per
    channel; a masked bit counts as 0). `compress --bit_contexts order0`
    codes with one probability per channel instead, to measure the gain.
  Every probability is learned during training by the cross-entropy of the
  (gradient-stopped) code, a term that reaches only those probabilities;
  the 12-bit coding tables are stored in the checkpoint.

Deviations from the paper (and the released configuration):
  * Context model: the paper's CNN predicts each bit from a causal 4x5x5
    cube of already coded bits, coded one bit at a time by a binary
    arithmetic coder; that is millions of sequential network evaluations
    per image on a CPU. Ours uses the same kind of context (previous
    channels, spatial neighbours) through a lookup table, and since it uses
    only channels decoded before, a whole channel plane is decoded with one
    range-coder call. It is weaker than the paper's (no causal neighbours
    within the plane, no learned features).
  * Mask: we keep (Q + 1) n / L channels (every position keeps n / L bits,
    the top level all n); our reading of the paper's n Q / L.
  * Decoder input: kept bits as +-1 and masked ones as 0 (the paper feeds
    mask * b, b in {0, 1}, where a masked bit and a 0 look alike and a 0
    bit passes no gradient to the mask).
  * Width: `--filters` w (paper 128); the shipped checkpoints use a
    reduced width (checkpoints/README.md). The decoder's layer sizes are our
    reading of the configuration (no prototxt offline).
  * gamma: the paper's 0.03 (our default flag) never binds in this loss
    normalization, which we believe is the paper's: the distortion falls by
    hundreds per unit of p at a map position (checkpoints/README.md), so
    the map saturates and every position keeps all n bits. The shipped
    checkpoints use gamma = 1000, which holds sum(p) near r0 h w; the rate
    points are set by r0.
  * Training: BSDS500 crops instead of ImageNet; `--pretrain_steps` first
    train with every channel kept (the paper pre-trains without the map),
    and the rate points are fine-tuned from that pre-trained network;
    gamma and r0 of each checkpoint are in its manifest.

Usage:
  python models/li18.py train --train_glob 'images/*.png' --filters 32
  python models/li18.py compress kodim01.png kodim01.tfci -V
  python models/li18.py decompress kodim01.tfci kodim01.png
"""

import dataclasses

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from tfcsuite import cli, coding, config, entropy, layers, trainable, zoo

STRIDE = 8  # Image pixels per code position along each side.
BIT_CONTEXTS = 36  # Per channel: bits k-1, k-2 (4) x ones among 8 (9).


@dataclasses.dataclass
class Config(config.ModelConfig):
  code_channels: int = config.setting(64, "Bits per code position (n).")
  levels: int = config.setting(16, "Importance levels (L); divides n.")
  rate_ratio: float = config.setting(
      0.33, "r0: the rate term penalizes sum(p) above r0 * h * w.",
      flag="--r0")
  rate_weight: float = config.setting(
      0.03, "gamma: weight of the rate term.", flag="--gamma")
  filters: int = config.setting(128, "Width w (the paper's 128).")
  pretrain_steps: int = config.setting(
      0, "First steps with every channel kept (no importance map).")


@dataclasses.dataclass
class CompressOptions:
  bit_contexts: str = config.setting(
      "neighbours", "Bit model: 'neighbours' (36 contexts per channel) or "
      "'order0' (one probability per channel, for comparison).",
      choices=("neighbours", "order0"))


def _conv(filters, kernel, name, activation="relu", strides=1):
  return tf.keras.layers.Conv2D(filters, kernel, strides=strides,
                                padding="same", activation=activation,
                                name=name)


class ResidualBlock(tf.keras.layers.Layer):
  """conv 3x3 + ReLU, conv 3x3, plus the input, ReLU."""

  def __init__(self, filters, name):
    super().__init__(name=name)
    self.first = _conv(filters, 3, "conv_0")
    self.second = _conv(filters, 3, "conv_1", activation=None)

  def call(self, x):
    return tf.nn.relu(x + self.second(self.first(x)))

  def tiling_layers(self):
    """What large images are tiled by (`tfcsuite.tiling`)."""
    return [self.first, self.second]


class DepthToSpace(tf.keras.layers.Layer):
  """`tf.nn.depth_to_space`: up-sampling by `block`, without weights."""

  def __init__(self, block):
    super().__init__()
    self.block = block

  @property
  def tiling_step(self):
    """Kernel radius, down and up strides (`tfcsuite.tiling`)."""
    return 0, 1, self.block

  def call(self, x):
    return tf.nn.depth_to_space(x, self.block)


def features(w):
  """Normalized image to F, at 1/8 resolution."""
  return layers.Transform([
      _conv(w, 8, "conv_0", strides=4), ResidualBlock(w, "block_0"),
      _conv(2 * w, 4, "conv_1", strides=2), ResidualBlock(2 * w, "block_1"),
      _conv(2 * w, 3, "conv_2"), ResidualBlock(2 * w, "block_2")],
      name="features")


def importance_net(w):
  """F to the importance map p in (0, 1)."""
  return layers.Transform([_conv(w, 3, "conv_0"),
                           _conv(1, 1, "conv_1", activation=layers.sigmoid)],
                          name="importance")


def decoder(w):
  """Masked code (+-1 kept, 0 masked) to the normalized image."""
  return layers.Transform([
      _conv(4 * w, 1, "conv_0"), ResidualBlock(4 * w, "block_0"),
      DepthToSpace(2), _conv(2 * w, 3, "conv_1"),
      ResidualBlock(2 * w, "block_1"), _conv(16 * (w // 4), 3, "conv_2"),
      DepthToSpace(4), _conv(w, 3, "conv_3"),
      _conv(3, 1, "conv_4", activation=None)], name="decoder")


def kept_channels(levels, config):
  """Channels kept at each position of a level map: (Q + 1) n / L."""
  return (levels + 1) * (config.code_channels // config.levels)


def channel_mask(kept, channels):
  """{0, 1} mask (..., channels): channel k kept where k < kept."""
  channel = tf.range(channels, dtype=tf.float32)
  return tf.cast(channel < tf.cast(kept, tf.float32)[..., None], tf.float32)


def _neighbour_sum(x, kernel):
  """Sum over `kernel`'s neighbours in every channel of (b, h, w, c) x."""
  kernel = tf.tile(tf.constant(kernel, tf.float32)[:, :, None, None],
                   [1, 1, x.shape[-1], 1])
  return tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "SAME")


RING = [[1, 1, 1], [1, 0, 1], [1, 1, 1]]
CROSS = [[0, 1, 0], [1, 0, 1], [0, 1, 0]]


def plane_contexts(before, two_before):
  """Context (0..35) of the bits of planes whose channels k-1 and k-2 hold
  the known bits `before` and `two_before`, (b, h, w, c) {0, 1} floats."""
  context = (2. * before + two_before) * 9. + _neighbour_sum(before, RING)
  return tf.cast(tf.round(context), tf.int32)


def plane_rows(k, before, two_before, coded, order0):
  """Table rows of the coded bits of plane k (where `coded`, (h, w) bool),
  in row-major order, given the known bits (h, w) int32, 0 where masked, of
  planes k-1 and k-2: the rows `bit_contexts` gives, one plane at a time."""
  if order0:
    return tf.fill([tf.reduce_sum(tf.cast(coded, tf.int32))], k)
  context = plane_contexts(tf.cast(before, tf.float32)[None, :, :, None],
                           tf.cast(two_before, tf.float32)[None, :, :, None])
  return (k * BIT_CONTEXTS + context[0, :, :, 0])[coded]


def bit_contexts(bits, mask):
  """Table row (channel * 36 + context) of every bit; (b, h, w, n) {0, 1}.

  From channels k-1 and k-2 only, so a decoder knows them plane by plane.
  """
  known = bits * mask
  before = tf.pad(known, [[0, 0]] * 3 + [[1, 0]])[..., :-1]
  two_before = tf.pad(known, [[0, 0]] * 3 + [[2, 0]])[..., :-2]
  return (tf.range(bits.shape[-1]) * BIT_CONTEXTS +
          plane_contexts(before, two_before))


def anchors(shape):
  """(h, w) bool: positions with i + j even (the first pass of levels)."""
  rows = tf.range(shape[0])[:, None]
  columns = tf.range(shape[1])[None, :]
  return tf.equal((rows + columns) % 2, 0)


def level_contexts(levels):
  """Table row of every level of (b, h, w) levels: 0 at anchors, else 1 +
  the rounded mean level of the 4 neighbours (all anchors)."""
  anchor = anchors(tf.shape(levels)[1:])
  anchor_levels = tf.where(anchor, tf.cast(levels, tf.float32), 0.)
  total = _neighbour_sum(anchor_levels[..., None], CROSS)[..., 0]
  count = _neighbour_sum(tf.cast(anchor, tf.float32)[None, :, :, None],
                         CROSS)[..., 0]
  mean = tf.floor(total / tf.maximum(count, 1.) + .5)
  return tf.where(anchor, 0, 1 + tf.cast(mean, tf.int32))


class Probabilities(tf.keras.layers.Layer):
  """Learned categorical distributions, one per row, as logits."""

  def __init__(self, rows, symbols, name):
    super().__init__(name=name)
    self.logits = self.add_weight("logits", shape=(rows, symbols),
                                  initializer="zeros")

  def bits(self, symbols, rows):
    """Information content of `symbols` under distributions `rows`."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=symbols, logits=tf.gather(self.logits, rows)) / np.log(2.)

  def coding_table(self):
    return entropy.categorical_coding_table(self.logits.numpy())


class Li18(trainable.TrainableModel, coding.CodingModel):
  """Networks and entropy models; trainable, or for coding with `weights`."""

  metric_names = ("loss", "mse", "bpp", "map_mean", "kept_bpp")
  layout = coding.Layout(strings=("levels", "bits"),
                         integers=(("code_shape", 2), ("bit_contexts", 1)),
                         strides=(("code_shape", STRIDE),))

  def __init__(self, config, weights=None):
    super().__init__()
    if config.code_channels % config.levels:
      raise ValueError("--levels must divide --code_channels")
    self.config = config
    self.features = features(config.filters)
    self.binarizer = _conv(config.code_channels, 1, "binarizer",
                           activation=layers.sigmoid)
    self.importance = importance_net(config.filters)
    self.decoder = decoder(config.filters)
    channels = config.code_channels
    self.level_model = Probabilities(1 + config.levels, config.levels,
                                     "level_model")
    self.bit_model = Probabilities(channels * BIT_CONTEXTS, 2, "bit_model")
    self.order0_model = Probabilities(channels, 2, "order0_model")
    f = self.features(tf.zeros((1, 16, 16, 3)))
    self.importance(f)
    self.decoder(self.binarizer(f))  # Creates every variable.
    if weights is not None:
      self.initialize_from(weights)
      self.tables = {name: weights[f"{name}/table"] for name in
                     ("level_model", "bit_model", "order0_model")}

  def analysis(self, x, before=None):
    """Normalized images (or `before` of `x`, pointwise) to (e, p): code
    probabilities and importance."""
    f = self.features.apply(x, before=before)
    return self.binarizer(f), self.importance(f)[..., 0]

  def levels_of(self, p):
    return tf.minimum(tf.floor(p * self.config.levels), self.config.levels - 1)

  def mask(self, p):
    """The channel mask of an importance map, with the paper's proxy
    gradient (L in a window of +-1 level around each channel's switch)."""
    config = self.config
    hard = channel_mask(kept_channels(self.levels_of(p), config),
                        config.code_channels)
    switch = tf.floor(tf.range(config.code_channels, dtype=tf.float32) *
                      config.levels / config.code_channels)
    soft = tf.clip_by_value(config.levels * p[..., None] - switch + 1., 0., 2.)
    return hard + soft - tf.stop_gradient(soft)

  def loss_terms(self, batch, training):
    del training  # The same terms in training and evaluation.
    config = self.config
    x = (batch - 127.5) / 127.5
    e, p = self.analysis(x)
    bits = e + tf.stop_gradient(tf.cast(e > .5, tf.float32) - e)
    pretraining = tf.cast(self.optimizer.iterations < config.pretrain_steps,
                          tf.float32)
    mask = self.mask(p)
    mask = pretraining + (1. - pretraining) * mask
    x_hat = self.decoder((2. * bits - 1.) * mask)
    positions = tf.cast(tf.reduce_prod(tf.shape(p)), tf.float32)
    distortion = tf.reduce_sum(tf.math.squared_difference(x, x_hat))
    map_size = tf.cast(tf.shape(p)[1] * tf.shape(p)[2], tf.float32)
    excess = tf.nn.relu(tf.reduce_sum(p, axis=(1, 2)) -
                        config.rate_ratio * map_size)
    rate = (1. - pretraining) * config.rate_weight * tf.reduce_sum(excess)
    information, order0 = self._information(
        tf.stop_gradient(bits), tf.stop_gradient(mask), tf.stop_gradient(p))
    pixels = positions * STRIDE ** 2
    # The models' cross-entropies reach only their own probabilities.
    return dict(
        loss=(distortion + rate) / positions + (information + order0) / pixels,
        mse=tf.reduce_mean(tf.square(x - x_hat)) * 127.5 ** 2,
        bpp=information / pixels, map_mean=tf.reduce_mean(p),
        kept_bpp=tf.reduce_sum(mask) / pixels)

  def _information(self, bits, mask, p):
    """Bits of the levels and of the kept bits under the models, and the
    order-0 model's bits (trained alongside, for comparison)."""
    levels = tf.cast(self.levels_of(p), tf.int32)
    level_bits = self.level_model.bits(levels, level_contexts(levels))
    symbols = tf.cast(bits, tf.int32)
    channels = tf.broadcast_to(tf.range(bits.shape[-1]), tf.shape(symbols))
    coded = tf.round(mask)
    kept_bits = coded * self.bit_model.bits(symbols, bit_contexts(bits, coded))
    order0 = coded * self.order0_model.bits(symbols, channels)
    return (tf.reduce_sum(level_bits) + tf.reduce_sum(kept_bits),
            tf.reduce_sum(order0))

  def export_weights(self):
    tables = {f"{model.name}/table": model.coding_table() for model in
              (self.level_model, self.bit_model, self.order0_model)}
    return dict(super().export_weights(), **tables)

  # Coding: the levels in two passes, then the kept bits plane by plane.

  def _code(self, image):
    """Bits (h, w, n) and levels (h, w), int32, of a uint8 image."""
    height, width = image.shape[:2]
    if height % STRIDE or width % STRIDE:  # (np.pad copies even 0 pixels.)
      image = np.pad(image, [(0, -height % STRIDE), (0, -width % STRIDE),
                             (0, 0)], mode="edge")
    e, p = self.analysis(image[None], before=lambda x: (
        tf.cast(x, tf.float32) - 127.5) / 127.5)
    return tf.cast(e[0] > .5, tf.int32), tf.cast(self.levels_of(p[0]), tf.int32)

  def _mask(self, levels):
    return tf.cast(channel_mask(kept_channels(levels, self.config),
                                self.config.code_channels), tf.int32)

  def compress(self, image, bit_contexts="neighbours"):
    bits, levels = self._code(image)
    anchor = anchors(levels.shape)
    rows = level_contexts(levels[None])[0]
    order = (anchor, tf.logical_not(anchor))  # The two passes.
    handle = tfc.create_range_encoder([], self.tables["level_model"])
    handle = tfc.entropy_encode_index(
        handle, tf.concat([rows[m] for m in order], 0),
        tf.concat([levels[m] for m in order], 0))
    level_string = tfc.entropy_encode_finalize(handle)
    order0 = bit_contexts == "order0"
    table = self.tables["order0_model" if order0 else "bit_model"]
    handle = tfc.create_range_encoder([], table)
    # Plane by plane, as the decoder decodes them: the table rows of all
    # planes at once took a dozen int32 copies of the code, 1.2 GB on 24
    # megapixels. The range coder's state carries over from call to call.
    kept = kept_channels(levels, self.config)
    known = [tf.zeros_like(levels)] * 2  # Planes k-2 and k-1, masked.
    for k in range(self.config.code_channels):
      coded, plane = kept > k, bits[..., k]
      handle = tfc.entropy_encode_index(
          handle, plane_rows(k, known[1], known[0], coded, order0),
          plane[coded])
      known = [known[1], tf.where(coded, plane, 0)]
    return dict(levels=level_string, bits=tfc.entropy_encode_finalize(handle),
                code_shape=levels.shape, bit_contexts=int(order0))

  def _decode_levels(self, string, code_shape):
    anchor = anchors(code_shape)
    odd = tf.logical_not(anchor)

    def pass_rows(k, planes):
      if k == 0:
        return tf.zeros([tf.reduce_sum(tf.cast(anchor, tf.int32))], tf.int32)
      levels = tf.scatter_nd(tf.where(anchor), planes[0], code_shape)
      return level_contexts(levels[None])[0][odd]

    handle = tfc.create_range_decoder(string, self.tables["level_model"])
    handle, (first, second) = entropy.decode_planes(handle, 2, pass_rows)
    _check_finished(handle)
    return (tf.scatter_nd(tf.where(anchor), first, code_shape) +
            tf.scatter_nd(tf.where(odd), second, code_shape))

  def _decode_bits(self, string, mask, order0):
    height, width, channels = mask.shape
    coded = tf.transpose(mask, (2, 0, 1)) > 0
    known = [tf.zeros((height, width), tf.int32)] * 2  # Planes -2 and -1.

    def rows(k, planes):
      if planes:
        known.append(tf.scatter_nd(tf.where(coded[k - 1]), planes[-1],
                                   (height, width)))
      return plane_rows(k, known[-1], known[-2], coded[k], order0)

    table = self.tables["order0_model" if order0 else "bit_model"]
    handle = tfc.create_range_decoder(string, table)
    handle, planes = entropy.decode_planes(handle, channels, rows)
    _check_finished(handle)
    return tf.stack([tf.scatter_nd(tf.where(coded[k]), planes[k],
                                   (height, width))
                     for k in range(channels)], axis=-1)

  def decompress(self, fields, shape):
    code_shape = tuple(fields["code_shape"])
    if code_shape != (-(-shape[0] // STRIDE), -(-shape[1] // STRIDE)):
      raise coding.ContainerError("code shape does not match the image size")
    if fields["bit_contexts"] not in ((0,), (1,)):
      raise coding.ContainerError("unknown bit model in the file")
    levels = self._decode_levels(fields["levels"], code_shape)
    mask = self._mask(levels)
    bits = self._decode_bits(fields["bits"], mask, fields["bit_contexts"][0])
    code = tf.cast((2 * bits - 1) * mask, tf.float32)[None]
    return coding.reconstructed_image(self.decoder.apply(
        code, after=lambda x: coding.to_uint8(x * 127.5 + 127.5)), shape)

  def estimate_bits(self, image):
    bits, levels = self._code(image)
    mask = self._mask(levels)
    information, _ = self._information(
        tf.cast(bits, tf.float32)[None], tf.cast(mask, tf.float32)[None],
        (tf.cast(levels, tf.float32)[None] + .5) / self.config.levels)
    return float(information)

  def describe_coding(self, fields, shape):
    levels = self._decode_levels(fields["levels"], tuple(fields["code_shape"]))
    kept = kept_channels(tf.cast(levels, tf.float32), self.config)
    model = ("one probability per channel" if fields["bit_contexts"][0] else
             "36 neighbour contexts per channel")
    return (f"importance map: {float(tf.reduce_mean(kept)):.1f} of "
            f"{self.config.code_channels} bits kept per 8x8 block on "
            f"average; bit model: {model}")

  def illustrations(self, image):
    """The importance map (levels, black 0 to white L-1) at the image's
    size, alone and over the image."""
    _, levels = self._code(image)
    gray = levels.numpy() * 255. / (self.config.levels - 1)
    gray = np.repeat(np.repeat(gray, STRIDE, 0), STRIDE, 1)
    gray = gray[:image.shape[0], :image.shape[1], None]
    overlay = .5 * image + .5 * gray * np.array([1., .55, 0.])
    as_image = lambda x: np.clip(np.round(x), 0, 255).astype(np.uint8)
    return [("importance map", as_image(np.repeat(gray, 3, axis=2))),
            ("importance map over the image", as_image(overlay))]


def _check_finished(handle):
  if not tfc.entropy_decode_finalize(handle):
    raise coding.ContainerError("range decoding failed")


SCRIPT = zoo.ModelScript(
    name="li18", description=__doc__.splitlines()[0], model=Li18,
    config=Config, default_checkpoint="r0.35",
    compress_options=CompressOptions,
    training_defaults=dict(batchsize=8, patchsize=128))

if __name__ == "__main__":
  cli.main(SCRIPT)
