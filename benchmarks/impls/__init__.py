"""One module per implementation: ormer, the raw drivers, and each peer ORM."""
