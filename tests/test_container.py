"""Specification of the compressed-file container."""

import zlib

import pytest

from tfcsuite import container


def example(strings=(b"\x01\x02payload" * 10,)):
  return container.Container(
      model="balle17", checkpoint="lambda0.01", weights_crc32=0xDEADBEEF,
      height=512, width=768, integers=[32, 48], strings=list(strings))


def test_round_trip_preserves_every_field():
  original = example(strings=[b"abc", b"", b"\x00" * 300])
  assert container.unpack(container.pack(original)) == original


def test_overhead_is_a_few_tens_of_bytes():
  packed = container.pack(example())
  overhead = len(packed) - example().payload_bytes()
  # magic 4 + version 1 + "balle17" 1+7 + "lambda0.01" 1+10 + weights CRC 4
  # + height 2 + width 2 + integers 1+1+1 + strings 1+1 + CRC 4.
  assert overhead == 41


def test_file_starts_with_magic_and_version():
  assert container.pack(example())[:5] == b"TFCS\x01"


def test_non_container_file_is_named_as_such():
  with pytest.raises(container.ContainerError, match="missing TFCS signature"):
    container.unpack(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)


def test_empty_file_is_rejected():
  with pytest.raises(container.ContainerError, match="signature"):
    container.unpack(b"")


@pytest.mark.parametrize("keep", [5, 12, 30, -1])
def test_truncated_file_is_rejected(keep):
  packed = container.pack(example())
  with pytest.raises(container.ContainerError, match="truncated"):
    container.unpack(packed[:keep])


def test_flipped_payload_bit_fails_the_checksum():
  packed = bytearray(container.pack(example()))
  packed[-10] ^= 0x04
  with pytest.raises(container.ContainerError, match="checksum mismatch"):
    container.unpack(bytes(packed))


def test_newer_version_is_refused():
  packed = bytearray(container.pack(example()))
  packed[4] = 2
  with pytest.raises(container.ContainerError, match="version 2"):
    container.unpack(bytes(packed))


def test_trailing_bytes_are_refused():
  body = container.pack(example())[:-4] + b"extra"
  packed = body + zlib.crc32(body).to_bytes(4, "little")
  with pytest.raises(container.ContainerError, match="trailing"):
    container.unpack(packed)


def test_file_of_another_model_names_the_right_script():
  with pytest.raises(container.ContainerError, match="models/balle17.py"):
    container.unpack(container.pack(example()), expected_model="balle18")
