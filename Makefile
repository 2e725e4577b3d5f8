# Two commands do all the set-up on a fresh machine (see README.md):
#   make demo   installs, then opens the app on a demo project (headless: demo -> auto-clean -> export)
#   make test   installs, then runs the whole test suite
#   make bundle / make check-bundle   build and check the Linux desktop bundle (docs/PACKAGING.md)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= out/demo

.PHONY: install demo test bench bundle check-bundle clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	    $(VENV)/bin/embryo-gui --demo; \
	else \
	    echo "no display: running the same job headless (demo -> auto-clean -> export) into $(OUT)"; \
	    rm -rf $(OUT); $(VENV)/bin/embryo-repair showcase $(OUT); \
	fi

test: install
	QT_QPA_PLATFORM=offscreen OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest -q -p no:cacheprovider

bench: install
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# the one-folder desktop app (docs/PACKAGING.md): own venv in build/pyinstaller-venv, output dist/embryo-gui/
bundle:
	packaging/build_linux.sh

check-bundle:
	packaging/check_build.sh dist/embryo-gui

clean:
	rm -rf $(VENV) out build dist *.egg-info
