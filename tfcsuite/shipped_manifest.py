"""checkpoints/manifest.json: every shipped checkpoint in one generated file.

`tfcs manifest` writes it from each shipped checkpoint's own manifest.json
(written by `train`) and the committed Kodak harness results; `tfcs manifest
--check` says whether the file is up to date (a test compares it too). Per
checkpoint: model, name, weights fingerprint, configuration and training
hyperparameters, data, steps, training wall time, the machine, CPU and
TensorFlow it trained on, the git commit of the code and whether it had
local edits, what it was fine-tuned from, and its Kodak means per operating
point. Fields a checkpoint's manifest does not record (the CPU model and the
commit in older ones) and Kodak means that no committed complete harness run
measured are null.
"""

import json
import os

from tfcsuite import UserError, checkpoint as checkpoint_lib, zoo
from tfcsuite.harness import shipped_results

PATH = zoo.CHECKPOINTS / "manifest.json"


def _kodak(script, checkpoint):
  points = []
  for point in shipped_results.kodak_means(script, checkpoint):
    mean = point.kodak
    points.append(dict(
        operating_point=point.label, options=point.options,
        bpp=mean and round(mean.bpp, 4), psnr=mean and round(mean.psnr, 3),
        results=mean and mean.source, measured=mean and mean.date,
        weights_checked=mean and mean.fingerprint_checked))
  return points


def record(script, path):
  """The index entry of the checkpoint folder `path` of `script`'s model."""
  with open(os.path.join(path, checkpoint_lib.MANIFEST)) as f:
    manifest = json.load(f)
  checkpoint = checkpoint_lib.Checkpoint(
      path, manifest, weights=None,
      fingerprint=checkpoint_lib.fingerprint_of(path))
  provenance = manifest.get("provenance") or {}
  machine = provenance.get("platform") or {}
  return dict(
      model=script.name, checkpoint=checkpoint.name,
      path=os.path.relpath(path, zoo.REPO_ROOT),
      default=checkpoint.name == script.default_checkpoint,
      weights_crc32=f"{checkpoint.fingerprint:08x}",
      config=checkpoint.config,
      hyperparameters=provenance.get("hyperparameters"),
      init_from=provenance.get("init_from"),
      data=_data(provenance.get("data")),
      steps=provenance.get("steps"),
      wall_seconds=provenance.get("wall_seconds"),
      cpu=machine.get("cpu"), cpus=machine.get("cpus"),
      machine=machine.get("machine"),
      tensorflow=machine.get("tensorflow"),
      git=provenance.get("git"),  # {"sha", "dirty"}
      date=provenance.get("date"),
      kodak=_kodak(script, checkpoint))


def _data(data):
  """The data description, with file lists (a shell's glob expansion)
  shortened to their count."""
  if not data:
    return data
  return {key: (f"{len(value)} files" if isinstance(value, list) and
                len(value) > 8 else value) for key, value in data.items()}


def generate():
  """The index, as a JSON text: every registered model's shipped
  checkpoints, sorted by model and name."""
  entries = []
  for name in sorted(zoo.MODEL_SCRIPTS):
    script = zoo.load_script(name)
    entries += [record(script, path)
                for path in zoo.shipped_checkpoints(name)]
  text = json.dumps(dict(
      generator="tfcs manifest",
      note="Generated from checkpoints/*/*/manifest.json and the committed "
           "Kodak results; do not edit.",
      checkpoints=entries), indent=2, sort_keys=True)
  return text + "\n"


def run(check=False, path=PATH):
  """Writes the index (or, with `check`, fails unless it is up to date)."""
  text = generate()
  if check:
    current = None
    if os.path.isfile(path):
      with open(path) as f:
        current = f.read()
    if current != text:
      raise UserError(f"{os.path.relpath(path, zoo.REPO_ROOT)} is stale: "
                      f"run `tfcs manifest`")
    return f"{os.path.relpath(path, zoo.REPO_ROOT)} is up to date"
  with open(path, "w") as f:
    f.write(text)
  return f"wrote {os.path.relpath(path, zoo.REPO_ROOT)}"
