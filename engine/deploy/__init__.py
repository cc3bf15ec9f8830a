"""Deployments and versions: validate and store models once, look up the deployed versions, compare them."""
