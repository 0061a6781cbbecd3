"""metrics.ssim is the SSIM of most papers' tables: scikit-image agrees."""

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from tfcsuite import image_io, metrics


@pytest.mark.parametrize("noise", [5, 40])
def test_ssim_matches_scikit_image(kodak_dir, noise):
  image = image_io.read_image(str(kodak_dir / "kodim23.png"))[:96, :128]
  rng = np.random.default_rng(noise)
  noisy = np.clip(image.astype(int) + rng.integers(-noise, noise + 1,
                                                   image.shape),
                  0, 255).astype(np.uint8)
  # Wang et al.'s settings: 11x11 Gaussian window (sigma 1.5, truncated at
  # 3.5 sigma), population covariances, per channel then averaged.
  expected = structural_similarity(
      image, noisy, channel_axis=-1, gaussian_weights=True, sigma=1.5,
      use_sample_covariance=False, data_range=255)
  assert metrics.ssim(image, noisy) == pytest.approx(expected, abs=1e-5)
