"""Subnet miners: reference solvers and (later) the miner server."""
