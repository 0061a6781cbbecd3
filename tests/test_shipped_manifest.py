"""checkpoints/manifest.json is generated (`tfcs manifest`) and up to date."""

import json

from tfcsuite import shipped_manifest, zoo


def test_committed_manifest_is_up_to_date():
  # Fails after a checkpoint or a Kodak result changes: run `tfcs manifest`.
  assert shipped_manifest.PATH.read_text() == shipped_manifest.generate()


def test_every_shipped_checkpoint_is_listed_with_its_training():
  entries = json.loads(shipped_manifest.PATH.read_text())["checkpoints"]
  listed = {(e["model"], e["checkpoint"]) for e in entries}
  assert listed == {(name, path.rsplit("/", 1)[-1])
                    for name in zoo.MODEL_SCRIPTS
                    for path in zoo.shipped_checkpoints(name)}
  for entry in entries:
    assert entry["steps"] > 0 and entry["wall_seconds"] > 0
    assert entry["cpus"] and entry["machine"] and entry["data"]


def test_a_checkpoint_without_kodak_results_has_null_means(
    tiny_balle17_checkpoint):
  entry = shipped_manifest.record(zoo.load_script("balle17"),
                                  str(tiny_balle17_checkpoint))
  assert entry["steps"] == 2 and entry["git"]["sha"]
  assert entry["kodak"] == [dict(
      operating_point="tiny", options={}, bpp=None, psnr=None, results=None,
      measured=None, weights_checked=None)]
