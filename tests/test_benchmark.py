"""Tests of the Kodak benchmark harness (benchmarks/), on 2 images.

Metric values are checked against independent numpy computations from the
files the harness wrote, Bjøntegaard deltas against curves with known answers,
the output against CompressAI's results schema, and resuming against a count
of encoder calls.
"""

import csv
import json
import math
import os
import struct
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import BENCHMARKS, PYTHON, REPO_ROOT

from tfcsuite.harness import (bitstreams, bjontegaard, classical, curves,
                              kodak_cli, markdown, readme_block)

IMAGES = ("kodim01.png", "kodim04.png")  # One landscape, one portrait.
QUALITIES = ("30", "70")


def _read_csv(out):
  with open(out / "kodak_per_image.csv") as f:
    return list(csv.DictReader(f))


def _bitstream(out, row):
  """The kept file of a per-image row (cache/<curve>/<point folder>/...)."""
  stem = os.path.splitext(row["image"])[0]
  matches = list((out / "cache" / row["curve"]).glob(f"{row['point']}*/"
                                                     f"{stem}.*"))
  files = [m for m in matches if m.suffix != ".json"]
  assert len(files) == 1, matches
  return files[0]


def _original(kodak_dir, name):
  with Image.open(kodak_dir / name) as image:
    return np.asarray(image.convert("RGB"), dtype=np.float64)


def _decoded_jpeg(path):
  with Image.open(path) as image:
    assert image.format == "JPEG"
    return np.asarray(image.convert("RGB"), dtype=np.float64)


