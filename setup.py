"""The one part of the build pyproject.toml cannot say: the catalogs and the sample street, kept at the repository's
top (locales/, sample/), ship inside the package as bot/locales and bot/sample."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["bot", "bot.*"]), "bot.locales", "bot.sample"],
      package_dir={"bot.locales": "locales", "bot.sample": "sample"})
