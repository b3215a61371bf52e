"""Benchmarks of gcompile on the workloads of ``shared/bench/WORKLOADS.md`` (run: ``python -m bench.run``)."""