@pytest.fixture(scope="module")
def end_to_end(tmp_path_factory, kodak_dir, reference_dir,
               tiny_balle17_checkpoint):
  """One run as a user runs it: JPEG 4:2:0 at 2 qualities and a tiny balle17."""
  out = tmp_path_factory.mktemp("kodak_e2e")
  result = subprocess.run(
      [PYTHON, str(BENCHMARKS / "kodak.py"),
       "--models", "balle17", "--no_shipped_checkpoints",
       "--checkpoint", f"balle17={tiny_balle17_checkpoint}",
       "--codecs", "jpeg420", "--qualities", ",".join(QUALITIES),
       "--images", ",".join(IMAGES), "--data_dir", str(kodak_dir),
       "--reference_dir", str(reference_dir), "--out", str(out),
       "--keep_bitstreams", "--quiet"],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  return out


# ------------------------------------------------------------------- metrics


def test_bpp_is_real_file_size_times_8_over_pixels(end_to_end):
  rows = _read_csv(end_to_end)
  assert {r["curve"] for r in rows} == {"jpeg420", "balle17"}
  assert len(rows) == 2 * len(IMAGES) + len(IMAGES)
  for row in rows:
    size = _bitstream(end_to_end, row).stat().st_size
    pixels = int(row["height"]) * int(row["width"])
    assert int(row["file_bytes"]) == size
    assert float(row["bpp"]) == pytest.approx(size * 8 / pixels, rel=1e-12)


def test_model_payload_is_container_strings_and_estimate_is_labelled(
    end_to_end):
  from tfcsuite import container
  for row in _read_csv(end_to_end):
    if row["curve"] != "balle17":
      assert row["model_estimate_bpp"] == ""  # Codecs have no estimate.
      continue
    parsed = container.unpack(_bitstream(end_to_end, row).read_bytes())
    assert int(row["payload_bytes"]) == sum(len(s) for s in parsed.strings)
    # The header (names, fingerprint, shapes, CRC) is a few dozen bytes.
    assert 20 < int(row["file_bytes"]) - int(row["payload_bytes"]) < 80
    # The estimate is the prior's information content: close to, not equal
    # to, what the range coder wrote.
    estimate, payload = (float(row["model_estimate_bpp"]),
                         float(row["payload_bpp"]))
    assert estimate == pytest.approx(payload, rel=0.05)


def test_psnr_matches_numpy_on_decoded_jpeg(end_to_end, kodak_dir):
  for row in _read_csv(end_to_end):
    if row["curve"] != "jpeg420":
      continue
    original = _original(kodak_dir, row["image"])
    decoded = _decoded_jpeg(_bitstream(end_to_end, row))
    mse = np.mean((original - decoded) ** 2)
    assert float(row["mse"]) == pytest.approx(mse, rel=1e-12)
    assert float(row["psnr_rgb"]) == pytest.approx(
        10 * np.log10(255 ** 2 / mse), abs=1e-9)


def test_y_psnr_matches_numpy_bt601_luma(end_to_end, kodak_dir):
  def luma(rgb):
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
  for row in _read_csv(end_to_end):
    if row["curve"] != "jpeg420":
      continue
    original = _original(kodak_dir, row["image"])
    decoded = _decoded_jpeg(_bitstream(end_to_end, row))
    mse = np.mean((luma(original) - luma(decoded)) ** 2)
    assert float(row["y_psnr"]) == pytest.approx(
        10 * np.log10(255 ** 2 / mse), abs=1e-9)


def _ms_ssim_numpy(x, y):
  """MS-SSIM (Wang et al. 2003) with TF's conventions, in float64 numpy.

  11x11 Gaussian window (sigma 1.5) over the valid region, K1 = 0.01,
  K2 = 0.03, 2x2 average downsampling, the paper's five scale weights,
  negative terms clipped to 0, computed per RGB channel and averaged.
  """
  weights = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
  c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
  taps = np.exp(-0.5 * (np.arange(11) - 5.) ** 2 / 1.5 ** 2)
  taps /= taps.sum()

  def local_mean(image):
    # Separable Gaussian over the valid region only (no padding).
    rows, cols = image.shape[0] - 10, image.shape[1] - 10
    vertical = sum(t * image[k:k + rows] for k, t in enumerate(taps))
    return sum(t * vertical[:, k:k + cols] for k, t in enumerate(taps))

  values = []
  for channel in range(3):
    a, b = x[..., channel], y[..., channel]
    terms = []
    for scale in range(len(weights)):
      mu_a, mu_b = local_mean(a), local_mean(b)
      var_a = local_mean(a * a) - mu_a ** 2
      var_b = local_mean(b * b) - mu_b ** 2
      covariance = local_mean(a * b) - mu_a * mu_b
      cs = (2 * covariance + c2) / (var_a + var_b + c2)
      if scale < len(weights) - 1:
        terms.append(max(cs.mean(), 0.))
        a = (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) / 4
        b = (b[0::2, 0::2] + b[1::2, 0::2] + b[0::2, 1::2] + b[1::2, 1::2]) / 4
      else:
        luminance = (2 * mu_a * mu_b + c1) / (mu_a ** 2 + mu_b ** 2 + c1)
        terms.append(max((luminance * cs).mean(), 0.))
    values.append(np.prod(np.power(terms, weights)))
  return float(np.mean(values))


def test_ms_ssim_matches_independent_numpy(end_to_end, kodak_dir):
  for row in _read_csv(end_to_end):
    if row["curve"] != "jpeg420":
      continue
    original = _original(kodak_dir, row["image"])
    decoded = _decoded_jpeg(_bitstream(end_to_end, row))
    expected = _ms_ssim_numpy(original, decoded)
    assert 0.9 < expected < 1.
    # TensorFlow computes in float32.
    assert float(row["ms_ssim_rgb"]) == pytest.approx(expected, abs=2e-5)
    assert float(row["ms_ssim_db_rgb"]) == pytest.approx(
        -10 * math.log10(1 - float(row["ms_ssim_rgb"])), abs=1e-9)


def test_independent_ms_ssim_of_identical_images_is_one(kodak_dir):
  image = _original(kodak_dir, IMAGES[0])
  assert _ms_ssim_numpy(image, image) == pytest.approx(1., abs=1e-12)


def test_curve_values_are_means_of_per_image_values(end_to_end):
  rows = _read_csv(end_to_end)
  with open(end_to_end / "curves" / "jpeg420.json") as f:
    curve = json.load(f)
  for index, point in enumerate(curve["points"]):
    selected = [r for r in rows if r["curve"] == "jpeg420"
                and r["point"] == point]
    assert len(selected) == len(IMAGES)
    for key, column in (("bpp", "bpp"), ("psnr-rgb", "psnr_rgb"),
                        ("ms-ssim-rgb", "ms_ssim_rgb"),
                        ("ms-ssim-db-rgb", "ms_ssim_db_rgb")):
      assert curve["results"][key][index] == pytest.approx(
          np.mean([float(r[column]) for r in selected]), rel=1e-12)
    assert curve["results"]["encoding_time"][index] == pytest.approx(
        np.mean([float(r["encode_ms"]) for r in selected]) / 1000, rel=1e-9)
  assert curve["results"]["bpp"] == sorted(curve["results"]["bpp"])


# ------------------------------------------------------------------- outputs


def test_curve_json_follows_compressai_schema(end_to_end):
  for name in ("jpeg420", "balle17"):
    with open(end_to_end / "curves" / f"{name}.json") as f:
      curve = json.load(f)
    assert curve["name"] == name
    assert isinstance(curve["description"], str) and curve["description"]
    count = len(curve["points"])
    assert count == (len(QUALITIES) if name == "jpeg420" else 1)
    for key in ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time",
                "decoding_time", "payload-bpp", "psnr-y", "ms-ssim-db-rgb"):
      values = curve["results"][key]
      assert len(values) == count
      assert all(isinstance(v, float) and v > 0 for v in values)
    assert ("model-estimate-bpp" in curve["results"]) == (name == "balle17")


