#!/usr/bin/python3
"""The bench programs' shared flags (bench/bench_flags.h): a bad command line gets one line
naming the program and the flag, and exit status 2, before any work; a good one runs.

    /usr/bin/python3 tests/bench/bench_flags_test.py --sgemm-blocks BIN --step-products BIN \
        --call-overhead BIN --caller-pages BIN
"""
import argparse
import json
import subprocess
import sys
import unittest

ARGS = None


def run(binary, *flags):
    return subprocess.run([binary, *flags], capture_output=True, text=True, timeout=60)


class BenchFlags(unittest.TestCase):
    def refused(self, binary, program, flags, words):
        result = run(binary, *flags)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(result.stdout, "")
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith(program + ": "), lines[0])
        for word in words:
            self.assertIn(word, lines[0])

    def test_bad_command_lines_get_one_line(self):
        cases = [
            (ARGS.sgemm_blocks, "bench_sgemm_blocks", ["--blocks", ""], ["--blocks", "none"]),
            (ARGS.sgemm_blocks, "bench_sgemm_blocks", ["--blocks", "8,x"], ["--blocks", "'x'"]),
            (ARGS.sgemm_blocks, "bench_sgemm_blocks", ["--m", "0"], ["--m", "'0'"]),
            (ARGS.sgemm_blocks, "bench_sgemm_blocks", ["--m", "99999999999999999999"], ["--m"]),
            (ARGS.sgemm_blocks, "bench_sgemm_blocks", ["--rows"], ["--rows needs a value"]),
            (ARGS.step_products, "bench_step_products", ["--k", "-3"], ["--k", "'-3'"]),
            (ARGS.step_products, "bench_step_products", ["--kk", "3"], ["unknown flag --kk"]),
            (ARGS.sgemm_blocks, "bench_sgemm_blocks", ["--blocks", "8,16,"], ["--blocks", "''"]),
            (ARGS.sgemm_blocks, "bench_sgemm_blocks", ["--runs", "+5"], ["--runs", "'+5'"]),
            (ARGS.call_overhead, "bench_call_overhead", ["--calls", "many"], ["--calls", "'many'"]),
            (ARGS.call_overhead, "bench_call_overhead", ["--threads", "4294967297"],
             ["--threads", "up to 2147483647", "'4294967297'"]),
            (ARGS.call_overhead, "bench_call_overhead", ["--mode", "fast"], ["--mode", "'fast'"]),
            (ARGS.caller_pages, "bench_caller_pages", ["--huge", "iz"], ["--huge", "'iz'"]),
            (ARGS.caller_pages, "bench_caller_pages", ["--batch", "x" * 100], ["--batch", "..."]),
        ]
        for binary, program, flags, words in cases:
            with self.subTest(program=program, flags=flags):
                self.refused(binary, program, flags, words)

    def test_a_good_command_line_runs(self):
        result = run(ARGS.sgemm_blocks, "--m", "16", "--n", "16", "--rows", "40", "--runs", "3",
                     "--blocks", "8,40")
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        self.assertEqual([row["block"] for row in rows], [8, 40])
        self.assertTrue(all(row["median_ms"] >= 0 for row in rows))
        result = run(ARGS.call_overhead, "--calls", "3", "--rounds", "2", "--mode", "training")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout)["calls"], 3)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    for name in ("--sgemm-blocks", "--step-products", "--call-overhead", "--caller-pages"):
        parser.add_argument(name, required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)


if __name__ == "__main__":
    main()
