"""The sample street (grid.csv) the console demo starts on; installed inside the package as bot.sample."""
