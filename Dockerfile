# GPU image for training: TF 2.14 wheels carry their CUDA 11.8 / cuDNN 8 libraries
# through the `and-cuda` extra; the host needs an NVIDIA driver and the NVIDIA
# container toolkit (`docker run --gpus all ...`).
# Not built in CI: this project's machines run no Docker engine.
FROM python:3.11-slim-bookworm

WORKDIR /suite
COPY requirements.txt pyproject.toml ./
COPY tfcsuite ./tfcsuite
RUN pip install --no-cache-dir -r requirements.txt "tensorflow[and-cuda]==2.14.1"
COPY models ./models
COPY benchmarks ./benchmarks
COPY checkpoints ./checkpoints

ENV TF_CPP_MIN_LOG_LEVEL=2
# Example: docker run --gpus all -v /data:/data IMAGE \
#   python models/balle17.py train --train_glob '/data/train/*.png'
CMD ["python", "models/balle17.py", "--help"]
