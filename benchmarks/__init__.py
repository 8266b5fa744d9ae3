"""`make bench`: measured API cost, incremental cost, throughput under the rate limit, CPU and peak memory.

Every pipeline run is a separate process (`benchmarks.run_job`) so that its CPU time and peak RSS are the
materializing process's own, never the sandbox's or this harness's. Results go to stdout and to the
"Extraction" section of BENCHMARKS.md.
"""
