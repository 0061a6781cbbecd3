"""Model configurations: a dataclass per model, its fields the `train` flags.

A model script declares what defines its model (filter counts, a
rate-distortion lambda, a codec quality list, ...) as a dataclass deriving
from `ModelConfig`, each field made with `setting`. The shared CLI turns the
fields into flags, the trainer stores the values in the checkpoint manifest,
and a checkpoint's stored values rebuild the same configuration:

    @dataclasses.dataclass
    class Config(config.ModelConfig):
      num_filters: int = config.setting(128, "Filters per layer.")

Field names are the manifest's keys; a flag is `--<name>` unless the setting
names another (TFC's `--lambda` for the field `lmbda`).
"""

import argparse
import dataclasses

from tfcsuite import UserError


def setting(default, help, flag=None, **argparse_kwargs):  # pylint: disable=redefined-builtin
  """A configuration field: default, help text and argparse options."""
  metadata = dict(help=help, flag=flag, argparse=argparse_kwargs)
  if isinstance(default, (list, dict)):
    return dataclasses.field(default_factory=lambda: type(default)(default),
                             metadata=metadata)
  return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class ModelConfig:
  """Base of every model's configuration."""

  def run_name(self, model):
    """Default folder name under runs/ for training this configuration."""
    return model

  def to_dict(self):
    return dataclasses.asdict(self)


def _flag(field):
  return field.metadata.get("flag") or f"--{field.name}"


def flag_of(config_class, name):
  """The command-line flag of the field `name` (e.g. "--lambda")."""
  return _flag({f.name: f for f in dataclasses.fields(config_class)}[name])


def add_flags(parser, config_class):
  """Adds one flag per field of `config_class` to an argparse parser."""
  for field in dataclasses.fields(config_class):
    kwargs = dict(field.metadata.get("argparse", {}))
    if "type" not in kwargs and "action" not in kwargs:
      default = (field.default_factory() if field.default is dataclasses.MISSING
                 else field.default)
      value = default[0] if isinstance(default, list) and default else default
      if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        kwargs["type"] = type(value)
    if "choices" not in kwargs and "action" not in kwargs:
      kwargs.setdefault("metavar", _flag(field).lstrip("-").upper())
    parser.add_argument(_flag(field), dest=field.name,
                        default=argparse.SUPPRESS,
                        help=f"{field.metadata.get('help', '')} (default: "
                             f"{_default_text(field)})", **kwargs)


def _default_text(field):
  if field.default is dataclasses.MISSING:
    return " ".join(map(str, field.default_factory()))
  return field.default


def from_flags(config_class, args):
  """The configuration the parsed flags give (defaults for absent flags)."""
  names = [f.name for f in dataclasses.fields(config_class)]
  return config_class(**{name: getattr(args, name) for name in names
                         if hasattr(args, name)})


def given_flags(config_class, args):
  """Names of the fields whose flags were given on the command line."""
  return [f.name for f in dataclasses.fields(config_class)
          if hasattr(args, f.name)]


def from_dict(config_class, values, where="checkpoint"):
  """The configuration stored in a manifest; a `UserError` if it does not fit.
  """
  known = {f.name for f in dataclasses.fields(config_class)}
  unknown = sorted(set(values) - known)
  if unknown:
    raise UserError(f"{where} configuration has settings this model does not "
                    f"know: {', '.join(unknown)}")
  return config_class(**values)
