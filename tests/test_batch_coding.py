"""Batch coding: `compress a.png b.png ...` / folders in one process, the
two-name form `compress IN OUT` kept, and decoded images refused in a format
that cannot hold them, before anything is decoded."""

import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import PYTHON, REPO_ROOT

from tfcsuite import UserError, cli, coding, image_io, zoo
from tfcsuite.coding_jobs import Job, plan

GOLDEN = REPO_ROOT / "tests" / "golden"


def run_cli(*argv, model="balle17"):
  """A model script's command line in this process; the exit status."""
  script = zoo.load_script(model)
  args = cli.parse_args(script, [f"{model}.py", *map(str, argv)])
  try:
    cli._run(script, args)  # pylint: disable=protected-access
  except SystemExit as exit_:
    return exit_.code
  return 0


@pytest.fixture
def crops(tmp_path, kodak_dir):
  """Three 64x96 crops of Kodak images, as PNG files in tmp_path/in."""
  folder = tmp_path / "in"
  folder.mkdir()
  paths = []
  for name in ("kodim01", "kodim02", "kodim03"):
    image = image_io.read_image(str(kodak_dir / f"{name}.png"))[:64, :96]
    image_io.write_image(str(folder / f"{name}.png"), image)
    paths.append(folder / f"{name}.png")
  return paths


# ------------------------------------------------------ which files, the rule


@pytest.mark.parametrize("command, names, expected", [
    ("compress", ["a.png", "a.tfci"], [("a.png", "a.tfci")]),
    ("compress", ["a.png", "keep"], [("a.png", "keep")]),
    ("compress", ["a.png", "b.JPG"], [("a.png", "a.png.tfci"),
                                      ("b.JPG", "b.JPG.tfci")]),
    ("compress", ["a.png"], [("a.png", "a.png.tfci")]),
    ("decompress", ["a.tfci", "a.webp"], [("a.tfci", "a.webp")]),
    ("decompress", ["a.tfci", "out.xyz"], [("a.tfci", "out.xyz")]),
    ("decompress", ["a.tfci", "b.tfci"], [("a.tfci", "a.tfci.png"),
                                          ("b.tfci", "b.tfci.png")]),
])
def test_second_of_two_names_is_the_output_unless_it_is_an_input(
    command, names, expected):
  assert plan(command, names) == [Job(*pair) for pair in expected]


def test_a_folder_as_second_name_is_an_input(crops, tmp_path):
  jobs = plan("compress", [str(tmp_path / "x.png"), str(tmp_path / "in")])
  assert [job.source for job in jobs] == [str(tmp_path / "x.png")] + [
      str(path) for path in crops]


def test_with_output_dir_every_name_is_an_input(tmp_path):
  assert plan("compress", ["d/a.png", "e/a.tfci"], str(tmp_path)) == [
      Job("d/a.png", str(tmp_path / "a.png.tfci")),
      Job("e/a.tfci", str(tmp_path / "a.tfci.tfci"))]


def test_two_inputs_with_one_output_are_refused(tmp_path):
  with pytest.raises(UserError, match="would both be written to"):
    plan("compress", ["x/a.png", "y/a.png"], str(tmp_path))


def test_folder_without_inputs_is_a_user_error(tmp_path):
  (tmp_path / "notes.txt").write_text("no image")
  with pytest.raises(UserError, match="holds no image files"):
    plan("compress", [str(tmp_path)])
  with pytest.raises(UserError, match=r"holds no \*\.tfci files"):
    plan("decompress", [str(tmp_path)])


# ------------------------------------------------------------- batch compress


def test_three_images_give_the_files_of_three_single_runs(crops, tmp_path):
  assert run_cli("compress", *crops) == 0
  for path in crops:
    assert run_cli("compress", path, tmp_path / "single.tfci",
                   "--overwrite") == 0
    assert (path.parent / (path.name + ".tfci")).read_bytes() == (
        tmp_path / "single.tfci").read_bytes()


def test_the_model_is_built_once_for_a_batch(crops, monkeypatch):
  script = zoo.load_script("balle17")
  built = []
  original = script.coding_model
  monkeypatch.setattr(script, "coding_model",
                      lambda ckpt: built.append(ckpt) or original(ckpt))
  assert run_cli("compress", *crops) == 0
  assert len(built) == 1


