"""The generated results block of a Markdown file (the top-level README)."""

import os

from tfcsuite import UserError, image_io

README_BEGIN = "<!-- kodak-results:begin"
README_END = "<!-- kodak-results:end -->"


def locate(path, begin_marker=README_BEGIN, end_marker=README_END):
  """(text, start, end) of the README's generated block; UserError if none."""
  try:
    with open(path) as f:
      text = f.read()
  except OSError as error:
    raise UserError(
        f"cannot read --readme {path!r}: {error.strerror}") from None
  begin, end = text.find(begin_marker), text.find(end_marker)
  if begin < 0 or end < begin:
    raise UserError(f"--readme {path!r} has no '{begin_marker} ... -->' / "
                    f"'{end_marker}' markers")
  return text, text.index("\n", begin) + 1, end


def replace_block(path, block, begin_marker=README_BEGIN,
                  end_marker=README_END):
  """Replaces the text between a Markdown file's markers with `block`."""
  text, begin, end = locate(path, begin_marker, end_marker)
  image_io.write_bytes(path, (text[:begin] + block + text[end:]).encode(),
                       overwrite=True)


def update_readme(path, summary, plots):
  """Replaces the generated block between the README's result markers."""
  folder = os.path.dirname(os.path.abspath(path))
  images = [f"![{title}]({os.path.relpath(plot, folder)})"
            for title, plot in plots]
  replace_block(path, summary + "\n" + "\n".join(images) + "\n")
