"""The process entry point: `python -m pipectl` and the `pipectl` console script.

The cyclic garbage collector is paused before the command line's modules load: importing them
allocates some hundred thousand long-lived objects and no cyclic garbage, which CPython would
scan in ~24 collections (~5 ms of CPU) for nothing. `cli.main` then holds it off for the first
seconds of the command (cli_edge.fewer_collections), which gives it back."""

import gc

gc.disable()

from pipectl.cli import run  # noqa: E402 (after the pause)

if __name__ == "__main__":
    run()
