"""The generated results block of a Markdown file (the top-level README)."""

import os

from tfcsuite import UserError, image_io

README_BEGIN = "<!-- kodak-results:begin"
README_END = "<!-- kodak-results:end -->"


def locate(path):
  """(text, start, end) of the README's generated block; UserError if none."""
  try:
    with open(path) as f:
      text = f.read()
  except OSError as error:
    raise UserError(
        f"cannot read --readme {path!r}: {error.strerror}") from None
  begin, end = text.find(README_BEGIN), text.find(README_END)
  if begin < 0 or end < begin:
    raise UserError(f"--readme {path!r} has no '{README_BEGIN} ... -->' / "
                    f"'{README_END}' markers")
  return text, text.index("\n", begin) + 1, end


def update_readme(path, summary, plots):
  """Replaces the generated block between the README's result markers."""
  text, begin, end = locate(path)
  folder = os.path.dirname(os.path.abspath(path))
  images = [f"![{title}]({os.path.relpath(plot, folder)})"
            for title, plot in plots]
  block = summary + "\n" + "\n".join(images) + "\n"
  image_io.write_bytes(path, (text[:begin] + block + text[end:]).encode(),
                       overwrite=True)
