"""Allow `python -m source_simulator`."""

from source_simulator.cli import main

main()
