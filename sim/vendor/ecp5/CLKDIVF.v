// CLKDIVF: ECP5 edge-clock divider, behavioural model (DIV = "2.0" only).
//
// Lattice documentation implemented (TN1265 / FPGA-TN-02035, "ECP5 and ECP5-5G
// High-Speed I/O Interface", CLKDIVF; FPGA Libraries Reference Guide):
//   - CLKI is the edge clock (ECLKSYNCB output); CDIVX = CLKI / DIV, the SCLK
//     of the x2 gearing primitives. DIV = "2.0": CDIVX toggles on every CLKI
//     rising edge, so its rising edges coincide with CLKI rising edges.
//   - RST (active high, asynchronous) resets the divider and holds CDIVX low.
//     Lattice requires the same RST on CLKDIVF and on the IDDRX2F/ODDRX2F it
//     clocks, released while ECLKSYNCB's STOP holds the edge clock, so that
//     all of them start counting on the same ECLK edge.
//     After release: the 1st CLKI rising edge arms the divider, the 2nd is the
//     first CDIVX rising edge.
//   - ALIGNWD: word alignment. A rising edge (synchronised to CLKI) slips
//     CDIVX by one CLKI cycle. (Lattice's own simulation library slips only on
//     every other pulse and leaves the odd bit to IDDRX2F's bit select; this
//     model keeps the coarse one-ECLK slip, which is what the word alignment
//     of a gearbox relies on. QNU's PHYs tie ALIGNWD to 0.)
//   - GSR: accepted, ignored (no global set/reset in simulation).
module CLKDIVF (CLKI, RST, ALIGNWD, CDIVX);
    parameter GSR = "DISABLED";
    parameter DIV = "2.0";
    input CLKI;
    input RST;
    input ALIGNWD;
    output CDIVX;

    initial begin
        if (DIV != "2.0") begin
            $display("CLKDIVF model: DIV=%s is not modelled (only \"2.0\")", DIV);
            $finish;
        end
    end

    qnu_eclk_phase phase (.ECLK(CLKI), .RST(RST), .ALIGNWD(ALIGNWD), .sclk_high(CDIVX));
endmodule
