"""The Community Supports network: catalog, plan offerings, contracts, capacity.

Filled in by the Community Supports issue.
"""
