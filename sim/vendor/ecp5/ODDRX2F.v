// ODDRX2F: ECP5 generic x2 DDR output gearing (4:1), behavioural model.
//
// Lattice documentation implemented (TN1265 / FPGA-TN-02035, GDDRX2_TX,
// ODDRX2F port list; FPGA Libraries Reference Guide):
//   - D0..D3 are taken on the SCLK rising edge and sent on both edges of
//     ECLK (SCLK = ECLK / 2 from CLKDIVF DIV="2.0"); D0 is the first bit sent
//     out, D3 the last.
//   - RST (active high, asynchronous) clears every register (Q = 0) and
//     restarts the word phase; it must be CLKDIVF's RST, released while
//     ECLKSYNCB stops ECLK.
//   - GSR: accepted, ignored.
// Latency of this model (the pipeline depth of Lattice's simulation library):
//   the word on D0..D3 at the SCLK rising edge t goes out on Q as D0 during
//   [t', t'+UI), D1 during [t'+UI, t'+2UI), D2, D3 after it, with t' = t + 2
//   SCLK periods (UI = ECLK period / 2).
module ODDRX2F (SCLK, ECLK, RST, D3, D2, D1, D0, Q);
    parameter GSR = "ENABLED";
    input SCLK, ECLK, RST, D3, D2, D1, D0;
    output Q;

    wire sclk_high;
    qnu_eclk_phase phase (.ECLK(ECLK), .RST(RST), .ALIGNWD(1'b0), .sclk_high(sclk_high));

    reg [3:0] taken;        // D3..D0 at the SCLK rising edge
    reg [3:0] staged;       // handed over to ECLK mid SCLK cycle
    reg [3:0] word;         // the word being sent
    reg bit_high, bit_low;  // Q while ECLK is high / low

    initial begin
        taken = 4'b0; staged = 4'b0; word = 4'b0; bit_high = 1'b0; bit_low = 1'b0;
    end

    always @(posedge SCLK or posedge RST)
        if (RST) taken <= 4'b0;
        else     taken <= {D3, D2, D1, D0};

    // On the ECLK edge where SCLK falls: stage the new word, start the staged
    // one. Bits for the high phase are set up on the falling edge before it,
    // bits for the low phase on the rising edge before it: glitch-free Q.
    always @(posedge ECLK or posedge RST) begin
        if (RST) begin
            staged  <= 4'b0;
            word    <= 4'b0;
            bit_low <= 1'b0;
        end else if (sclk_high) begin
            staged  <= taken;
            word    <= staged;
            bit_low <= word[3];
        end else begin
            bit_low <= word[1];
        end
    end

    always @(negedge ECLK or posedge RST)
        if (RST)            bit_high <= 1'b0;
        else if (sclk_high) bit_high <= word[2];
        else                bit_high <= word[0];

    assign Q = ECLK ? bit_high : bit_low;
endmodule
