"""The host link: UART, SLIP frames, the command engine, the register bank, the event framer."""
