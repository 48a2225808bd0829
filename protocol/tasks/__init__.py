"""Subnet task wire schemas (versioned, shared by miners and validators) and their file loaders."""
