// ECLKSYNCB: ECP5 edge-clock synchroniser / gate, behavioural model.
//
// Lattice documentation implemented (TN1265 / FPGA-TN-02035, ECLKSYNCB):
//   - ECLKO follows ECLKI while STOP is low.
//   - STOP high stops the edge clock: ECLKO is held low. STOP is used by the
//     reset sequence of the x2 gearing (stop, reset CLKDIVF and the DDR
//     registers, release the reset, restart), so that SCLK and ECLK start in
//     a known phase.
//   - STOP is synchronised to the clock and takes effect only while ECLKI is
//     low, so ECLKO never has a shortened (runt) high pulse. In this model it
//     is resampled on three ECLKI falling edges (Lattice's simulation library
//     uses a similar short chain); the gate starts closed at power-up.
module ECLKSYNCB (ECLKI, STOP, ECLKO);
    input ECLKI;
    input STOP;
    output ECLKO;

    reg [2:0] stop_sync;

    initial stop_sync = 3'b111;

    always @(negedge ECLKI)
        stop_sync <= {stop_sync[1:0], STOP};

    assign ECLKO = ECLKI & ~stop_sync[2];
endmodule