def test_combined_json_records_environment(end_to_end):
  with open(end_to_end / "kodak.json") as f:
    combined = json.load(f)
  meta = combined["metadata"]
  assert [c["name"] for c in combined["curves"]] == ["jpeg420", "balle17"]
  assert meta["images"] == list(IMAGES) and meta["complete"] is False
  assert meta["cpu"]["cores"] == os.cpu_count() and meta["cpu"]["model"]
  assert meta["threads"]["requested"] == 1
  assert meta["threads"]["tensorflow intra_op"] == 1
  assert meta["threads"]["tensorflow inter_op"] == 1
  assert meta["versions"]["TensorFlow"] == "2.14.1"
  assert meta["versions"]["TensorFlow Compression"] == "2.14.1"
  assert meta["versions"]["Pillow"] == Image.__version__
  assert meta["versions"]["jpeg420"].startswith("libjpeg")
  git_sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT,
                           capture_output=True, text=True).stdout.strip()
  assert meta["git"]["sha"] == git_sha
  assert (meta["measurements"], meta["from_cache"]) == (6, 0)


def test_markdown_and_plots_are_written(end_to_end):
  summary = (end_to_end / "kodak.md").read_text()
  assert "| JPEG 4:2:0 (`jpeg420`) | 2 |" in summary
  # One checkpoint cannot make a curve: BD values are n/a with the reason.
  assert "| `balle17` | 1 |" in summary
  assert "the test curve has 1 point, fewer than 4" in summary
  assert "balle-2017-iclr-opt-mse" in summary
  for name in ("kodak_psnr.png", "kodak_ms_ssim.png"):
    with Image.open(end_to_end / name) as image:
      assert image.format == "PNG" and image.width > 400


# ---------------------------------------------------------------- Bjøntegaard

ANCHOR_BPP = [0.2, 0.4, 0.7, 1.1, 1.6, 2.4]
ANCHOR_PSNR = [27.1, 29.6, 31.9, 34.0, 35.8, 38.2]


def test_bd_rate_of_rates_scaled_by_0_8_is_minus_20_percent():
  scaled = [0.8 * r for r in ANCHOR_BPP]
  assert bjontegaard.bd_rate(ANCHOR_BPP, ANCHOR_PSNR, scaled,
                             ANCHOR_PSNR) == pytest.approx(-20., abs=1e-9)
  assert bjontegaard.bd_rate(scaled, ANCHOR_PSNR, ANCHOR_BPP,
                             ANCHOR_PSNR) == pytest.approx(25., abs=1e-9)


