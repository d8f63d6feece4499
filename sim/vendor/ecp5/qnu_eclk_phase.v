// qnu_eclk_phase: the SCLK phase that CLKDIVF (DIV="2.0"), IDDRX2F and ODDRX2F
// all derive from the same ECLK, RST and ALIGNWD. Not a Lattice primitive: a
// helper of these behavioural models, so that the three stay in step exactly
// as the silicon does when they share RST and ALIGNWD (TN1265: "the CLKDIV and
// the DDR registers must be reset by the same reset, released while the edge
// clock is stopped").
//
//   RST      active high, asynchronous. sclk_high = 0 while it is asserted.
//            The first ECLK rising edge after release arms the divider; the
//            second one is the first SCLK rising edge; from there sclk_high
//            toggles on every ECLK rising edge (divide by two).
//   ALIGNWD  synchronised to ECLK (two flops); on its rising edge the divider
//            skips one toggle, so SCLK slips by exactly one ECLK cycle.
module qnu_eclk_phase (
    input  ECLK,
    input  RST,
    input  ALIGNWD,
    output reg sclk_high
);
    reg armed;
    reg [1:0] align_sync;
    reg align_seen;

    wire slip = align_sync[1] & ~align_seen;

    initial begin
        sclk_high = 1'b0;
        armed = 1'b0;
        align_sync = 2'b00;
        align_seen = 1'b0;
    end

    always @(posedge ECLK or posedge RST) begin
        if (RST) begin
            sclk_high  <= 1'b0;
            armed      <= 1'b0;
            align_sync <= 2'b00;
            align_seen <= 1'b0;
        end else begin
            armed      <= 1'b1;
            align_sync <= {align_sync[0], ALIGNWD};
            align_seen <= align_sync[1];
            if (armed && !slip)
                sclk_high <= ~sclk_high;
        end
    end
endmodule
