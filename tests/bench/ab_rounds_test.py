#!/usr/bin/python3
"""bench/ab_rounds.py: rounds in turn, the ratios against the first command, environment
words, the flags passed through, and one-line errors for commands that fail or print no
time. The commands are small Python programs that print a JSON object.

    /usr/bin/python3 tests/bench/ab_rounds_test.py --source DIR
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import unittest

ARGS = None

# Prints {"median_ms": X}: X from $MS, times 2 if --slow is among its arguments; appends its
# arguments to $LOG (one JSON line per run) so that a test can see the order and the flags.
FAKE = r"""
import json, os, sys
ms = float(os.environ.get("MS", "10")) * (2 if "--slow" in sys.argv else 1)
if "LOG" in os.environ:
    with open(os.environ["LOG"], "a") as f:
        f.write(json.dumps({"name": os.environ.get("NAME", ""), "argv": sys.argv[1:],
                            "wait": os.environ.get("OMP_WAIT_POLICY")}) + "\n")
print("a line of text first")
print(json.dumps({"median_ms": ms}))
"""


class AbRounds(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.fake = os.path.join(self.dir.name, "fake.py")
        with open(self.fake, "w") as f:
            f.write(FAKE)
        self.log = os.path.join(self.dir.name, "log.jsonl")

    def tearDown(self):
        self.dir.cleanup()

    def command(self, name, ms, extra=""):
        return f"{name}=NAME={name} MS={ms} LOG={self.log} /usr/bin/python3 {self.fake}{extra}"

    def run_tool(self, *argv, env=None):
        # By default without the caller's wait policy (ctest sets one), whose note would
        # add a line to stderr.
        if env is None:
            env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        return subprocess.run([sys.executable, os.path.join(ARGS.source, "bench", "ab_rounds.py"),
                               *argv], capture_output=True, text=True, env=env)

    def logged(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def test_rounds_alternate_and_ratios_are_first_over_this(self):
        out = os.path.join(self.dir.name, "runs.jsonl")
        done = self.run_tool("--rounds", "3", "--out", out, "--run", self.command("peer", 30),
                             "--run", self.command("ours", 20), "--", "--cell", "lstm")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual([r["name"] for r in self.logged()], ["peer", "ours"] * 3)
        self.assertTrue(all(r["argv"] == ["--cell", "lstm", "--json"] for r in self.logged()))
        lines = done.stdout.splitlines()
        self.assertEqual(lines[:3], [f"round {i}: peer 30.0  ours 20.0" for i in (1, 2, 3)])
        self.assertIn("ours: median 20.0 ms (20.0-20.0); peer / ours = 1.50x (1.50-1.50 over "
                      "the rounds)", lines)
        with open(out) as f:
            runs = [json.loads(line) for line in f]
        self.assertEqual([(r["runner"], r["round"], r["median_ms"]) for r in runs],
                         [(n, i, ms) for i in (1, 2, 3) for n, ms in (("peer", 30.0), ("ours", 20.0))])

    def test_the_recorded_command_splits_back_into_its_words(self):
        out = os.path.join(self.dir.name, "runs.jsonl")
        done = self.run_tool("--rounds", "1", "--out", out, "--run", self.command("a", 10),
                             "--run", self.command("b", 10), "--", "--title", "two words")
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(out) as f:
            commands = [json.loads(line)["command"] for line in f]
        self.assertEqual(shlex.split(commands[0]),
                         ["/usr/bin/python3", self.fake, "--title", "two words", "--json"])

    def test_a_command_keeps_its_own_arguments_before_the_shared_flags(self):
        done = self.run_tool("--rounds", "1", "--run", self.command("a", 10),
                             "--run", self.command("b", 10, " --slow"), "--", "--json")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.logged()[1]["argv"], ["--slow", "--json"])
        self.assertIn("a / b = 0.50x", done.stdout)

    def test_an_inherited_wait_policy_is_left_out_and_a_command_may_set_its_own(self):
        env = dict(os.environ, OMP_WAIT_POLICY="passive")
        done = self.run_tool("--rounds", "1", "--run", self.command("a", 10),
                             "--run", self.command("b", 10).replace("=", "=OMP_WAIT_POLICY=active ", 1),
                             env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual([r["wait"] for r in self.logged()], [None, "active"])
        self.assertEqual(done.stderr.strip(), "ab_rounds.py: note: OMP_WAIT_POLICY='passive' in "
                         "the environment is left out (a command's own OMP_WAIT_POLICY= word "
                         "sets it)")

    def test_a_failing_command_is_named_in_one_line(self):
        failing = f"bad=/usr/bin/python3 -c \"import sys; sys.exit('no such cell: x')\""
        done = self.run_tool("--rounds", "1", "--run", self.command("a", 10), "--run", failing)
        self.assertNotEqual(done.returncode, 0)
        self.assertEqual(done.stderr.strip(), "ab_rounds.py: bad exited with 1: 'no such cell: x'")

    def test_a_command_without_a_time_is_refused(self):
        silent = "quiet=/usr/bin/python3 -c \"print('{\\\"other\\\": 1}')\""
        done = self.run_tool("--rounds", "1", "--run", self.command("a", 10), "--run", silent)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("quiet printed no JSON object with median_ms", done.stderr)
        self.assertEqual(len(done.stderr.strip().splitlines()), 1)

    def test_bad_arguments_get_one_line_each(self):
        cases = [
            (["--rounds", "0", "--run", "a=x", "--run", "b=y"], "--rounds must be >= 1, got 0"),
            (["--run", "a=x"], "at least two --run"),
            (["--run", "a=x", "--run", "a=y"], "names must differ"),
            (["--run", "no command", "--run", "b=y"], "must be NAME=COMMAND"),
            (["--run", "a=X=1", "--run", "b=y"], "a: no command after its name"),
            (["--run", "a='open", "--run", "b=y"], "a: cannot split its command"),
            (["--run", "a=/no/such/program", "--run", "b=y"], "a: cannot run '/no/such/program'"),
            (["--out", "/no/such/dir/runs.jsonl", "--run", "a=x", "--run", "b=y"],
             "--out '/no/such/dir/runs.jsonl': No such file or directory"),
        ]
        for argv, message in cases:
            with self.subTest(argv=argv):
                done = self.run_tool(*argv)
                self.assertNotEqual(done.returncode, 0)
                self.assertIn(message, done.stderr)
                self.assertEqual(len(done.stderr.strip().splitlines()), 1, done.stderr)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest])


if __name__ == "__main__":
    main()