def test_bd_psnr_of_quality_shifted_by_half_db_is_half_db():
  shifted = [q + 0.5 for q in ANCHOR_PSNR]
  assert bjontegaard.bd_quality(ANCHOR_BPP, ANCHOR_PSNR, ANCHOR_BPP,
                                shifted) == pytest.approx(0.5, abs=1e-9)


def test_bd_rate_hand_checked_over_partial_overlap():
  # Anchor: ln R = Q / 10 for Q = 30..38 dB. Test: ln R lower by
  # (Q - 30) / 80, for Q = 32..40 dB. Over the overlap [32, 38] the mean
  # log-rate difference is -(35 - 30) / 80 = -0.0625, so
  # BD-rate = e^-0.0625 - 1 = -6.0587 %.
  anchor_q = [30., 32., 34., 36., 38.]
  test_q = [32., 34., 36., 38., 40.]
  anchor_r = [math.exp(q / 10) for q in anchor_q]
  test_r = [math.exp(q / 10 - (q - 30) / 80) for q in test_q]
  assert bjontegaard.bd_rate(anchor_r, anchor_q, test_r, test_q) == (
      pytest.approx(-6.0587, abs=1e-4))


def test_bd_rate_uses_further_points_of_a_curve_sparse_over_the_overlap():
  # The anchor has one point inside the test curve's range [33, 35] and one
  # beyond each end; its next-nearest point (at 42 dB) completes the cubic.
  # ln R is linear in Q for both, 0.05 lower for the test: -4.8771 %.
  anchor_q = [20., 30., 34., 38., 42.]
  test_q = [33., 33.5, 34., 34.5, 35.]
  anchor_r = [math.exp(q / 10) for q in anchor_q]
  test_r = [math.exp(q / 10 - 0.05) for q in test_q]
  assert bjontegaard.bd_rate(anchor_r, anchor_q, test_r, test_q) == (
      pytest.approx((math.exp(-0.05) - 1) * 100, abs=1e-6))


def test_bd_is_not_comparable_with_few_points_or_no_overlap():
  with pytest.raises(bjontegaard.NotComparable, match="3 points"):
    bjontegaard.bd_rate(ANCHOR_BPP, ANCHOR_PSNR, [0.3, 0.6, 1.0],
                        [28., 31., 33.])
  with pytest.raises(bjontegaard.NotComparable, match="do not overlap"):
    bjontegaard.bd_rate(ANCHOR_BPP, ANCHOR_PSNR, ANCHOR_BPP,
                        [q + 20 for q in ANCHOR_PSNR])


# --------------------------------------------------------- classical payloads


def test_jpeg_payload_is_the_scan_data(kodak_dir):
  data = classical.CODECS["jpeg420"].encode(
      _original(kodak_dir, IMAGES[0]).astype(np.uint8), 50)
  # Baseline JPEG: one scan, from the end of the SOS segment to EOI.
  sos = data.index(b"\xff\xda")
  (length,) = struct.unpack(">H", data[sos + 2:sos + 4])
  scan = data.rindex(b"\xff\xd9") - (sos + 2 + length)
  assert bitstreams.payload_bytes("JPEG", data) == scan


def test_webp_and_avif_payloads_are_their_coded_chunks(kodak_dir):
  image = _original(kodak_dir, IMAGES[0]).astype(np.uint8)
  webp = classical.CODECS["webp"].encode(image, 50)
  assert webp[12:16] == b"VP8 "  # Simple lossy WebP: RIFF header + 1 chunk.
  assert bitstreams.payload_bytes("WEBP", webp) == struct.unpack(
      "<I", webp[16:20])[0] == len(webp) - 20
  avif = classical.CODECS["avif"].encode(image, 50)
  mdat = avif.index(b"mdat") - 4
  assert bitstreams.payload_bytes("AVIF", avif) == struct.unpack(
      ">I", avif[mdat:mdat + 4])[0] - 8


