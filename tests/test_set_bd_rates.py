"""benchmarks/campaign/set_bd_rates.py: a set's BD-rates with fine-tune
snapshots in place of some of its points (issue 20), on the committed
balle18 harness run."""

import json

import pytest

from tfcsuite.harness import results_files

from conftest import REPO_ROOT, benchmark_script

RESULTS = REPO_ROOT / "benchmarks" / "results" / "balle18" / "kodak.json"


def _script():
  return benchmark_script("campaign/set_bd_rates")


def _snapshot(tmp_path, bpp, psnr, curves=1):
  """A snapshot's kodak.json as the harness writes it: `curves` curves of
  one point."""
  path = tmp_path / "kodak.json"
  path.write_text(json.dumps(dict(
      generator=results_files.GENERATOR, metadata={}, curves=[dict(
          name=f"snapshot{i}", label=f"snapshot{i}", description="",
          kind="model", published_curve=None, points=["checkpoint"],
          settings=[{}], comparisons={},
          results={"bpp": [bpp], "psnr-rgb": [psnr]})
          for i in range(curves)])))
  return str(path)


def _committed_bd_rate(anchor):
  curves = {c["name"]: c for c in json.loads(RESULTS.read_text())["curves"]}
  comparisons = curves["balle18"]["comparisons"]
  if anchor == "jpeg420":
    return comparisons["jpeg420"]["bd_rate_psnr"]
  return comparisons["models"][anchor]["bd_rate_psnr"]


def test_with_nothing_replaced_it_gives_the_runs_own_bd_rates(reference_dir):
  script = _script()
  curves, points = script.replaced_set(str(RESULTS), "balle18", [])
  rates = script.bd_rates(curves, "balle18", points, str(reference_dir))
  for anchor in ("jpeg420", "balle17"):
    assert rates[anchor] == pytest.approx(_committed_bd_rate(anchor),
                                          abs=0.01)


def test_a_better_snapshot_lowers_the_bd_rate(tmp_path, reference_dir):
  script = _script()
  curves, points = script.replaced_set(str(RESULTS), "balle18", [])
  bpp, psnr = points["lambda0.03"]
  before = script.bd_rates(curves, "balle18", points, str(reference_dir))
  curves, points = script.replaced_set(
      str(RESULTS), "balle18",
      [("lambda0.03", _snapshot(tmp_path, bpp, psnr + 0.5))])
  assert points["lambda0.03"] == (bpp, psnr + 0.5)
  after = script.bd_rates(curves, "balle18", points, str(reference_dir))
  for anchor in ("jpeg420", "balle17", "published"):
    assert after[anchor] < before[anchor] - 0.2


def test_an_unknown_point_is_a_one_line_error(tmp_path, capsys):
  status = _script().main([
      "--results", str(RESULTS), "--model", "balle18",
      "--replace", f"lambda9={_snapshot(tmp_path, 1., 30.)}",
      "--reference_dir", str(tmp_path)])
  assert status == 1
  assert capsys.readouterr().err.strip().splitlines() == [
      "set_bd_rates.py: error: balle18 has no point 'lambda9' in "
      f"{RESULTS}"]


def test_a_dropped_point_leaves_the_set():
  _, points = _script().replaced_set(str(RESULTS), "balle18", [],
                                     ["lambda0.08"])
  assert sorted(points) == ["lambda0.0008", "lambda0.003", "lambda0.01",
                            "lambda0.03"]


def test_a_snapshot_of_two_curves_is_a_one_line_error(tmp_path, capsys):
  snapshot = _snapshot(tmp_path, 1., 30., curves=2)
  status = _script().main([
      "--results", str(RESULTS), "--model", "balle18",
      "--replace", f"lambda0.03={snapshot}", "--reference_dir", str(tmp_path)])
  assert status == 1
  assert capsys.readouterr().err.strip().splitlines() == [
      f"set_bd_rates.py: error: {snapshot} is not one curve of one point"]
