"""Image-quality metrics, defined once for `-V` and for the benchmark harness.

All take uint8 arrays of equal shape: RGB (H, W, 3), or grayscale (H, W), for
which Y' PSNR is the PSNR and SSIMs are computed on the one channel.
"""

import math

import numpy as np

# Luma weights of ITU-R BT.601 (full range, as in JPEG): Y' = .299 R + ...
BT601_LUMA = np.array([0.299, 0.587, 0.114])

# tf.image.ssim_multiscale halves the image (rounding up) between its 5
# scales and needs the 11-pixel filter to fit at the last one:
# ceil(side / 2**4) >= 11, i.e. side >= 10 * 2**4 + 1.
MS_SSIM_SCALES = 5
MS_SSIM_MIN_SIDE = (11 - 1) * 2 ** (MS_SSIM_SCALES - 1) + 1  # 161


def mse(original, reconstruction):
  difference = (np.asarray(original, np.float64) -
                np.asarray(reconstruction, np.float64))
  return float(np.mean(difference ** 2))


def psnr_from_mse(value, peak=255.):
  return math.inf if value == 0 else 10. * math.log10(peak ** 2 / value)


def psnr(original, reconstruction):
  """PSNR in dB over all pixels and the three 8-bit RGB channels."""
  return psnr_from_mse(mse(original, reconstruction))


def luma(image):
  image = np.asarray(image, np.float64)
  return image if image.ndim == 2 else image @ BT601_LUMA


def y_psnr(original, reconstruction):
  """PSNR of the BT.601 luma Y' (full range, not rounded), in dB."""
  return psnr_from_mse(mse(luma(original), luma(reconstruction)))


def ms_ssim(original, reconstruction):
  """MS-SSIM on RGB (0..255) via `tf.image.ssim_multiscale`; NaN if too small."""
  if min(np.shape(original)[:2]) < MS_SSIM_MIN_SIDE:
    return math.nan
  import tensorflow as tf  # Lazy: metrics of codecs need no TensorFlow.
  value = tf.image.ssim_multiscale(
      _channels_last(original), _channels_last(reconstruction), max_val=255.)
  return float(value)


def ssim(original, reconstruction):
  """Single-scale SSIM (11x11 Gaussian window, sigma 1.5, Wang et al. 2004),
  the SSIM of most papers' tables, via `tf.image.ssim`."""
  import tensorflow as tf
  value = tf.image.ssim(
      _channels_last(original), _channels_last(reconstruction), max_val=255.)
  return float(value)


def _channels_last(image):
  import tensorflow as tf
  image = tf.cast(image, tf.float32)
  return image[..., None] if image.shape.rank == 2 else image


def ms_ssim_db(value):
  """MS-SSIM in dB, -10 log10(1 - MS-SSIM), as reported by TFC."""
  if math.isnan(value):
    return math.nan
  return math.inf if value >= 1 else -10. * math.log10(1. - value)


def bits_per_pixel(num_bytes, height, width):
  return 8. * num_bytes / (height * width)


def all_metrics(original, reconstruction):
  """PSNR, Y' PSNR, MS-SSIM and MS-SSIM dB of a reconstruction."""
  value = ms_ssim(original, reconstruction)
  return dict(mse=mse(original, reconstruction),
              psnr=psnr(original, reconstruction),
              y_psnr=y_psnr(original, reconstruction),
              ms_ssim=value, ms_ssim_db=ms_ssim_db(value))
