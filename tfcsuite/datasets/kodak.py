"""The Kodak Lossless True Color Image Suite: 24 images for evaluation only.

The canonical PNG versions are Rich Franzen's (http://r0k.us/graphics/kodak/),
verified here by SHA-256. Three ways to get them:
  * `kodak_images(directory)`: read a local folder, checking every checksum;
  * `download(directory)`: fetch the 24 files (needs internet), atomically and
    checksum-verified; an existing verified file is not fetched again;
  * the TFDS builder `Kodak` (`tfds.builder("kodak")` after importing this
    module), which builds from a local folder given as TFDS's manual_dir, or
    downloads the files when none is given.
Never train on Kodak.
"""

import hashlib
import os
import tempfile
import urllib.request

from tfcsuite import UserError

URL_TEMPLATE = "http://r0k.us/graphics/kodak/kodak/{name}"

SHA256 = {
    "kodim01.png": "a56e27cbf5f843c048b6af1d6e090760e9c92fadba88b7dee0205918a37523bd",
    "kodim02.png": "4f4b74a79237e311d72cad958237b5f7088d8bce1c82305ebefe1a70e3022dfd",
    "kodim03.png": "e25ca1ff2f0c0cb5fdfd5f9b0a0bb21ac4c3de3c84a67f35b09a85d3306249db",
    "kodim04.png": "e3b946107c5d3441c022f678d0c3caf1e224d81b1604ba840a4f88e562de61aa",
    "kodim05.png": "10349e963c5c813d327852f82c1795fa4148d69fedffc4c589bee458e3ac3d53",
    "kodim06.png": "363510303b715d4cbc384e1ce227e466b613a09e1b71ae985882bf8e7fbd9b18",
    "kodim07.png": "b77d3f006f42414bb242222e0482e750c0fb9e5ee8d4bed2f6f11c5605fe54a4",
    "kodim08.png": "ba23983c76b4832ee0e8af0592664756841a16779acd69f792e268fb6d13d6e7",
    "kodim09.png": "6a4361c2fc194feb4edaa9f9a4a0620fb9943e460ac7fdf037fb0f6dd6607a7d",
    "kodim10.png": "9dfb70f5867c29ff9ed6313683f19b3d867849e40fbc0c4c54a4a89df341cf23",
    "kodim11.png": "7936814b58b5387fce2e4e2488b4ec830dadd95fa9520f358ddb30990b50f2b6",
    "kodim12.png": "d78c37c2f04f23761ed2367dd77e2db584ddd4c3950833fecf89f199a8126980",
    "kodim13.png": "bc34a3ce58dea09dce1704c997171602de90cb34d0c8503a988b77f473d39b08",
    "kodim14.png": "55a94550ff18f3246c4074fd32b77b0c74447c26b6ad274d564d999c0450ba6e",
    "kodim15.png": "7538cbb80cb9103606c48b806eae57d56c885c7f90b9b3be70a41160f9cbb683",
    "kodim16.png": "a89c7268ccd4718ba424a99fc4643c572cf692ca6eae887185ceb4e9f11d2e54",
    "kodim17.png": "37afcc89fbdcb76d9518e04b2fc011027e2f4cd14b3b2f83cefd721641a47c5b",
    "kodim18.png": "1a9258c365988961d87a0598725b609139c303ad48a5aad6c503c3b1a87849aa",
    "kodim19.png": "b7450b264b1b0a411390d8931b112c27905a992520fc90569dc4b920aa32bbdc",
    "kodim20.png": "3b46c71e3b92a563820ba32936be8330c586c41f938efd94be938386aae4328a",
    "kodim21.png": "ac958597c82073f6bb65129c68f72b651db5b9efd82e11547d07350214bc268b",
    "kodim22.png": "1cee58eb1f2d9c7ebb254d208a03c783ce6cf2c4d8c2cf45e235dd23b4ce1b29",
    "kodim23.png": "e3111a2fd4da24af15d6459ef9eacfe54106b38e27b4a21821b75c3f5d2d5baf",
    "kodim24.png": "1071c68372cc5a01435c2c225a5cf7d4bb803846ec08bb6b3d6721b156d7cb96",
}


