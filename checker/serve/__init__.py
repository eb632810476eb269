"""The embedded server: redlin's model over RESP2 on loopback, a test double with planted faults."""
