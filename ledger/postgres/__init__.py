"""What `ledger.pgstore` builds on: a batch's events folded into message rows, and
the time partitions of the growing tables (made ahead, old days dropped)."""
