"""The message catalogs, one folder per locale; installed inside the package as bot.locales."""
