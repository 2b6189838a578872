"""The customer API v1: sending (`api.v1.send`, with `api.rate_limits` for
the answers of a limited account) and reading messages back (`api.v1.messages`)."""
