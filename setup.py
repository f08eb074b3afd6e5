"""Installs mindgencast and its ``mindgencast`` console command."""

import os

from setuptools import find_packages, setup

_HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    scope = {}
    with open(os.path.join(_HERE, "mindgencast", "version.py")) as f:
        exec(f.read(), scope)
    return scope["__version__"]


def _requirements():
    with open(os.path.join(_HERE, "requirements.txt")) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


setup(
    name="mindgencast",
    version=_version(),
    description="GenCast (diffusion ensemble weather forecasting) in MindSpore",
    long_description=open(os.path.join(_HERE, "README.md")).read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9,<3.12",
    # configs/ (the published and tiny model configs) ships as mindgencast.configs.
    packages=find_packages(include=["mindgencast", "mindgencast.*"]) + ["mindgencast.configs"],
    package_dir={"mindgencast.configs": "configs"},
    package_data={"mindgencast.configs": ["*.yaml"],
                  "mindgencast.pretrained": ["*.md", "*/*.ckpt", "*/*.yaml"]},
    install_requires=_requirements(),
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3.5", "properscoring==0.1", "nbclient>=0.10", "nbformat>=5.9", "ipykernel>=6.29",
                 "zarr>=2.16,<3", "cfgrib>=0.9.14", "eccodes>=2.37"],
        "zarr": ["zarr>=2.16,<3"],
        "grib": ["cfgrib>=0.9.14", "eccodes>=2.37"],
        "maps": ["cartopy>=0.22"],
    },
    entry_points={"console_scripts": ["mindgencast=mindgencast.cli.main:main"]},
)
