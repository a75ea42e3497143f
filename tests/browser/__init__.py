"""The browser tests: a package, so that their demo server (package-scoped) stops after the last of them."""