def test_jpeg2000_payload_meets_the_target_rate(kodak_dir):
  image = _original(kodak_dir, IMAGES[0]).astype(np.uint8)
  data = classical.CODECS["jpeg2000"].encode(image, 24)  # 1 bpp.
  payload = bitstreams.payload_bytes("JPEG2000", data)
  # OpenJPEG's rate control counts the codestream; the JP2 boxes and the
  # codestream's main and tile-part headers are the rest.
  assert 100 < len(data) - payload < 1000
  assert payload * 8 / image[..., 0].size == pytest.approx(1., abs=0.02)


# -------------------------------------------------------------------- resume


def _count_encodes(monkeypatch):
  from tfcsuite import image_io
  calls = []
  original = image_io.encode_image

  def counting(*args, **kwargs):
    calls.append(args[1])
    return original(*args, **kwargs)
  monkeypatch.setattr(image_io, "encode_image", counting)
  return calls


def _run_in_process(kodak_dir, out, qualities, capsys):
  status = kodak_cli.main([
      "--models", "none", "--codecs", "jpeg420", "--qualities", qualities,
      "--images", ",".join(IMAGES), "--data_dir", str(kodak_dir),
      "--out", str(out), "--quiet"])
  assert status == 0, capsys.readouterr().err
  with open(out / "kodak.json") as f:
    return json.load(f)["metadata"]


def test_rerun_resumes_from_cache_without_encoding(tmp_path, kodak_dir,
                                                   monkeypatch, capsys):
  calls = _count_encodes(monkeypatch)
  _run_in_process(kodak_dir, tmp_path, "30", capsys)
  assert len(calls) == 1 + len(IMAGES)  # Warm-up, then each image.
  first_csv = (tmp_path / "kodak_per_image.csv").read_text()

  # As if interrupted after q30: only q70 is encoded (warm-up + 2 images).
  calls.clear()
  meta = _run_in_process(kodak_dir, tmp_path, "30,70", capsys)
  assert len(calls) == 1 + len(IMAGES)
  assert (meta["measurements"], meta["from_cache"]) == (4, 2)

  calls.clear()
  meta = _run_in_process(kodak_dir, tmp_path, "30,70", capsys)
  assert calls == []
  assert (meta["measurements"], meta["from_cache"]) == (4, 4)
  rows = (tmp_path / "kodak_per_image.csv").read_text().splitlines()
  assert set(first_csv.splitlines()[1:]) <= set(rows[1:])


def test_cached_result_made_with_other_settings_is_measured_again(
    tmp_path, kodak_dir, monkeypatch, capsys):
  _run_in_process(kodak_dir, tmp_path, "30", capsys)
  entry_path = tmp_path / "cache" / "jpeg420" / "q30" / "kodim01.json"
  entry = json.loads(entry_path.read_text())
  entry["key"]["library"] = "libjpeg 0.0"
  entry_path.write_text(json.dumps(entry))
  calls = _count_encodes(monkeypatch)
  meta = _run_in_process(kodak_dir, tmp_path, "30", capsys)
  assert len(calls) == 1 + 1  # Warm-up and kodim01 only.
  assert meta["from_cache"] == 1


# -------------------------------------------------------------- user errors


def _run_cli(*args):
  return subprocess.run([PYTHON, str(BENCHMARKS / "kodak.py"), *args],
                        cwd=REPO_ROOT, capture_output=True, text=True,
                        timeout=120)


def test_missing_data_dir_is_one_line_error(tmp_path):
  result = _run_cli("--data_dir", str(tmp_path / "nowhere"), "--out",
                    str(tmp_path / "out"))
  assert result.returncode == 1
  assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
  assert "does not exist" in result.stderr


def test_incomplete_data_dir_is_one_line_error(tmp_path, kodak_dir):
  partial = tmp_path / "kodak"
  partial.mkdir()
  (partial / "kodim01.png").symlink_to(kodak_dir / "kodim01.png")
  result = _run_cli("--data_dir", str(partial), "--out", str(tmp_path / "o"))
  assert result.returncode == 1 and result.stderr.count("\n") == 1
  assert "incomplete: 23 of 24 files missing" in result.stderr


