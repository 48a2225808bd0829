"""Subnet plumbing shared by miners and validators: chain port, miner HTTP API, Yuma consensus, local stand-in."""
