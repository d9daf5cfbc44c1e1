"""Writes the fuzzers' seed corpus: a handful of tiny valid .npy and .npz files.

Usage: /usr/bin/python3 tests/fuzz/make_corpus.py OUT_DIR
Creates OUT_DIR/npy/ and OUT_DIR/npz/ (the latter in fuzz_npz's input format: a mode
byte, then an archive or member descriptions). The seeds cover every branch the readers take on
valid input (each dtype width, both byte orders, Fortran order, scalars, empty arrays,
format versions 1-3, stored and deflated archives) so the fuzzer starts from deep inside
the parsers instead of rediscovering the format. Generated at run time so that no binary
files live in the repository.
"""
import io
import os
import struct
import sys
import zipfile

import numpy as np


def npy_bytes(array, version=None):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version, allow_pickle=False)
    return buffer.getvalue()


def main(out_dir):
    npy_dir = os.path.join(out_dir, "npy")
    npz_dir = os.path.join(out_dir, "npz")
    os.makedirs(npy_dir, exist_ok=True)
    os.makedirs(npz_dir, exist_ok=True)

    grid = np.arange(6, dtype=np.float64).reshape(2, 3) - 2.5
    arrays = {
        "f4_2x3": grid.astype("<f4"),
        "f8_big_endian": grid.astype(">f8"),
        "f4_fortran": np.asfortranarray(grid.astype("<f4")),
        "f8_scalar": np.array(1.25),
        "f4_empty": np.zeros((0, 3), dtype="<f4"),
        "i1": np.array([-128, 0, 127], dtype="|i1"),
        "u1": np.array([0, 255], dtype="|u1"),
        "i2_big_fortran": np.asfortranarray(np.array([[1, -2], [3, -4]], dtype=">i2")),
        "u2": np.array([65535], dtype="<u2"),
        "i4_lengths": np.array([7, 3, 5], dtype="<i4"),
        "u4": np.array([4000000000], dtype="<u4"),
        "i8": np.array([-(2**63), 2**63 - 1], dtype="<i8"),
        "u8": np.array([2**64 - 1], dtype="<u8"),
        "f2_rejected": np.array([1.0], dtype="<f2"),
        "bool_rejected": np.array([True]),
    }
    for name, array in arrays.items():
        with open(os.path.join(npy_dir, name + ".npy"), "wb") as f:
            f.write(npy_bytes(array))
    for version in [(2, 0), (3, 0)]:
        with open(os.path.join(npy_dir, "v%d.npy" % version[0]), "wb") as f:
            f.write(npy_bytes(grid.astype("<f4"), version))

    # fuzz_npz reads a mode byte first: even = the archive follows as is.
    small = {"weight_ih_l0": grid.astype(np.float32), "bias_ih_l0": np.array([0.5], np.float32)}
    archives = {
        "savez": lambda f: np.savez(f, **small),
        "savez_compressed": lambda f: np.savez_compressed(f, **small),
        "empty": lambda f: np.savez(f),
        "lengths_rejected": lambda f: np.savez(f, lengths=np.array([3, 1], np.int32)),
    }
    for name, write in archives.items():
        buffer = io.BytesIO()
        write(buffer)
        with open(os.path.join(npz_dir, name + ".npz"), "wb") as f:
            f.write(b"\x00" + buffer.getvalue())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:  # not zip64, as other zip writers produce
        z.writestr("w.npy", npy_bytes(np.array([1.0, 2.0], np.float32)))
    with open(os.path.join(npz_dir, "plain_zip.npz"), "wb") as f:
        f.write(b"\x00" + buffer.getvalue())

    # Odd mode byte: member descriptions the harness wraps into a valid archive
    # (flags, name length, name, content length, content; see fuzz_npz.cpp).
    def member(flags, name, content):
        name = name.encode()
        return bytes([flags, len(name)]) + name + struct.pack("<H", len(content)) + content

    f4 = npy_bytes(grid.astype("<f4"))
    wrapped = {
        "wrapped_stored": member(0, "w.npy", f4),
        "wrapped_deflated": member(1, "w.npy", f4),
        "wrapped_zip64_two": member(2, "a.npy", f4) + member(3, "b", npy_bytes(np.array(2.0))),
    }
    for name, description in wrapped.items():
        with open(os.path.join(npz_dir, name + ".bin"), "wb") as f:
            f.write(b"\x01" + description)

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py OUT_DIR")
    main(sys.argv[1])
