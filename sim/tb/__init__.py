"""cocotb testbenches: drivers, monitors and scoreboards for the gateware."""
