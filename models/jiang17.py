#!/usr/bin/env python3
"""ComCNN + JPEG + RecCNN: an end-to-end framework around a standard codec.

Paper: F. Jiang, W. Tao, S. Liu, J. Ren, X. Guo, D. Zhao, "An End-to-End
Compression Framework Based on Convolutional Neural Networks", IEEE TCSVT
2018 (arXiv 1708.00838, 2017); the authors' MATLAB code is
github.com/WenxueCui/ComCNN-RecCNN.

Shows: a compact convolutional network (ComCNN) turns the image into a
half-resolution "compact image", which a real, unmodified JPEG encoder
compresses; the decoder decodes the JPEG file, upsamples it bicubically and
a 20-layer residual network (RecCNN) restores the image. The rate is set by
the JPEG quality factor alone; the networks learn to make JPEG at that
quality lose less (section III). The file we write holds the JPEG file of
the compact image, the quality and the original size; its size is the rate.

Architecture (paper, Fig. 2 and section III.A):
  ComCNN:  conv 3x3/64 + ReLU; conv 3x3/64 stride 2 + BN + ReLU;
           conv 3x3 to C channels (C = 3 for RGB, 1 for grayscale)
  codec:   JPEG of the compact image at quality --quality (libjpeg through
           TensorFlow's encode_jpeg/decode_jpeg, 4:2:0 chroma for RGB)
  RecCNN:  bicubic x2 upsampling; conv 3x3/64 + ReLU; 18 x (conv 3x3/64 + BN +
           ReLU); conv 3x3 to C; the output is added to the upsampled image
           (residual learning)

Training (paper, section III.B, eqs. 4-6): the RecCNN minimizes the
reconstruction error of real JPEG-decoded compact images (eq. 5, ComCNN
fixed); the ComCNN minimizes the reconstruction error through the fixed
RecCNN with the codec out of the gradient path (eq. 6):
  * `--comcnn_codec straight_through` (default): the ComCNN's forward pass
    has the real JPEG round trip in it and its gradient passes through the
    codec as the identity, so the ComCNN is trained on what the decoder
    will actually see (the authors' code also runs real JPEG in this step).
    The forward pass of this update is then the RecCNN update's, so one
    pass and one backward pass give both networks' gradients: half the CPU
    time of two passes. The RecCNN's BN uses batch statistics in it.
  * `--comcnn_codec bypass`: the paper's eq. 6 as written, no codec at all,
    in a second pass with the RecCNN in inference mode.
Each network's BN statistics are updated in its own update.

Deviations (each a choice for CPU training or a fix of a flaw seen in
reimplementations):
  * Reflection padding instead of zero padding in every convolution. With
    "same" zero padding every layer sees a black frame around the image, and
    a reimplementation's reconstructions had visible bright/dark borders;
    reflected borders look like the image's interior.
  * Inputs are scaled to [0, 1] (as the authors' im2single); no sigmoid on
    the compact image: the JPEG round trip clips it to 0..255, and the
    straight-through update trains the ComCNN through exactly that.
  * Initialization so that training starts from the plain pipeline
    "2x2 mean downsampling + JPEG + bicubic upsampling": the ComCNN output is
    added to a fixed 2x2 mean pool of its input and both networks' last
    convolutions start at zero. Inputs are non-negative, so the ReLU layers
    can pass such a mean through: the function class is the paper's; only
    the starting point differs (the authors bootstrap from pretrained
    models, which we do not have).
  * Both updates happen in every training step rather than in alternating
    epochs, each network with its own Adam optimizer; batches are random
    crops rather than the authors' precomputed 40x40 patch sets.
  * One model serves several quality factors: each training batch uses a
    quality drawn from --train_qualities (the paper trains per quality).
  * Learning rates as the authors' ratio: the ComCNN's is --comcnn_lr_scale
    (default 0.1) times the RecCNN's, on the shared trainer's schedule (the
    authors: Adam, 1e-3 decaying to 1e-4 for RecCNN, 1e-4 to 1e-5 for
    ComCNN, 30 epochs of 40x40 patches, batch 128, on the 400-image BSDS
    training set). With one learning rate for both, a first run's ComCNN
    tripled the JPEG bytes in 200 steps while the RecCNN could not yet use
    them. --comcnn_lr_scale 0 freezes the ComCNN (and its BN statistics).
  * The shipped checkpoints train the RecCNN alone (--comcnn_lr_scale 0), so
    their ComCNN is still the 2x2 mean: a CPU budget allows a few hundred
    steps, and a 300-step joint continuation of the grayscale model (ComCNN
    at 5e-5) raised the validation bpp by 20% for 0.39 dB, a trade we did
    not verify on Kodak (checkpoints/README.md).
  * BN momentum 0.9.
  * RGB by default (the paper's tables are grayscale: `--channels 1`; the
    grayscale model codes the BT.601 luma of its input, rounded to 8 bits).

Usage:
  python models/jiang17.py train --train_glob 'images/*.jpg'
  python models/jiang17.py compress kodim01.png kodim01.tfci --quality 10 -V
  python models/jiang17.py decompress kodim01.tfci kodim01.png
"""

