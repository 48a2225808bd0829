"""Test peers for the node client: OctoPrint's virtual printer and our GRBL simulator behind ptys."""