def test_folder_is_compressed_into_output_dir(crops, tmp_path):
  folder = crops[0].parent
  (folder / "notes.txt").write_text("not an image")
  (folder / ".unfinished.png").write_bytes(b"")  # Hidden: skipped.
  (tmp_path / "out").mkdir()
  assert run_cli("compress", folder, "--output_dir", tmp_path / "out") == 0
  assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
      "kodim01.png.tfci", "kodim02.png.tfci", "kodim03.png.tfci"]


def test_one_bad_file_gets_one_line_and_the_others_are_coded(crops):
  bad = crops[0].parent / "bad.png"
  bad.write_text("hello")
  result = subprocess.run(
      [PYTHON, str(REPO_ROOT / "models" / "balle17.py"), "compress",
       crops[0], bad, crops[2]], capture_output=True, text=True, timeout=600)
  assert result.returncode == 1
  assert result.stderr == (f"balle17.py: error: '{bad}' is not an image "
                           f"Pillow can read\n")
  assert sorted(p.name for p in crops[0].parent.glob("*.tfci")) == [
      "kodim01.png.tfci", "kodim03.png.tfci"]


def test_existing_output_in_a_batch_is_kept_and_reported(crops, capsys):
  kept = crops[1].parent / "kodim02.png.tfci"
  kept.write_bytes(b"precious")
  assert run_cli("compress", *crops) == 1
  error = capsys.readouterr().err
  assert error.count("\n") == 1 and "kodim02.png.tfci' exists; pass " \
      "--overwrite" in error
  assert kept.read_bytes() == b"precious"
  assert (crops[0].parent / "kodim03.png.tfci").is_file()


# ----------------------------------------------------------- batch decompress


def test_folder_decodes_each_file_with_the_checkpoint_it_names(tmp_path):
  stems = ("balle17_lambda0.002", "balle17_lambda0.01")
  for stem in stems:
    (tmp_path / f"{stem}.tfci").write_bytes(
        (GOLDEN / f"{stem}.tfci").read_bytes())
  assert run_cli("decompress", tmp_path) == 0
  for stem in stems:
    np.testing.assert_array_equal(
        image_io.read_image(str(tmp_path / f"{stem}.tfci.png")),
        image_io.read_image(str(GOLDEN / f"{stem}.png")))


# ------------------------------------------------------ decoded image formats


@pytest.fixture
def no_decoding(monkeypatch):
  def fail(*_):
    raise AssertionError("decoded before the output name was checked")
  monkeypatch.setattr(coding, "decode", fail)


@pytest.mark.parametrize("name, message", [
    ("out.xyz", "cannot write images with extension '.xyz'; use .png"),
    ("out.gif", "cannot write decoded images with extension '.gif'"),
    ("out.jpg", "would be JPEG, a lossy format: it would not hold the "
                "decoded image exactly; write .png, or pass --lossy_output"),
    ("out.webp", "would be WEBP, a lossy format"),
])
def test_output_format_is_refused_before_decoding(name, message, tmp_path,
                                                   no_decoding, capsys):
  del no_decoding
  status = run_cli("decompress", GOLDEN / "balle17_lambda0.01.tfci",
                   tmp_path / name)
  error = capsys.readouterr().err
  assert status == 1 and error.count("\n") == 1 and message in error, error
  assert list(tmp_path.iterdir()) == []


def test_lossy_output_writes_a_jpeg_when_asked(tmp_path):
  assert run_cli("decompress", GOLDEN / "balle17_lambda0.01.tfci",
                 tmp_path / "out.jpg", "--lossy_output") == 0
  with Image.open(tmp_path / "out.jpg") as image:
    assert (image.format, image.size) == ("JPEG", (96, 64))


@pytest.mark.parametrize("extension", [".png", ".bmp", ".tif", ".ppm", ".tga",
                                       ".jp2"])
def test_lossless_formats_hold_the_decoded_image_exactly(extension, tmp_path):
  assert run_cli("decompress", GOLDEN / "balle17_lambda0.01.tfci",
                 tmp_path / f"out{extension}") == 0
  np.testing.assert_array_equal(
      image_io.read_image(str(tmp_path / f"out{extension}")),
      image_io.read_image(str(GOLDEN / "balle17_lambda0.01.png")))
