# `make` runs what CI runs.
.PHONY: test lint demo bench
test:
	bash .ci/run

lint:
	ruff check src tests benchmarks && ruff format --check src tests benchmarks && mypy

demo:
	drivestats demo

bench:
	python benchmarks/bench_import.py
