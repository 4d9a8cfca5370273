"""The HTTP service: a read-only SPARQL 1.1 endpoint, stored queries, exports and resolvable IRIs."""
