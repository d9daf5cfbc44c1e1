"""An independent numpy reimplementation of rnnwave's log-mel / MFCC features
(FeatureOptions in include/rnnwave/data_audio.h), in float64, for the agreement tests.

usage: log_mel_reference.py OUT_DIR MFCC_COUNT WAV...
writes OUT_DIR/<i>.npy (log-mel [T, 40]) and OUT_DIR/<i>_mfcc.npy ([T, MFCC_COUNT]) for the
i-th WAV (16-bit mono, read with the standard library's wave module).
"""
import os
import sys
import wave

import numpy as np

SAMPLE_RATE, FRAME, HOP, N_FFT, BANDS = 8000, 200, 80, 256, 40
LOW_HZ, HIGH_HZ, PREEMPHASIS, FLOOR = 20.0, 4000.0, 0.97, 1e-6


def read_wav(path):
    with wave.open(path, 'rb') as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, path
        assert w.getframerate() == SAMPLE_RATE, path
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2')
    return pcm.astype(np.float64) / 32768.0


def hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def log_mel(x):
    y = np.concatenate([x[:1], x[1:] - PREEMPHASIS * x[:-1]])
    if len(y) < FRAME:
        y = np.pad(y, (0, FRAME - len(y)))
    frames = 1 + (len(y) - FRAME) // HOP
    index = np.arange(FRAME)[None, :] + HOP * np.arange(frames)[:, None]
    power = np.abs(np.fft.rfft(y[index] * np.hamming(FRAME), N_FFT)) ** 2
    corners = mel_to_hz(np.linspace(hz_to_mel(LOW_HZ), hz_to_mel(HIGH_HZ), BANDS + 2))
    hz = np.arange(N_FFT // 2 + 1) * SAMPLE_RATE / N_FFT
    left, center, right = corners[:-2, None], corners[1:-1, None], corners[2:, None]
    filters = np.maximum(0.0, np.minimum((hz - left) / (center - left), (right - hz) / (right - center)))
    return np.log(power @ filters.T + FLOOR)


def mfcc(log_mels, count):
    bands = log_mels.shape[1]
    j = np.arange(count)[:, None]
    dct = np.sqrt(2.0 / bands) * np.cos(np.pi * j * (np.arange(bands) + 0.5) / bands)
    dct[0] *= np.sqrt(0.5)
    return log_mels @ dct.T


def main():
    out_dir, count, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    for i, path in enumerate(paths):
        features = log_mel(read_wav(path))
        np.save(os.path.join(out_dir, '%d.npy' % i), features)
        np.save(os.path.join(out_dir, '%d_mfcc.npy' % i), mfcc(features, count))


if __name__ == '__main__':
    main()
