# An index of tasks: each target calls a script in scripts/ (CI calls the same scripts).
.PHONY: help install demo test lint docs dist bench clean

help:            ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

install:         ## create .venv and install every distribution editable + dev tools
	scripts/install.sh

demo:            ## set up, then run requests against an embedded local server
	scripts/demo.sh

test:            ## install, ruff, mypy --strict, docs build, pytest
	scripts/test.sh

lint:            ## ruff and mypy --strict
	scripts/install.sh && scripts/lint.sh

docs:            ## build the documentation site with --strict into site/
	scripts/install.sh && scripts/docs.sh

dist:            ## build wheels and sdists of every distribution into dist/
	scripts/dist.sh

bench:           ## run the benchmark against nginx on loopback
	scripts/install.sh && scripts/bench.sh

clean:           ## remove build outputs and caches
	scripts/clean.sh
