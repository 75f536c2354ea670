"""Scripts of the local stack and the demo; a package so that the tests and benches
import the one launcher's process handling (scripts/processes.py)."""
