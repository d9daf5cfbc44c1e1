"""Builds and installs the Python package rnnwave (docs/python.md):

    python3 -m venv --system-site-packages .venv
    .venv/bin/pip install --no-build-isolation --no-index .

setuptools drives CMake: the extension rnnwave._core is the CMake target rnnwave_python,
built in a persistent folder inside the source tree, so a second install recompiles only
what changed. That folder is build-python/ unless $RNNWAVE_BUILD_DIR names another (the
README's scripts use build/, so the library is compiled once for the tool and the
package). The pure-Python modules are in python/rnnwave/.
"""
import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
BUILD_DIR = os.path.abspath(os.environ.get("RNNWAVE_BUILD_DIR") or os.path.join(ROOT, "build-python"))


class CMakeExtension(Extension):
    """An extension whose shared object CMake builds (target `target`)."""

    def __init__(self, name, target):
        super().__init__(name, sources=[])
        self.target = target


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        configure = ["cmake", "-S", ROOT, "-B", BUILD_DIR, "-DRNNWAVE_PYTHON=ON",
                     # The real interpreter, not a venv's link to it, which may be deleted
                     # while the build folder stays.
                     f"-DPython3_EXECUTABLE={os.path.realpath(sys.executable)}"]
        if not os.path.exists(os.path.join(BUILD_DIR, "CMakeCache.txt")):
            # A folder of our own: the library and the module only.
            configure += ["-DCMAKE_BUILD_TYPE=Release", "-DRNNWAVE_TESTS=OFF",
                          "-DRNNWAVE_BENCH=OFF"]
            if shutil.which("ccache"):
                configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        subprocess.run(configure, check=True, stdout=subprocess.DEVNULL)
        jobs = str(os.cpu_count() or 1)
        subprocess.run(["cmake", "--build", BUILD_DIR, "--target", ext.target, "-j", jobs],
                       check=True)
        built = glob.glob(os.path.join(BUILD_DIR, "python", "_core.*.so"))
        if len(built) != 1:
            sys.exit(f"setup.py: expected one _core.*.so in {BUILD_DIR}/python, found {built}")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built[0], target)


os.makedirs(os.path.join(BUILD_DIR, "setuptools"), exist_ok=True)
setup(
    name="rnnwave",
    version="0.1.0",
    description="Task-parallel recurrent neural networks (RNN, LSTM, GRU) on multi-core CPUs, "
                "for numpy and PyTorch",
    python_requires=">=3.9",
    packages=["rnnwave"],
    package_dir={"": "python"},
    ext_modules=[CMakeExtension("rnnwave._core", target="rnnwave_python")],
    cmdclass={"build_ext": CMakeBuild},
    install_requires=["numpy"],
    extras_require={"torch": ["torch"]},
    options={"build": {"build_base": os.path.join(BUILD_DIR, "setuptools")},
             "egg_info": {"egg_base": os.path.join(BUILD_DIR, "setuptools")}},
    zip_safe=False,
)
