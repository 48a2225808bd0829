"""Reference solvers a new miner starts from."""