def test_altered_image_fails_checksum_with_one_line_error(tmp_path):
  altered = tmp_path / "kodak"
  altered.mkdir()
  (altered / "kodim01.png").write_bytes(b"not the Kodak image")
  result = _run_cli("--data_dir", str(altered), "--images", "kodim01.png",
                    "--out", str(tmp_path / "o"))
  assert result.returncode == 1 and result.stderr.count("\n") == 1
  assert "SHA-256" in result.stderr


@pytest.mark.parametrize("flags, status, message", [
    (["--threads", "0"], 2, "must be at least 1"),
    (["--codecs", "jpeg,gif"], 1, "unknown codec 'gif'"),
    (["--qualities", "jpeg420=101"], 1, "quality must be an integer 0..100"),
    (["--checkpoint", "balle17"], 1, "expected MODEL=PATH"),
    (["--readme", "README.md"], 1, "--readme needs a full run"),
])
def test_bad_flag_is_one_line_error(tmp_path, kodak_dir, flags, status,
                                    message):
  result = _run_cli("--data_dir", str(kodak_dir), "--images", "kodim01.png",
                    "--out", str(tmp_path / "o"), *flags)
  assert result.returncode == status
  assert result.stderr.count("\n") == 1 and message in result.stderr


# -------------------------------------------------------------------- README


def test_readme_block_is_replaced_between_markers(tmp_path):
  readme = tmp_path / "README.md"
  readme.write_text(
      f"# Title\n\n{readme_block.README_BEGIN} (generated) -->\n"
      f"old table\n{readme_block.README_END}\n\nMore text.\n")
  plot = tmp_path / "results" / "kodak_psnr.png"
  readme_block.update_readme(str(readme), "| new | table |\n",
                             [("PSNR", plot)])
  assert readme.read_text() == (
      f"# Title\n\n{readme_block.README_BEGIN} (generated) -->\n"
      f"| new | table |\n\n![PSNR](results/kodak_psnr.png)\n"
      f"{readme_block.README_END}\n\nMore text.\n")


def test_readme_results_come_from_the_committed_results():
  results = REPO_ROOT / "benchmarks" / "results" / "kodak.md"
  if not results.exists():
    pytest.skip("no committed full Kodak run yet")
  readme = (REPO_ROOT / "README.md").read_text()
  begin = readme.index(readme_block.README_BEGIN)
  block = readme[readme.index("\n", begin) + 1:
                 readme.index(readme_block.README_END)]
  table = [line for line in block.splitlines() if line.startswith("|")]
  assert table, "README has no results table"
  generated = results.read_text().splitlines()
  assert all(line in generated for line in table)


def test_rd_loss_is_bpp_plus_lambda_mse_for_models_only():
  assert curves.rd_loss(1.25, 100., {"config": {"lmbda": 0.01}}) == 2.25
  assert curves.rd_loss(1.25, 100., {"quality": 50}) is None


def _curve(name, kind, bpp, psnr):
  spec = curves.CurveSpec(name=name, label=name, description="", kind=kind,
                          published_curve=None, points=[])
  means = {field: [None] * len(bpp) for field in curves.AVERAGED}
  means.update(bpp=list(bpp), psnr_rgb=list(psnr))
  return curves.CurveResult(spec, [str(b) for b in bpp], [{}] * len(bpp),
                            means)


def test_models_are_compared_with_each_other_not_with_codecs():
  older = _curve("balle17", "model", ANCHOR_BPP, ANCHOR_PSNR)
  newer = _curve("balle18", "model", [0.8 * r for r in ANCHOR_BPP],
                 ANCHOR_PSNR)
  codec = _curve("webp", "codec", ANCHOR_BPP, ANCHOR_PSNR)
  curves._compare_models([older, newer, codec])
  assert newer.comparisons["models"]["balle17"]["bd_rate_psnr"] == (
      pytest.approx(-20., abs=1e-9))
  assert older.comparisons["models"]["balle18"]["bd_rate_psnr"] == (
      pytest.approx(25., abs=1e-9))
  assert "models" not in codec.comparisons
  table = markdown._models_table([older, newer, codec])
  assert "| `balle18` | -20.0 % | — |" in table
