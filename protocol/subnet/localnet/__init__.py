"""The embedded local stand-in for a subtensor: subnet state, Yuma epochs, and an in-process bittensor Substrate."""
