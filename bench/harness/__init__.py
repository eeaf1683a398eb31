"""The benchmark harness behind bench/run.py: processes (emulator, proxies, nginx), load
generators, scenarios, the machine-limit probe, and reporting. Debian's python3 standard library
only."""
