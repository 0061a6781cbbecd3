# Set-up, demo and tests. Needs Python 3.11 on Linux (TFC 2.14 has no wheels
# for other Pythons or for Windows). Override the interpreter with PYTHON=...
PYTHON ?= python3
# The Docker image sets VENV to a folder outside the code.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install clean-venv

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (TensorFlow Compression 2.14); run make PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Compress scikit-image's public-domain "astronaut" photo with the shipped
# Ballé 2017 checkpoint, decompress it, and print bpp / PSNR / MS-SSIM.
demo: $(STAMP)
	@mkdir -p demo_output
	@$(PY) -c "from skimage import data; from PIL import Image; Image.fromarray(data.astronaut()).save('demo_output/astronaut.png')"
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) models/balle17.py compress demo_output/astronaut.png demo_output/astronaut.tfci --overwrite -V
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) models/balle17.py decompress demo_output/astronaut.tfci demo_output/astronaut_decoded.png --overwrite
	@ls -l demo_output/astronaut.tfci demo_output/astronaut_decoded.png

# pytest exits 5 when it collected no test: treat that as a failure too.
test: $(STAMP)
	@TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m pytest -q -p no:cacheprovider tests; \
	status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; \
	exit $$status

clean-venv:
	rm -rf $(VENV)
