"""Bjøntegaard delta rate and delta quality between two rate-distortion curves.

G. Bjøntegaard, "Calculation of average PSNR differences between RD-curves",
VCEG-M33, 2001. Both curves are fitted with a cubic polynomial and the fits
are integrated over the interval where the curves overlap:

  * BD-rate: log(rate) as a polynomial of quality, integrated over the common
    quality interval; the mean log-rate difference d gives (e^d - 1) * 100 %,
    the average rate change of `test` relative to `anchor` at equal quality.
    Negative means `test` needs fewer bits.
  * BD-quality (BD-PSNR for PSNR): quality as a polynomial of log(rate),
    integrated over the common log-rate interval; the mean quality difference
    at equal rate. Positive means `test` is better.

VCEG-M33 fits exactly four points. Curves here may have many more (published
JPEG curves have about 100 points from 0.17 to 6.6 bpp), and one cubic over
all of them fits the overlap poorly. So each curve is fitted (least squares)
only on its points inside the overlap, plus the nearest point outside it on
each side so that the fit spans the whole interval, plus (for a curve sparse
over the overlap) the next-nearest outside points until the cubic has four.
Curves with fewer than four points, or that do not overlap, are not
comparable.
"""

import math

import numpy as np

MIN_POINTS = 4


class NotComparable(ValueError):
  """Why two curves have no Bjøntegaard delta (too few points, no overlap)."""


def _points(rates, qualities, what):
  rates = np.asarray(rates, np.float64)
  qualities = np.asarray(qualities, np.float64)
  if rates.shape != qualities.shape or rates.ndim != 1:
    raise ValueError(f"{what}: rates and qualities must be equal-length lists")
  keep = np.isfinite(rates) & np.isfinite(qualities) & (rates > 0)
  rates, qualities = rates[keep], qualities[keep]
  if len(rates) < MIN_POINTS:
    raise NotComparable(f"the {what} curve has {len(rates)} "
                        f"point{'' if len(rates) == 1 else 's'}, fewer than "
                        f"{MIN_POINTS}")
  return np.log(rates), qualities


def _near_interval(x, low, high):
  """Mask of x inside [low, high] plus the nearest point beyond each end.

  If that makes fewer than four distinct points (a curve that is sparse over
  the overlap), the next-nearest points beyond the ends are added, nearest to
  the interval first, until there are four or none are left.
  """
  mask = (x >= low) & (x <= high)
  below, above = x[x < low], x[x > high]
  if below.size:
    mask |= x == below.max()
  if above.size:
    mask |= x == above.min()
  distance = np.where(x < low, low - x, x - high)
  for index in np.argsort(distance, kind="stable"):
    if len(np.unique(x[mask])) >= MIN_POINTS:
      break
    mask[index] = True
  return mask


def _mean_difference(x_anchor, y_anchor, x_test, y_test, what):
  """Mean of fit_test(x) - fit_anchor(x) over the x-interval both cover."""
  low = max(x_anchor.min(), x_test.min())
  high = min(x_anchor.max(), x_test.max())
  if not low < high:
    raise NotComparable(f"{what}: the curves do not overlap")
  integrals = []
  for x, y, name in ((x_anchor, y_anchor, "anchor"), (x_test, y_test, "test")):
    mask = _near_interval(x, low, high)
    if len(np.unique(x[mask])) < MIN_POINTS:
      raise NotComparable(f"{what}: the {name} curve has fewer than "
                          f"{MIN_POINTS} points over the overlap")
    # Centring x keeps the cubic least-squares problem well conditioned.
    centre = 0.5 * (low + high)
    antiderivative = np.polyint(np.polyfit(x[mask] - centre, y[mask], 3))
    integrals.append(np.polyval(antiderivative, high - centre) -
                     np.polyval(antiderivative, low - centre))
  return (integrals[1] - integrals[0]) / (high - low)


def bd_rate(anchor_rates, anchor_qualities, test_rates, test_qualities):
  """Average rate difference of `test` vs `anchor` at equal quality, in %.

  Raises `NotComparable` when the curves have too few points or no overlap.
  """
  log_rate_a, quality_a = _points(anchor_rates, anchor_qualities, "anchor")
  log_rate_t, quality_t = _points(test_rates, test_qualities, "test")
  difference = _mean_difference(quality_a, log_rate_a, quality_t, log_rate_t,
                                "BD-rate")
  return (math.exp(difference) - 1.) * 100.


def bd_quality(anchor_rates, anchor_qualities, test_rates, test_qualities):
  """Average quality difference of `test` vs `anchor` at equal rate.

  In the quality's unit: dB for PSNR (BD-PSNR). Raises `NotComparable`.
  """
  log_rate_a, quality_a = _points(anchor_rates, anchor_qualities, "anchor")
  log_rate_t, quality_t = _points(test_rates, test_qualities, "test")
  return _mean_difference(log_rate_a, quality_a, log_rate_t, quality_t,
                          "BD-quality")
