"""The embedded server: redlin's model over RESP2 and RESP3 on loopback, a test double with planted faults."""
