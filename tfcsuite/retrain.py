"""`tfcs retrain`: train every shipped checkpoint again, as its manifest says.

Each shipped checkpoint's manifest records the `train` command that made it
(the last one, if the run was resumed: its --epochs is the whole budget).
Retraining runs that command again from the repository root with its run
folder and checkpoint moved under --runs_dir (`<runs_dir>/<model>/<name>`),
so that nothing shipped and no earlier run is touched; a fine-tune's
--init_from is pointed at the retrained checkpoint it started from, so
checkpoints are trained in dependency order. Interrupted, it resumes: `train`
continues a run from its last epoch backup, and a checkpoint already
retrained to its recorded number of steps is skipped.

`--full` trains every checkpoint from scratch with its paper's budget where
the model script declares one (`ModelScript.full_training`, e.g. TFC's 1M
steps of 8 x 256² for Ballé et al.), for machines with GPUs; checkpoints of
models without one keep their documented budget, and the plan says so.
"""

import dataclasses
import json
import os
import shlex
import subprocess
import sys

from tfcsuite import UserError, checkpoint as checkpoint_lib, zoo

# Flags retraining sets itself (each takes one value).
_MOVED = ("--train_path", "--model_path", "--init_from")


@dataclasses.dataclass
class Job:
  model: str
  name: str
  shipped: str      # The shipped checkpoint folder.
  argv: list        # The command, from the script's path on.
  steps: int        # Steps it should reach.
  model_path: str   # Where it writes the retrained checkpoint.
  after: str = None  # The shipped folder whose retraining must come first.
  note: str = ""
  blocked: str = ""  # Why it cannot be retrained from shipped records.

  def command(self):
    return shlex.join(self.argv)

  def done(self):
    manifest = os.path.join(self.model_path, checkpoint_lib.MANIFEST)
    if not os.path.isfile(manifest):
      return False
    with open(manifest) as f:
      return json.load(f)["provenance"].get("steps") == self.steps


def _recorded_command(provenance, where):
  commands = provenance.get("commands")
  command = commands[-1]["command"] if commands else provenance.get("command")
  if not command:
    raise UserError(f"{where} records no training command")
  return shlex.split(command)


def _without_moved_flags(argv):
  """`argv` without the flags retraining sets; (argv, their old values)."""
  kept, old = [], {}
  tokens = iter(argv)
  for token in tokens:
    flag = token.split("=", 1)[0]
    if flag in _MOVED:
      old[flag] = token.split("=", 1)[1] if "=" in token else next(tokens)
    else:
      kept.append(token)
  return kept, old


def _with_flags(argv, flags):
  """`flags` (a dict) set in `argv`, replacing earlier values."""
  for flag, value in flags.items():
    option = f"--{flag}"
    if option in argv:
      argv[argv.index(option) + 1] = str(value)
    else:
      argv += [option, str(value)]
  return argv


def _normalized(path):
  return os.path.normpath(os.path.join(zoo.REPO_ROOT, path)) if path else None


def plan(runs_dir, full=False, checkpoints=zoo.CHECKPOINTS):
  """The jobs, dependencies first."""
  jobs, produced_by = [], {}  # Original output folder -> shipped folder.
  for name in sorted(zoo.MODEL_SCRIPTS):
    # Loading a script imports TensorFlow: only --full needs it.
    script = zoo.load_script(name) if full else None
    for shipped in zoo.shipped_checkpoints(name, checkpoints):
      with open(os.path.join(shipped, checkpoint_lib.MANIFEST)) as f:
        provenance = json.load(f).get("provenance") or {}
      argv, old = _without_moved_flags(_recorded_command(provenance, shipped))
      train_path = os.path.join(runs_dir, name, os.path.basename(shipped))
      model_path = os.path.join(train_path, "checkpoint")
      argv = argv[:argv.index("train") + 1] + [
          "--train_path", train_path, "--model_path", model_path
      ] + argv[argv.index("train") + 1:]
      job = Job(name, os.path.basename(shipped), shipped, argv,
                provenance.get("steps"), model_path)
      job.after = old.get("--init_from")
      if full and script.full_training:
        flags = script.full_training
        job.argv = _with_flags(job.argv, flags)
        job.steps = flags["epochs"] * flags["steps_per_epoch"]
        job.after = None  # The papers train every rate from scratch.
        job.note = "paper's budget"
      elif full:
        job.note = "no published budget: the documented one"
      original = old.get("--model_path") or (
          os.path.join(old["--train_path"], "checkpoint")
          if "--train_path" in old else None)
      produced_by[_normalized(original)] = shipped
      produced_by[_normalized(shipped)] = shipped
      jobs.append(job)
  by_shipped = {job.shipped: job for job in jobs}
  for job in jobs:
    if job.after:
      parent = produced_by.get(_normalized(job.after))
      if parent is None:
        # E.g. a pretraining run that was not shipped: its command is in
        # checkpoints/README.md, not in any shipped manifest.
        job.blocked = (f"fine-tuned from {job.after}, which no shipped "
                       f"checkpoint's run produced (see checkpoints/README.md)")
        job.after = None
        continue
      job.after = parent
      job.argv += ["--init_from", by_shipped[parent].model_path]
  ordered = _ordered(jobs, by_shipped)
  for job in ordered:  # Dependencies come first.
    if job.after and by_shipped[job.after].blocked:
      job.blocked = f"starts from {job.after}, which cannot be retrained"
  return ordered


def _ordered(jobs, by_shipped):
  ordered, placed = [], set()

  def place(job):
    if job.shipped in placed:
      return
    if job.after:
      place(by_shipped[job.after])
    placed.add(job.shipped)
    ordered.append(job)

  for job in jobs:
    place(job)
  return ordered


def run(runs_dir, full=False, dry_run=False, only=None,
        checkpoints=zoo.CHECKPOINTS, out=sys.stdout):
  """Retrains (or, with `dry_run`, lists) every shipped checkpoint.

  `only`: model names to retrain (their dependencies come along);
  `checkpoints`: the folder of shipped checkpoints. Returns the exit status:
  1 if a retraining failed or a checkpoint cannot be retrained.
  """
  jobs = plan(runs_dir, full, checkpoints)
  if only:
    unknown = set(only) - set(zoo.MODEL_SCRIPTS)
    if unknown:
      raise UserError(f"unknown model(s): {', '.join(sorted(unknown))}")
    wanted = {job.shipped for job in jobs if job.model in only}
    needed = set(wanted)
    for job in reversed(jobs):
      if job.shipped in needed and job.after:
        needed.add(job.after)
    jobs = [job for job in jobs if job.shipped in needed]
  blocked = 0
  for job in jobs:
    if job.blocked:
      print(f"# {job.model}/{job.name}: not retrained: {job.blocked}",
            file=out)
      blocked += 1
      continue
    argv = job.argv
    status = "done" if job.done() else f"{job.steps} steps"
    print(f"# {job.model}/{job.name}: {status}"
          f"{'; ' + job.note if job.note else ''}", file=out)
    print(shlex.join([sys.executable] + argv), file=out, flush=True)
    if dry_run or job.done():
      continue
    result = subprocess.run([sys.executable] + argv, cwd=zoo.REPO_ROOT)
    if result.returncode:
      print(f"retraining {job.model}/{job.name} failed (exit status "
            f"{result.returncode}); run the same command again to resume",
            file=out)
      return 1
  return 1 if blocked else 0
