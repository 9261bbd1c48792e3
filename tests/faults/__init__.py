"""What the package promises under stress: real threads, sockets, servers and browsers."""
