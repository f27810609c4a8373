"""ormer's benchmark suite (not a test suite: ``make bench``, never ``make test``)."""
