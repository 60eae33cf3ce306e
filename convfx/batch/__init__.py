"""Batch runs: one effect over whole folders, in parallel, resumable, interruptible.

:func:`run_batch` is the library behind ``convfx batch``.  It

* walks the inputs (files, and folders recursively), keeps the images that pass
  ``include`` / ``exclude`` and mirrors each folder's tree under the output folder,
  naming each output ``<stem>_<effect>.png`` and disambiguating collisions by a
  fixed rule (:mod:`.plan`, :func:`plan_batch`);
* refuses an output folder equal to or inside an input folder, and never writes
  to an input;
* renders every file with :func:`convfx.render.render_file` (decode, filter,
  encode, atomic write) in a pool of worker processes, one per core by default,
  or on a Dask distributed cluster (``scheduler=``), keeping going past bad files
  (:mod:`.executors`);
* records a run manifest (``convfx-manifest.json`` in the output folder) so that
  a rerun skips what is already done with the same effect and parameters, and
  locks the output folder while it writes (:mod:`.manifest`);
* stops promptly on Ctrl-C or SIGTERM: the workers are ended, their temporary
  files removed, the manifest left consistent, and :class:`BatchInterrupted`
  (a ``KeyboardInterrupt``) raised with the partial summary (:mod:`.run`);
* filters images larger than a memory budget in horizontal strips with a halo
  (:func:`convfx.render.render_in_tiles`), with the same result as filtering
  them whole.

This package must not decode, filter or encode pixels itself (that is
:mod:`convfx.render`, :mod:`convfx.effects` and :mod:`convfx.imageio`), nor
print: progress and the summary go through callbacks and return values.
"""

from __future__ import annotations

from ..render import DEFAULT_MEMORY_BUDGET
from .executors import SCHEDULER_ENVIRONMENT_VARIABLE, SchedulerError
from .manifest import MANIFEST_NAME
from .plan import IMAGE_SUFFIXES, BatchJob, plan_batch
from .run import BatchInterrupted, BatchSummary, FileOutcome, format_byte_size, parse_byte_size, run_batch

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "IMAGE_SUFFIXES",
    "MANIFEST_NAME",
    "SCHEDULER_ENVIRONMENT_VARIABLE",
    "BatchJob",
    "FileOutcome",
    "BatchSummary",
    "BatchInterrupted",
    "SchedulerError",
    "parse_byte_size",
    "format_byte_size",
    "plan_batch",
    "run_batch",
]