def sha256_of(path):
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def verify(directory, names=None):
  """Paths of the named Kodak files in `directory`, all checksum-verified.

  Raises a one-line `UserError` naming what is missing or altered.
  """
  if not os.path.isdir(directory):
    raise UserError(f"Kodak folder {directory!r} does not exist (set "
                    f"--data_dir, or download the images with "
                    f"`python -m tfcsuite.datasets.kodak DIR`)")
  names = sorted(SHA256) if names is None else list(names)
  unknown = [n for n in names if n not in SHA256]
  if unknown:
    raise UserError(f"not Kodak image names: {', '.join(unknown)}")
  missing = [n for n in names
             if not os.path.isfile(os.path.join(directory, n))]
  if missing:
    raise UserError(f"Kodak folder {directory!r} is incomplete: "
                    f"{len(missing)} of {len(names)} files missing "
                    f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})")
  altered = [n for n in names
             if sha256_of(os.path.join(directory, n)) != SHA256[n]]
  if altered:
    raise UserError(f"Kodak files in {directory!r} fail their SHA-256 "
                    f"check: {', '.join(altered)}")
  return [os.path.join(directory, n) for n in names]


def fetch(url, path, sha256, opener=urllib.request.urlopen):
  """Downloads `url` to `path` atomically, refusing a wrong checksum."""
  parent = os.path.dirname(os.path.abspath(path))
  handle, temp = tempfile.mkstemp(prefix=".download-", dir=parent)
  try:
    digest = hashlib.sha256()
    with os.fdopen(handle, "wb") as out, opener(url) as response:
      for block in iter(lambda: response.read(1 << 20), b""):
        digest.update(block)
        out.write(block)
    if digest.hexdigest() != sha256:
      raise UserError(f"download of {url} has SHA-256 {digest.hexdigest()}, "
                      f"expected {sha256}")
    os.replace(temp, path)
  finally:
    if os.path.exists(temp):
      os.unlink(temp)


def download(directory, url_template=URL_TEMPLATE,
             opener=urllib.request.urlopen):
  """Makes `directory` hold the 24 verified Kodak PNGs; returns their paths."""
  os.makedirs(directory, exist_ok=True)
  for name, sha256 in sorted(SHA256.items()):
    path = os.path.join(directory, name)
    if os.path.isfile(path) and sha256_of(path) == sha256:
      continue
    fetch(url_template.format(name=name), path, sha256, opener)
  return verify(directory)


def _tfds_builder_class():
  import numpy as np
  import tensorflow_datasets as tfds
  from tfcsuite import image_io

  class Kodak(tfds.core.GeneratorBasedBuilder):
    """The 24 Kodak images as a TFDS dataset with a single `test` split."""

    VERSION = tfds.core.Version("1.0.0")
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Optional: a folder holding kodim01.png ... kodim24.png. Without it "
        "the images are downloaded from " + URL_TEMPLATE.format(name=""))

    def _info(self):
      return tfds.core.DatasetInfo(
          builder=self,
          description="Kodak Lossless True Color Image Suite (24 images).",
          features=tfds.features.FeaturesDict({
              "image": tfds.features.Image(shape=(None, None, 3),
                                           dtype=np.uint8),
              "filename": tfds.features.Text(),
          }),
          homepage="http://r0k.us/graphics/kodak/",
      )

    def _split_generators(self, dl_manager):
      manual = None
      try:
        manual = dl_manager.manual_dir
      except AssertionError:  # TFDS asserts when no manual_dir was given.
        pass
      if manual and os.path.isdir(manual):
        paths = verify(os.fspath(manual))
      else:
        paths = download(os.path.join(os.fspath(dl_manager.download_dir),
                                      "kodak"))
      return {"test": self._generate_examples(paths)}

    def _generate_examples(self, paths):
      for path in paths:
        name = os.path.basename(path)
        yield name, {"image": image_io.read_image(path), "filename": name}

  return Kodak


def __getattr__(name):
  # The TFDS builder is created on first use, so that importing this module
  # (e.g. by the benchmark harness) does not import TensorFlow Datasets.
  if name == "Kodak":
    globals()["Kodak"] = _tfds_builder_class()
    return globals()["Kodak"]
  raise AttributeError(name)


def main(argv=None):
  """`python -m tfcsuite.datasets.kodak DIRECTORY`: download and verify."""
  import argparse
  parser = argparse.ArgumentParser(
      prog="python -m tfcsuite.datasets.kodak",
      description="Downloads the 24 Kodak images into DIRECTORY (files "
                  "already there are kept if their SHA-256 is right) and "
                  "verifies them.")
  parser.add_argument("directory")
  args = parser.parse_args(argv)
  try:
    count = len(download(args.directory))
  except (UserError, OSError) as error:
    parser.exit(1, f"{parser.prog}: error: {error}\n")
  print(f"{count} verified Kodak images in {args.directory}")


if __name__ == "__main__":
  main()
