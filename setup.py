"""The one part of the build pyproject.toml cannot say: the catalogs and the sample street, kept at the repository's
top (locales/, sample/), ship inside the package as bot/locales and bot/sample (bot.i18n and bot.services.demo find
them with importlib.resources)."""

from setuptools import find_namespace_packages, setup

DATA = {"bot.locales": "locales", "bot.sample": "sample"}

packages = find_namespace_packages(include=["bot", "bot.*"])
for package, folder in DATA.items():
    packages += [package, *(f"{package}.{inner}" for inner in find_namespace_packages(where=folder))]
setup(packages=packages, package_dir=DATA)
