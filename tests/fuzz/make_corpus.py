"""Writes the fuzzers' seed corpus: a handful of tiny valid inputs for each harness.

Usage: /usr/bin/python3 tests/fuzz/make_corpus.py OUT_DIR
Creates OUT_DIR/npy/, npz/ and checkpoint/ (the latter two in their harness's input
format: a mode byte, then an archive, member descriptions or config text), wav/ and
wikitext/. The seeds cover every branch the readers take on valid input (each dtype width,
both byte orders, Fortran order, scalars, empty arrays, format versions 1-3, stored and
deflated archives, a checkpoint of each optimizer, PCM and float WAV files, Python's line
endings and spaces) so the fuzzer starts from deep inside the parsers instead of
rediscovering the formats. Generated at run time so that no binary files live in the
repository.
"""
import io
import json
import os
import struct
import sys
import wave
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

    write_checkpoint_seeds(os.path.join(out_dir, "checkpoint"), member)
    write_wav_seeds(os.path.join(out_dir, "wav"))
    write_wikitext_seeds(os.path.join(out_dir, "wikitext"))


def run_config(optimizer):
    """A valid run config, as rnnwave's config_to_json writes one (every key)."""
    return {
        "task": "synthetic", "data_dir": "", "cell": "gru", "hidden_size": 2, "layers": 1,
        "bidirectional": False, "embedding_size": 0, "pooling": "last", "dropout": 0.0,
        "optimizer": {"kind": optimizer, "learning_rate": 0.01, "weight_decay": 0.0,
                      "momentum": 0.0, "nesterov": False, "beta1": 0.9, "beta2": 0.999,
                      "eps": 1e-08},
        "lr_schedule": {"kind": "constant", "initial": 0.01, "factor": 0.1, "every": 1,
                        "patience": 0, "threshold": 0.0001, "minimum": 0.0, "period": 1},
        "clip_norm": 1.0, "batch_size": 4, "bptt": 35, "epochs": 2, "seed": 1, "max_train": 0,
        "max_eval": 0, "synthetic_steps": 3, "synthetic_train": 8, "synthetic_eval": 4,
        "skip_bad_recordings": False,
    }


def write_checkpoint_seeds(directory, member):
    """fuzz_checkpoint's input: mode byte 0 (an archive), 1 (member descriptions) or 2
    (config text)."""
    os.makedirs(directory, exist_ok=True)
    params = {"rnn.weight_ih_l0": (6, 2), "rnn.weight_hh_l0": (6, 2), "rnn.bias_ih_l0": (6,),
              "rnn.bias_hh_l0": (6,), "head.weight": (1, 2), "head.bias": (1,)}
    for optimizer in ("adam", "sgd"):
        config = json.dumps(run_config(optimizer), indent=1).encode()
        arrays = {"rnnwave_checkpoint": np.array(1, np.int64),
                  "config": np.frombuffer(config, np.uint8),
                  "epochs_done": np.array(1, np.int64),
                  "history": np.array([[1, 0.5, 0.4, 0.1, np.nan, 0.01, 0.2, 100.0]]),
                  "lr_schedule/epoch": np.array(1.0), "lr_schedule/rate": np.array(0.01),
                  "lr_schedule/best": np.array(0.4), "lr_schedule/bad_epochs": np.array(0.0),
                  "optimizer_scalar/step": np.array(2.0),
                  "optimizer_scalar/learning_rate": np.array(0.01)}
        for name, shape in params.items():
            arrays["param/" + name] = np.full(shape, 0.25, np.float32)
            if optimizer == "adam":
                size = int(np.prod(shape))
                arrays[f"optimizer/{name}/exp_avg"] = np.full(size, 0.1, np.float32)
                arrays[f"optimizer/{name}/exp_avg_sq"] = np.full(size, 0.01, np.float32)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        with open(os.path.join(directory, f"archive_{optimizer}.bin"), "wb") as f:
            f.write(b"\x00" + buffer.getvalue())
        with open(os.path.join(directory, f"config_{optimizer}.bin"), "wb") as f:
            f.write(b"\x02" + config)
        small = b"".join(member(0, name + ".npy", npy_bytes(arrays[name]))
                         for name in ("rnnwave_checkpoint", "epochs_done", "history",
                                      "param/head.bias"))
        with open(os.path.join(directory, f"members_{optimizer}.bin"), "wb") as f:
            f.write(b"\x01" + member(0, "config.npy", npy_bytes(arrays["config"])) + small)


def write_wav_seeds(directory):
    os.makedirs(directory, exist_ok=True)
    t = np.arange(300) / 8000.0
    signal = np.sin(2 * np.pi * 440 * t)
    for name, width, data in [("pcm16", 2, (signal * 20000).astype("<i2").tobytes()),
                              ("pcm8", 1, ((signal * 100) + 128).astype(np.uint8).tobytes()),
                              ("short_pcm16", 2, (signal[:10] * 20000).astype("<i2").tobytes())]:
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(width)
            w.setframerate(8000)
            w.writeframes(data)
        with open(os.path.join(directory, name + ".wav"), "wb") as f:
            f.write(buffer.getvalue())
    # IEEE float (format tag 3), which the wave module does not write.
    data = signal.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, 8000, 8000 * 4, 4, 32)
    riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    with open(os.path.join(directory, "float32.wav"), "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(riff)) + riff)


def write_wikitext_seeds(directory):
    """fuzz_wikitext's input: training text, 0xff, validation text."""
    os.makedirs(directory, exist_ok=True)
    seeds = {
        "plain": b" = Valkyria Chronicles = \n\n the cat sat \n" + b"\xff" + b" the cat \n",
        "line_endings": b"a b\r\n\n\tc\xc2\xa0d\re\xe3\x80\x80f \xe2\x80\xa8g" + b"\xff" + b"a\r",
        "unknown_word": b"one two\n" + b"\xff" + b"one three\n",
        "no_validation": "Senj\u014d no <unk>\n".encode(),
    }
    for name, data in seeds.items():
        with open(os.path.join(directory, name + ".txt"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py OUT_DIR")
    main(sys.argv[1])
