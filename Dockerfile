# Training and coding image: CPython 3.11 on Debian bookworm with TensorFlow
# 2.14.1 and its CUDA 11.8 / cuDNN 8 libraries as pip wheels
# (requirements-gpu.txt: TF's `and-cuda` pins without TensorRT, which has no
# Python 3.11 wheel). It runs on a GPU host (NVIDIA driver + NVIDIA container
# toolkit, `docker run --gpus all`) and on CPU alone. README: "Docker".
# No Docker engine runs on this project's machines: tests/test_docker.py lints
# this file with hadolint and resolves requirements-gpu.txt with pip.
FROM python:3.11.11-slim-bookworm

# make runs the README's `make demo` / `make test`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends make=4.3-4.1 \
 && rm -rf /var/lib/apt/lists/*

# A non-root user owns the code, the virtual environment and the volumes.
RUN groupadd --gid 1000 suite \
 && useradd --uid 1000 --gid suite --create-home --shell /bin/bash suite \
 && mkdir -p /suite /shared /suite/runs /suite/outputs \
 && chown -R suite:suite /suite /shared
USER 1000:1000
WORKDIR /suite

# The Makefile's environment (`make install` with VENV=/opt/... would need
# root): the same venv layout, under the user's home.
ENV VENV=/home/suite/venv \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2
ENV PATH=$VENV/bin:$PATH

# Dependency layer first: it changes only with the requirements files, so an
# edit of the code does not reinstall gigabytes of wheels.
COPY --chown=suite:suite requirements.txt requirements-gpu.txt ./
RUN python -m venv "$VENV" \
 && "$VENV/bin/python" -m pip install -r requirements-gpu.txt

# The code, then the Makefile's own install step (the same commands as on a
# developer's machine and in CI: .ci/run -> make test); the wheels above
# already satisfy requirements.txt, so it only adds the project itself.
COPY --chown=suite:suite . .
RUN make install

# The read-only shared folder (data/: Kodak, BSDS500; reference/: published
# curves; the tests look in ../shared), training runs (resumable backups,
# TensorBoard logs) and outputs survive the container.
VOLUME ["/shared", "/suite/runs", "/suite/outputs"]

CMD ["tfcs", "--help"]