import dataclasses
import functools

import numpy as np
import tensorflow as tf

from tfcsuite import (UserError, cli, coding, config, metrics, tiling,
                      trainable, zoo)

DCT_METHOD = "INTEGER_ACCURATE"  # libjpeg's accurate integer IDCT, everywhere.
JPEG_QUALITY = cli.number_in_range(int, 1, 100, what="JPEG quality")


@dataclasses.dataclass
class Config(config.ModelConfig):
  channels: int = config.setting(
      3, "3: RGB; 1: grayscale (BT.601 luma), as in the paper's tables.",
      type=int, choices=(1, 3))
  num_filters: int = config.setting(64, "Filters of every hidden layer.")
  reccnn_depth: int = config.setting(
      20, "Convolution layers of the RecCNN (paper: 20).")
  train_qualities: list = config.setting(
      [5, 10, 20, 40, 60, 80], "JPEG qualities drawn at random per batch; "
      "the first one is used for validation.", type=JPEG_QUALITY, nargs="+")
  comcnn_codec: str = config.setting(
      "straight_through", "ComCNN update: real JPEG forward with identity "
      "gradient, or no codec (the paper's eq. 6).",
      choices=("straight_through", "bypass"))
  comcnn_lr_scale: float = config.setting(
      0.1, "ComCNN learning rate over the RecCNN's (the authors': 1e-4 vs "
      "1e-3); 0 freezes the ComCNN.", type=cli.number_in_range(float, low=0))


@dataclasses.dataclass
class CompressOptions:
  quality: int = config.setting(
      10, "JPEG quality factor of the compact image (sets the rate).",
      type=JPEG_QUALITY)


class ReflectConv(tf.keras.layers.Layer):
  """3x3 convolution of a reflection-padded input (output side ceil(n/s))."""

  def __init__(self, filters, strides=1, zero_init=False, name=None):
    super().__init__(name=name)
    self.strides = strides
    # Named as its wrapper, so the checkpoint key is "<net>/conv_0/kernel".
    self.conv = tf.keras.layers.Conv2D(
        filters, 3, strides=strides, padding="valid", name=name,
        kernel_initializer="zeros" if zero_init else "he_normal")

  def call(self, x):
    return self.conv(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], "REFLECT"))

  @property
  def tiling_step(self):
    """Kernel radius, down and up strides (`tfcsuite.tiling`): those of a
    "same" 3x3 convolution, output j centred on input s j. A tile's
    reflected edge is wrong only where zeros would be: within the
    receptive field, which the tiles' margin covers."""
    return 1, self.strides, 1


def _batch_norm(name):
  return tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5,
                                           name=name)


def _run_stages(stages, x, training):
  """Applies `stages` in order; BN uses batch statistics when `training`."""
  for stage in stages:
    if isinstance(stage, tf.keras.layers.BatchNormalization):
      x = stage(x, training=training)
    else:
      x = stage(x)
  return x


