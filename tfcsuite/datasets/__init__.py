"""Input pipelines: training patches from image folders or TFDS, and Kodak.

This lives inside `tfcsuite` on purpose: a top-level package named `datasets`
would shadow Hugging Face's `datasets`, which TFDS imports lazily.
"""
