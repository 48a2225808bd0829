"""fabrica.node_client — the fabrication shop daemon: machine drivers (Marlin, GRBL) and the job loop."""