class ComCNN(tf.keras.layers.Layer):
  """Image in [0, 1] to the half-resolution compact image (section III.A)."""

  def __init__(self, channels, num_filters):
    super().__init__(name="comcnn")
    self.stages = [
        ReflectConv(num_filters, name="conv_0"),
        tf.keras.layers.ReLU(name="relu_0"),
        ReflectConv(num_filters, strides=2, name="conv_1"),
        _batch_norm("bn_1"),
        tf.keras.layers.ReLU(name="relu_1"),
        ReflectConv(channels, zero_init=True, name="conv_2"),
    ]

  def call(self, x, training):
    # Fixed mean-pool path: training starts from plain downsampling.
    return (_run_stages(self.stages, x, training) +
            tf.nn.avg_pool2d(x, 2, 2, padding="SAME"))

  def tiling_layers(self):
    """What large images are tiled by (`tfcsuite.tiling`): the
    convolutions; BN in inference and ReLU are pointwise, and the mean pool
    stays within the 2x2 cells of the stride-2 grid."""
    return [s for s in self.stages if isinstance(s, ReflectConv)]


class RecCNN(tf.keras.layers.Layer):
  """Upsampled decoded compact image to the reconstruction, residually."""

  def __init__(self, channels, num_filters, depth):
    super().__init__(name="reccnn")
    self.stages = [ReflectConv(num_filters, name="conv_0"),
                   tf.keras.layers.ReLU(name="relu_0")]
    for i in range(1, depth - 1):
      self.stages += [ReflectConv(num_filters, name=f"conv_{i}"),
                      _batch_norm(f"bn_{i}"),
                      tf.keras.layers.ReLU(name=f"relu_{i}")]
    self.stages.append(
        ReflectConv(channels, zero_init=True, name=f"conv_{depth - 1}"))

  def call(self, upsampled, training):
    # Residual learning (section III.A).
    return upsampled + _run_stages(self.stages, upsampled, training)

  @property
  def tiling_step(self):
    """Kernel radius, down and up strides (`tfcsuite.tiling`): its stride-1
    3x3 convolutions reach one pixel further each (BN in inference and ReLU
    are pointwise); stated as a whole, the margin is not one pixel of slack
    per layer wider, which would cost 15% more tile area."""
    depth = sum(isinstance(s, ReflectConv) for s in self.stages)
    return depth, 1, 1


def to_uint8(images):
  """[0, 1] floats to the 8-bit samples a codec takes (rounded, clipped)."""
  return tf.saturate_cast(tf.round(images * 255.), tf.uint8)


def jpeg_round_trip(compact, quality):
  """Real JPEG encoding and decoding of each image of a [0, 1] batch.

  Returns the decoded batch in [0, 1] and each file's size in bytes.
  """
  channels = compact.shape[-1]

  def code(image):
    data = tf.io.encode_jpeg(image, quality=quality, optimize_size=True)
    decoded = tf.io.decode_jpeg(data, channels=channels, dct_method=DCT_METHOD)
    return decoded, tf.strings.length(data)

  decoded, sizes = tf.map_fn(
      code, to_uint8(compact),
      fn_output_signature=(tf.TensorSpec((None, None, channels), tf.uint8),
                           tf.TensorSpec((), tf.int32)))
  decoded = tf.ensure_shape(decoded, compact.shape)
  return tf.cast(decoded, tf.float32) / 255., sizes


def upsample(compact, size):
  """Bicubic interpolation to the original size (as MATLAB's imresize)."""
  return tf.image.resize(compact, size, method="bicubic")


class UpsampledTiles:
  """`upsample(compact, size)`, computed only where sliced: what
  `tiling.apply_tiled` reads its tiles from, as `[:, rows, columns, :]`.

  A slice is interpolated from the compact pixels within its kernel's reach
  (2 on each side, plus slack) by TF's `ScaleAndTranslate`, with the scale
  and offset of the whole image and the same Keys cubic kernel (a = -0.5)
  as `tf.image.resize`, which also drops taps beyond the image edges: at an
  exact 2x the same numbers; at other sizes (odd sides) within float
  rounding of the sampling positions (2e-4 of [0, 1] at 599 pixels,
  measured).
  """

  def __init__(self, compact, size):
    self.compact = compact
    self.shape = (compact.shape[0], size[0], size[1], compact.shape[3])

  def _span(self, axis, index):
    """(first, end) compact pixels for output slice `index` along `axis`,
    and the sampling scale and translation of that crop."""
    start, stop, _ = index.indices(self.shape[axis])
    scale = self.shape[axis] / self.compact.shape[axis]
    reach = lambda o: (o + .5) / scale - .5  # Compact coordinate of o.
    first = max(int(np.floor(reach(start))) - 3, 0)
    end = min(int(np.floor(reach(stop - 1))) + 4, self.compact.shape[axis])
    return (first, end), stop - start, scale, first * scale - start

  def __getitem__(self, index):
    _, rows, columns, _ = index
    (top, bottom), height, row_scale, row_shift = self._span(1, rows)
    (left, right), width, column_scale, column_shift = self._span(2, columns)
    return tf.raw_ops.ScaleAndTranslate(
        images=self.compact[:, top:bottom, left:right],
        size=[height, width], scale=[row_scale, column_scale],
        translation=[row_shift, column_shift], kernel_type="keyscubic",
        antialias=False)


