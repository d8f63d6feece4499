// ODDRX1F: ECP5 generic x1 DDR output (2:1), behavioural model.
//
// Lattice documentation implemented (TN1265 / FPGA-TN-02035, GDDRX1_TX,
// ODDRX1F port list: "D0: data input, first to be sent out; D1: second to be
// sent out; Q: DDR data output on both edges of SCLK"):
//   - D0, D1 are taken on the SCLK rising edge; Q sends D0 while SCLK is high
//     and D1 while it is low.
//   - RST (active high, asynchronous) clears every register (Q = 0).
//   - GSR: accepted, ignored.
// Latency of this model (the pipeline depth of Lattice's simulation library):
//   the pair taken at the SCLK rising edge t is sent as D0 during
//   [t + 2T, t + 2.5T) and D1 during [t + 2.5T, t + 3T).
module ODDRX1F (SCLK, RST, D0, D1, Q);
    parameter GSR = "ENABLED";
    input SCLK, RST, D0, D1;
    output Q;

    reg [1:0] taken, staged;
    reg bit_high, bit_low;

    initial begin
        taken = 2'b0; staged = 2'b0; bit_high = 1'b0; bit_low = 1'b0;
    end

    always @(posedge SCLK or posedge RST)
        if (RST) begin
            taken <= 2'b0; staged <= 2'b0; bit_low <= 1'b0;
        end else begin
            taken   <= {D1, D0};
            staged  <= taken;
            bit_low <= staged[1];
        end

    // set up the high-phase bit on the falling edge before it: glitch-free Q
    always @(negedge SCLK or posedge RST)
        if (RST) bit_high <= 1'b0;
        else     bit_high <= staged[0];

    assign Q = SCLK ? bit_high : bit_low;
endmodule
