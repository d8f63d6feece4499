// IDDRX2F: ECP5 generic x2 DDR input gearing (1:4), behavioural model.
//
// Lattice documentation implemented (TN1265 / FPGA-TN-02035, GDDRX2_RX,
// IDDRX2F port list; FPGA Libraries Reference Guide):
//   - D is sampled on both edges of ECLK; four bits per SCLK cycle (SCLK =
//     ECLK / 2 from CLKDIVF DIV="2.0") come out on Q0..Q3, registered on SCLK.
//   - Q0 is the first (earliest) bit received, Q3 the last.
//   - RST (active high, asynchronous) clears every register (Q0..Q3 = 0) and
//     restarts the word phase; it must be CLKDIVF's RST, released while
//     ECLKSYNCB stops ECLK, so that words begin at SCLK rising edges.
//   - ALIGNWD: word alignment, a rising edge slips the word boundary by one
//     ECLK cycle (two bits), in step with CLKDIVF's ALIGNWD (see CLKDIVF.v).
//   - GSR: accepted, ignored.
// Latency of this model (the pipeline of Lattice's simulation library):
//   the four bits sampled at the ECLK edges t, t+UI, t+2UI, t+3UI, where t is
//   an SCLK rising edge, appear on Q0..Q3 after the SCLK rising edge at
//   t + 2 SCLK periods (UI = ECLK period / 2).
module IDDRX2F (D, SCLK, ECLK, RST, ALIGNWD, Q3, Q2, Q1, Q0);
    parameter GSR = "ENABLED";
    input D, SCLK, ECLK, RST, ALIGNWD;
    output Q3, Q2, Q1, Q0;

    wire sclk_high;     // level SCLK has between this ECLK edge and the next
    qnu_eclk_phase phase (.ECLK(ECLK), .RST(RST), .ALIGNWD(ALIGNWD), .sclk_high(sclk_high));

    reg at_rise, at_fall;       // D at the last ECLK rising / falling edge
    reg [3:0] window;           // the last four bits, window[0] the earliest
    reg [3:0] held;             // the word handed over to SCLK
    reg [3:0] q;

    initial begin
        at_rise = 1'b0; at_fall = 1'b0; window = 4'b0; held = 4'b0; q = 4'b0;
    end

    always @(posedge ECLK or posedge RST)
        if (RST) at_rise <= 1'b0;
        else     at_rise <= D;

    always @(negedge ECLK or posedge RST)
        if (RST) at_fall <= 1'b0;
        else     at_fall <= D;

    // On every ECLK rising edge the pair of bits of the ECLK cycle just ended
    // moves in; on the edge where SCLK falls (mid SCLK cycle) the window,
    // which then holds one whole SCLK cycle of bits, is handed over.
    always @(posedge ECLK or posedge RST) begin
        if (RST) begin
            window <= 4'b0;
            held   <= 4'b0;
        end else begin
            window <= {at_fall, at_rise, window[3:2]};
            if (sclk_high)
                held <= window;
        end
    end

    always @(posedge SCLK or posedge RST)
        if (RST) q <= 4'b0;
        else     q <= held;

    assign {Q3, Q2, Q1, Q0} = q;
endmodule