def grayscale(images):
  """BT.601 luma of 0..255 RGB, rounded to 8-bit values (as rgb2gray)."""
  luma = tf.tensordot(tf.cast(images, tf.float64), metrics.BT601_LUMA, 1)
  return tf.cast(tf.round(luma), tf.float32)[..., None]


class Jiang2017(trainable.TrainableModel, coding.CodingModel):
  """ComCNN and RecCNN; trainable, or for coding when given `weights`.

  The shared trainer's metrics are the reconstruction MSE (0..255) after the
  real JPEG round trip (`loss` and `mse`) and the real JPEG bits per original
  pixel (`bpp`), at a random training quality (training) or at the first
  training quality (validation).
  """

  metric_names = ("loss", "bpp", "mse")
  layout = coding.Layout(strings=("jpeg",), integers=(("quality", 1),))

  def __init__(self, config, weights=None):
    super().__init__()
    self.channels = config.channels
    self.train_qualities = tuple(int(q) for q in config.train_qualities)
    self.comcnn_codec = config.comcnn_codec
    self.comcnn_lr_scale = float(config.comcnn_lr_scale)
    self.trains_comcnn = self.comcnn_lr_scale > 0
    self.comcnn = ComCNN(config.channels, config.num_filters)
    self.reccnn = RecCNN(config.channels, config.num_filters,
                         config.reccnn_depth)
    for network in (self.comcnn, self.reccnn):  # Creates the variables.
      network(tf.zeros((1, 8, 8, config.channels)), training=False)
    if weights is not None:
      self.initialize_from(weights)

  def create_optimizers(self, learning_rate):
    """Adam for the RecCNN; a second Adam, scaled, for the ComCNN."""
    optimizers = super().create_optimizers(learning_rate)
    if self.trains_comcnn:
      optimizers["comcnn_optimizer"] = self.adam(
          trainable.ScaledLearningRate(learning_rate, self.comcnn_lr_scale))
    return optimizers

  def model_input(self, x):
    """0..255 RGB batch to the networks' input in [0, 1]."""
    if self.channels == 1:
      x = grayscale(x)
    return x / 255.

  def _jpeg_round_trip(self, compact, index):
    """`jpeg_round_trip` at the `index`-th training quality (a tensor)."""
    return tf.switch_case(index, [
        functools.partial(jpeg_round_trip, compact, quality)
        for quality in self.train_qualities])

  def _coded_pass(self, image, index, training=False):
    compact = self.comcnn(image, training=False)
    decoded, sizes = self._jpeg_round_trip(compact, index)
    x_hat = self.reccnn(upsample(decoded, tf.shape(image)[1:3]),
                        training=training)
    return self._distortion_and_rate(image, x_hat, sizes)

  def _distortion_and_rate(self, image, x_hat, sizes):
    """(loss, bpp, mse): loss is the MSE (0..255); bpp of the JPEG files."""
    mse = tf.reduce_mean(tf.math.squared_difference(image, x_hat)) * 255. ** 2
    pixels = tf.cast(tf.reduce_prod(tf.shape(image)[:3]), tf.float32)
    bpp = 8. * tf.cast(tf.reduce_sum(sizes), tf.float32) / pixels
    return dict(loss=mse, bpp=bpp, mse=mse)

  def training_step(self, batch):
    image = self.model_input(batch)
    index = tf.random.uniform((), 0, len(self.train_qualities), tf.int32)
    if self.comcnn_codec == "bypass":
      return self._alternating_step(image, index)
    # Straight-through: the forward pass of the ComCNN update (eq. 6) with
    # the real codec in it is the RecCNN update's (eq. 5), so one pass and
    # one backward pass give both networks' gradients of the same loss.
    with tf.GradientTape() as tape:
      compact = self.comcnn(image, training=self.trains_comcnn)
      decoded, sizes = self._jpeg_round_trip(compact, index)
      decoded = compact + tf.stop_gradient(decoded - compact)  # Identity grad.
      x_hat = self.reccnn(upsample(decoded, tf.shape(image)[1:3]),
                          training=True)
      values = self._distortion_and_rate(image, x_hat, sizes)
    comcnn_variables = (self.comcnn.trainable_variables
                        if self.trains_comcnn else [])
    gradients = tape.gradient(
        values["loss"], self.reccnn.trainable_variables + comcnn_variables)
    self._apply(gradients, comcnn_variables)
    return values

  def _apply(self, gradients, comcnn_variables):
    """Applies RecCNN gradients followed by `comcnn_variables`' ones."""
    reccnn_variables = self.reccnn.trainable_variables
    self.apply_gradients(gradients[:len(reccnn_variables)], reccnn_variables)
    if comcnn_variables:
      self.apply_gradients(gradients[len(reccnn_variables):],
                           comcnn_variables, self.comcnn_optimizer)

  def _alternating_step(self, image, index):
    """The paper's eq. 5 update, then eq. 6 with the codec left out."""
    with tf.GradientTape() as tape:
      values = self._coded_pass(image, index, training=True)
    reccnn_gradients = tape.gradient(values["loss"],
                                     self.reccnn.trainable_variables)
    comcnn_gradients, comcnn_variables = [], []
    if self.trains_comcnn:
      with tf.GradientTape() as tape:
        compact = self.comcnn(image, training=True)
        x_hat = self.reccnn(upsample(compact, tf.shape(image)[1:3]),
                            training=False)
        comcnn_loss = tf.reduce_mean(tf.math.squared_difference(image, x_hat))
      comcnn_variables = self.comcnn.trainable_variables
      comcnn_gradients = tape.gradient(comcnn_loss, comcnn_variables)
    self._apply(reccnn_gradients + comcnn_gradients, comcnn_variables)
    return values

  def evaluation_step(self, batch):
    """The metrics through the real codec at the first training quality."""
    return self._coded_pass(self.model_input(batch), tf.constant(0))

  # Coding ------------------------------------------------------------------

  def reference_image(self, image):
    """The image this model reconstructs: RGB as is, or its 8-bit luma."""
    if self.channels == 3:
      return np.asarray(image)
    return np.asarray(grayscale(image)[..., 0], np.uint8)

  def describe_reference(self):
    if self.channels == 3:
      return None
    return ("the BT.601 luma of the image, rounded to 8 bits (this grayscale "
            "model codes the luma only)")

  def describe_coding(self, fields, shape):
    """The JPEG quality and the size of the compact image it encoded."""
    sampling = "4:2:0" if self.channels == 3 else "grayscale"
    return (f"JPEG at quality {fields['quality'][0]} ({sampling}) of the "
            f"{(shape[1] + 1) // 2}x{(shape[0] + 1) // 2} compact image, "
            f"{len(fields['jpeg'])} bytes")

  @tf.function(input_signature=[
      tf.TensorSpec(shape=(None, None, 3), dtype=tf.uint8)])
  def compact_image(self, x):
    """Image (uint8 RGB) to the 8-bit compact image that JPEG encodes."""
    image = self.model_input(tf.cast(x, tf.float32)[None])
    return to_uint8(self.comcnn(image, training=False))[0]

  def compress(self, image, quality=10):
    """Image to the JPEG file of its compact image, and the quality."""
    quality = int(quality)
    if not 1 <= quality <= 100:
      raise UserError(f"JPEG quality must be 1..100, not {quality}")
    if min(image.shape[0], image.shape[1]) < 2:
      raise UserError("image must be at least 2x2 pixels")
    jpeg = tf.io.encode_jpeg(self.whole_compact_image(image),
                             quality=quality, optimize_size=True)
    return dict(jpeg=jpeg, quality=[quality])

  def whole_compact_image(self, image):
    """`compact_image` of an image of any size: a large one goes through the
    ComCNN in tiles (`tfcsuite.tiling`; its 64-channel full-resolution
    activations are 6 GB each on 24 megapixels). The JPEG codes it whole."""
    geometry = tiling.Geometry.of([self.comcnn])
    if not tiling.should_tile(geometry, (1,) + image.shape):
      return self.compact_image(image)
    return tiling.apply_tiled(lambda tile: self.compact_image(tile[0])[None],
                              np.asarray(image)[None], geometry)[0]

  def illustrations(self, image):
    """The compact image and its JPEG (at the default quality) as the file
    stores it, decoded: what the RecCNN starts from."""
    quality = CompressOptions().quality
    compact = self.whole_compact_image(image)
    jpeg = self.compress(image, quality=quality)["jpeg"]
    decoded = tf.io.decode_jpeg(jpeg, channels=self.channels,
                                dct_method=DCT_METHOD)

    def rgb(array):
      return np.repeat(np.asarray(array), 3 // self.channels, axis=-1)

    return [("the half-size compact image that the ComCNN makes",
             rgb(compact)),
            (f"that image as the file stores it: JPEG at quality {quality}, "
             f"{len(jpeg.numpy())} bytes, decoded", rgb(decoded))]

  def decompress(self, fields, shape):
    """Inverse of `compress`: decode, upsample, restore, crop to `shape`."""
    if not 1 <= fields["quality"][0] <= 100:
      raise coding.ContainerError("JPEG quality outside 1..100")
    # The size the JPEG header declares, checked before decoding it.
    jpeg_shape = tf.image.extract_jpeg_shape(fields["jpeg"]).numpy()
    if tuple(jpeg_shape[:2]) != ((shape[0] + 1) // 2, (shape[1] + 1) // 2):
      raise coding.ContainerError("JPEG size does not match the image size")
    decoded = tf.io.decode_jpeg(fields["jpeg"], channels=self.channels,
                                dct_method=DCT_METHOD)
    compact = tf.cast(decoded, tf.float32)[None] / 255.
    image = self.restored_image(compact, shape)
    return image if self.channels == 3 else image[..., 0]

  def restored_image(self, compact, shape):
    """The decoded compact image (1, h, w, C) in [0, 1], upsampled to
    `shape` and restored by the RecCNN: the uint8 image (H, W, C).

    A large image goes through both in tiles (`tfcsuite.tiling`), each tile
    upsampled from the compact pixels it needs and converted to 8 bits: one
    RecCNN activation of 24 megapixels is 6 GB, the upsampled image 288 MB.
    """
    upsampled = UpsampledTiles(compact, shape)
    geometry = tiling.Geometry.of([self.reccnn])
    if not tiling.should_tile(geometry, upsampled.shape):
      x_hat = self.reccnn(upsample(compact, shape), training=False)
      return coding.reconstructed_image(x_hat * 255., shape)
    return coding.reconstructed_image(tiling.apply_tiled(
        lambda tile: coding.to_uint8(self.reccnn(tile, training=False) * 255.),
        upsampled, geometry), shape)


def operating_points(checkpoint):
  """The harness's RD curve: each training quality of an RGB checkpoint.

  Grayscale checkpoints are measured by benchmarks/jiang17_grayscale.py.
  """
  if checkpoint.config["channels"] != 3:
    return []
  return [(f"q{q}", dict(quality=q))
          for q in sorted(checkpoint.config["train_qualities"])]


SCRIPT = zoo.ModelScript(
    name="jiang17", description=__doc__.splitlines()[0], model=Jiang2017,
    config=Config, default_checkpoint="rgb",
    compress_options=CompressOptions, operating_points=operating_points,
    # Small crops (the authors: 128 x 40x40): the RecCNN works at full
    # resolution with 64 channels in all 20 layers, and the ComCNN's
    # gradient goes back through all of them; 8 x 64x64 is about 2 s a step
    # here.
    training_defaults=dict(batchsize=8, patchsize=64))

if __name__ == "__main__":
  cli.main(SCRIPT)
