// IDDRX1F: ECP5 generic x1 DDR input (1:2), behavioural model.
//
// Lattice documentation implemented (TN1265 / FPGA-TN-02035, GDDRX1_RX,
// IDDRX1F port list; FPGA Libraries Reference Guide):
//   - D is sampled on the rising and the falling edge of SCLK; Q0 is the bit
//     taken on the rising edge, Q1 the one taken on the following falling
//     edge, so Q0 is the earlier of the two. Both are presented together,
//     registered on the next SCLK rising edge.
//   - RST (active high, asynchronous) clears every register (Q0 = Q1 = 0).
//   - GSR: accepted, ignored.
// Latency: the bits sampled at the SCLK rising edge t and at t + T/2 appear
// on Q0, Q1 after the SCLK rising edge t + T (one SCLK cycle).
module IDDRX1F (D, SCLK, RST, Q0, Q1);
    parameter GSR = "ENABLED";
    input D, SCLK, RST;
    output Q0, Q1;

    reg at_rise, at_fall, q0, q1;

    initial begin
        at_rise = 1'b0; at_fall = 1'b0; q0 = 1'b0; q1 = 1'b0;
    end

    always @(posedge SCLK or posedge RST)
        if (RST) begin
            at_rise <= 1'b0; q0 <= 1'b0; q1 <= 1'b0;
        end else begin
            at_rise <= D;
            q0 <= at_rise;
            q1 <= at_fall;
        end

    always @(negedge SCLK or posedge RST)
        if (RST) at_fall <= 1'b0;
        else     at_fall <= D;

    assign Q0 = q0;
    assign Q1 = q1;
endmodule
