"""What a training run records in its folder (`--train_path`).

So that a run can be resumed honestly and its checkpoint's manifest tells
what happened:

  run.json        the model and configuration the run was started with (and
                  "weight_averaging": true if it was started with
                  --ema_momentum); a resumed `train` must give the same ones
  epochs.jsonl    one line per finished epoch: steps, seconds, metrics
  commands.jsonl  one line per `train` command, written when it starts
                  training: the command and the step it started from (so
                  that a command killed midway is still on record)

(Keras' resumable backup is in backup/ and TensorBoard's logs in logs/.)
"""

import json
import os
import time

from tfcsuite import UserError


def _read_lines(path):
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def _append_line(path, record):
  with open(path, "a") as f:
    f.write(json.dumps(record) + "\n")


class TrainingRun:
  """The records of the run in `path` (a folder that may not exist yet)."""

  def __init__(self, path):
    self.path = path
    self.epoch_log = os.path.join(path, "epochs.jsonl")
    self._run_file = os.path.join(path, "run.json")
    self._command_log = os.path.join(path, "commands.jsonl")

  def started(self):
    return bool(self.epochs())

  def check_configuration(self, model, config, flag_of, averaged=False):
    """Refuses to resume with another model or configuration.

    Args:
      model: the model's name.
      config: the configuration dict the command asks for.
      flag_of: field name -> its flag, for the message.
      averaged: whether the command averages the weights (--ema_momentum),
        which changes the layout of the optimizer's backed-up state.

    Raises:
      UserError naming the first differing flag.
    """
    if not os.path.exists(self._run_file):
      return
    with open(self._run_file) as f:
      started = json.load(f)
    if started["model"] != model:
      raise UserError(f"{self.path} is a training run of model "
                      f"{started['model']!r}, not {model!r}; choose another "
                      f"--train_path")
    for name, value in config.items():
      if name in started["config"] and started["config"][name] != value:
        raise UserError(
            f"{self.path} was started with {flag_of(name)} "
            f"{_text(started['config'][name])}, not {_text(value)}: resume it "
            f"with the same value, or start a new run with another "
            f"--train_path")
    if started.get("weight_averaging", False) != averaged:
      raise UserError(
          f"{self.path} was started "
          f"{'with' if not averaged else 'without'} --ema_momentum: resume "
          f"it {'with' if not averaged else 'without'} it, or start a new run "
          f"with another --train_path")

  def record_configuration(self, model, config, averaged=False):
    """Writes run.json (a run from before run.json gets one on resume)."""
    if not os.path.exists(self._run_file):
      os.makedirs(self.path, exist_ok=True)
      record = dict(model=model, config=config)
      if averaged:  # Absent otherwise, as before the option existed.
        record["weight_averaging"] = True
      with open(self._run_file, "w") as f:
        json.dump(record, f, indent=2, sort_keys=True)
        f.write("\n")

  def epochs(self):
    """Finished epochs, in order (the last record of a repeated epoch)."""
    by_epoch = {r["epoch"]: r for r in _read_lines(self.epoch_log)}
    return [by_epoch[k] for k in sorted(by_epoch)]

  def steps(self):
    return sum(r["steps"] for r in self.epochs())

  def record_command(self, command, first_step):
    _append_line(self._command_log, dict(
        command=command, first_step=first_step,
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))

  def commands(self):
    """Every command that ran steps of this run, with its [first, last) step
    range: up to where the next command resumed, or to the last epoch."""
    records = _read_lines(self._command_log)
    # Lines written before first_step was: {"steps": [first, last], ...}.
    firsts = [r.get("first_step", r.get("steps", [0])[0]) for r in records]
    ends = firsts[1:] + [self.steps()]
    return [dict(command=r["command"], steps=[first, end], date=r["date"])
            for r, first, end in zip(records, firsts, ends) if end > first]


def _text(value):
  if isinstance(value, list):
    return " ".join(map(str, value))
  return str(value)
