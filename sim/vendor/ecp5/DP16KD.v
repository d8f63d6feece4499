// DP16KD: ECP5 sysMEM 18 Kbit block RAM, behavioural model.
//
// Lattice documentation implemented (FPGA-TN-02204 "ECP5 and ECP5-5G Memory
// Usage Guide", DP16KD and PDPW16KD; FPGA Libraries Reference Guide port list):
//   - True dual port: each port reads and writes DATA_WIDTH_x bits
//     (1, 2, 4, 9 or 18) at the word address ADx[13:k], k = 0, 1, 2, 3, 4.
//     In x18 mode ADx[1:0] are the byte-write enables of bits [8:0] and
//     [17:9]. The x1/x2/x4 modes use the 16 data bits, not the two
//     ninth bits (parity) that the x9/x18 modes add.
//   - Pseudo dual port (DATA_WIDTH_A = 36, as PDPW16KD and as Yosys maps a
//     36-bit memory): port A writes DIB[17:0]:DIA[17:0] at ADA[13:5] with
//     byte enables ADA[3:0] (9 bits each, low byte first); port B reads 36
//     bits at ADB[13:5] onto DOB[17:0]:DOA[17:0].
//   - A port acts on the rising edge of CLKx (the falling edge if CLKxMUX is
//     "INV") while CEx is high and CSx[2:0] equals CSDECODE_x. A write stores
//     DIx when WEx is high; the read register then holds, per WRITEMODE_x:
//     its old value ("NORMAL"), the data written ("WRITETHROUGH") or the
//     memory's value before the write ("READBEFOREWRITE"). Without a write it
//     takes the word at the address.
//   - RSTx clears the read register: synchronously at the clock edge
//     (RESETMODE "SYNC", regardless of CEx) or at once and while high
//     ("ASYNC"). REGMODE_x "OUTREG" adds an output register enabled by OCEx.
//   - INITVAL_00 .. INITVAL_3F hold the initial contents, 16 words of 18
//     bits per value at a 20-bit stride (the layout Yosys's mapper writes).
//   - GSR: accepted, ignored.
// Not modelled, refused at time zero with a message: ports of different
// widths (other than 36 with 36), and a read and a write of the same word
// through different ports in the same cycle, which reads the old value here
// (the data sheet leaves it undefined; Yosys adds bypass logic where a
// design needs the new one).
module DP16KD (
    input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
    input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
    input CEA, OCEA, CLKA, WEA, RSTA,
    input CSA2, CSA1, CSA0,
    output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
    input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
    input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
    input CEB, OCEB, CLKB, WEB, RSTB,
    input CSB2, CSB1, CSB0,
    output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
    parameter DATA_WIDTH_A = 18;
    parameter DATA_WIDTH_B = 18;
    parameter REGMODE_A = "NOREG";
    parameter REGMODE_B = "NOREG";
    parameter RESETMODE = "SYNC";
    parameter ASYNC_RESET_RELEASE = "SYNC";
    parameter CSDECODE_A = "0b000";
    parameter CSDECODE_B = "0b000";
    parameter WRITEMODE_A = "NORMAL";
    parameter WRITEMODE_B = "NORMAL";
    parameter CLKAMUX = "CLKA";
    parameter CLKBMUX = "CLKB";
    parameter GSR = "ENABLED";
    parameter INITVAL_00 = 320'h0; parameter INITVAL_01 = 320'h0; parameter INITVAL_02 = 320'h0; parameter INITVAL_03 = 320'h0;
    parameter INITVAL_04 = 320'h0; parameter INITVAL_05 = 320'h0; parameter INITVAL_06 = 320'h0; parameter INITVAL_07 = 320'h0;
    parameter INITVAL_08 = 320'h0; parameter INITVAL_09 = 320'h0; parameter INITVAL_0A = 320'h0; parameter INITVAL_0B = 320'h0;
    parameter INITVAL_0C = 320'h0; parameter INITVAL_0D = 320'h0; parameter INITVAL_0E = 320'h0; parameter INITVAL_0F = 320'h0;
    parameter INITVAL_10 = 320'h0; parameter INITVAL_11 = 320'h0; parameter INITVAL_12 = 320'h0; parameter INITVAL_13 = 320'h0;
    parameter INITVAL_14 = 320'h0; parameter INITVAL_15 = 320'h0; parameter INITVAL_16 = 320'h0; parameter INITVAL_17 = 320'h0;
    parameter INITVAL_18 = 320'h0; parameter INITVAL_19 = 320'h0; parameter INITVAL_1A = 320'h0; parameter INITVAL_1B = 320'h0;
    parameter INITVAL_1C = 320'h0; parameter INITVAL_1D = 320'h0; parameter INITVAL_1E = 320'h0; parameter INITVAL_1F = 320'h0;
    parameter INITVAL_20 = 320'h0; parameter INITVAL_21 = 320'h0; parameter INITVAL_22 = 320'h0; parameter INITVAL_23 = 320'h0;
    parameter INITVAL_24 = 320'h0; parameter INITVAL_25 = 320'h0; parameter INITVAL_26 = 320'h0; parameter INITVAL_27 = 320'h0;
    parameter INITVAL_28 = 320'h0; parameter INITVAL_29 = 320'h0; parameter INITVAL_2A = 320'h0; parameter INITVAL_2B = 320'h0;
    parameter INITVAL_2C = 320'h0; parameter INITVAL_2D = 320'h0; parameter INITVAL_2E = 320'h0; parameter INITVAL_2F = 320'h0;
    parameter INITVAL_30 = 320'h0; parameter INITVAL_31 = 320'h0; parameter INITVAL_32 = 320'h0; parameter INITVAL_33 = 320'h0;
    parameter INITVAL_34 = 320'h0; parameter INITVAL_35 = 320'h0; parameter INITVAL_36 = 320'h0; parameter INITVAL_37 = 320'h0;
    parameter INITVAL_38 = 320'h0; parameter INITVAL_39 = 320'h0; parameter INITVAL_3A = 320'h0; parameter INITVAL_3B = 320'h0;
    parameter INITVAL_3C = 320'h0; parameter INITVAL_3D = 320'h0; parameter INITVAL_3E = 320'h0; parameter INITVAL_3F = 320'h0;

    localparam PDP = DATA_WIDTH_A == 36;

    wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
    wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0};
    wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
    wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};
    wire clka = (CLKAMUX == "INV") ? ~CLKA : CLKA;
    wire clkb = (CLKBMUX == "INV") ? ~CLKB : CLKB;

    // 1024 words of 18 bits: the whole 18 Kbit
    reg [17:0] mem [0:1023];
    reg [35:0] read_a, read_b, out_a, out_b;

    // "0bxyz" -> 3'bxyz
    function [2:0] decode(input [8*5-1:0] text);
        decode = {text[23:16] == "1", text[15:8] == "1", text[7:0] == "1"};
    endfunction

    function [319:0] initval(input integer index);
        case (index)
            'h00: initval = INITVAL_00; 'h01: initval = INITVAL_01; 'h02: initval = INITVAL_02; 'h03: initval = INITVAL_03;
            'h04: initval = INITVAL_04; 'h05: initval = INITVAL_05; 'h06: initval = INITVAL_06; 'h07: initval = INITVAL_07;
            'h08: initval = INITVAL_08; 'h09: initval = INITVAL_09; 'h0A: initval = INITVAL_0A; 'h0B: initval = INITVAL_0B;
            'h0C: initval = INITVAL_0C; 'h0D: initval = INITVAL_0D; 'h0E: initval = INITVAL_0E; 'h0F: initval = INITVAL_0F;
            'h10: initval = INITVAL_10; 'h11: initval = INITVAL_11; 'h12: initval = INITVAL_12; 'h13: initval = INITVAL_13;
            'h14: initval = INITVAL_14; 'h15: initval = INITVAL_15; 'h16: initval = INITVAL_16; 'h17: initval = INITVAL_17;
            'h18: initval = INITVAL_18; 'h19: initval = INITVAL_19; 'h1A: initval = INITVAL_1A; 'h1B: initval = INITVAL_1B;
            'h1C: initval = INITVAL_1C; 'h1D: initval = INITVAL_1D; 'h1E: initval = INITVAL_1E; 'h1F: initval = INITVAL_1F;
            'h20: initval = INITVAL_20; 'h21: initval = INITVAL_21; 'h22: initval = INITVAL_22; 'h23: initval = INITVAL_23;
            'h24: initval = INITVAL_24; 'h25: initval = INITVAL_25; 'h26: initval = INITVAL_26; 'h27: initval = INITVAL_27;
            'h28: initval = INITVAL_28; 'h29: initval = INITVAL_29; 'h2A: initval = INITVAL_2A; 'h2B: initval = INITVAL_2B;
            'h2C: initval = INITVAL_2C; 'h2D: initval = INITVAL_2D; 'h2E: initval = INITVAL_2E; 'h2F: initval = INITVAL_2F;
            'h30: initval = INITVAL_30; 'h31: initval = INITVAL_31; 'h32: initval = INITVAL_32; 'h33: initval = INITVAL_33;
            'h34: initval = INITVAL_34; 'h35: initval = INITVAL_35; 'h36: initval = INITVAL_36; 'h37: initval = INITVAL_37;
            'h38: initval = INITVAL_38; 'h39: initval = INITVAL_39; 'h3A: initval = INITVAL_3A; 'h3B: initval = INITVAL_3B;
            'h3C: initval = INITVAL_3C; 'h3D: initval = INITVAL_3D; 'h3E: initval = INITVAL_3E; default: initval = INITVAL_3F;
        endcase
    endfunction

    function supported_width(input integer width);
        supported_width = width == 1 || width == 2 || width == 4 || width == 9 || width == 18;
    endfunction

    integer i;
    initial begin
        if (PDP ? DATA_WIDTH_B != 36 : !(supported_width(DATA_WIDTH_A) && DATA_WIDTH_A == DATA_WIDTH_B)) begin
            $display("DP16KD model: DATA_WIDTH_A=%0d with DATA_WIDTH_B=%0d is not modelled", DATA_WIDTH_A, DATA_WIDTH_B);
            $finish;
        end
        for (i = 0; i < 1024; i = i + 1)
            mem[i] = initval(i / 16) >> ((i % 16) * 20);
        read_a = 0; read_b = 0; out_a = 0; out_b = 0;
    end

    // x1/x2/x4: data bit d of an 18-bit word is physical bit d + (d >= 8) (the ninth bits skipped)
    function integer data_bit(input integer d);
        data_bit = d + (d >= 8);
    endfunction

    // x1/x2/x4: the word address is ADx[13:0], ADx[13:1], ADx[13:2]
    function integer narrow_address(input integer width, input [13:0] addr);
        narrow_address = width == 1 ? addr : width == 2 ? addr[13:1] : addr[13:2];
    endfunction

    // the word of `width` bits at word address `addr` (width < 36)
    function [17:0] get_word(input integer width, input [13:0] addr);
        integer b, per;
        reg [17:0] w;
        begin
            get_word = 0;
            if (width == 18) get_word = mem[addr[13:4]];
            else if (width == 9) begin
                w = mem[addr[13:4]];
                get_word = addr[3] ? w[17:9] : w[8:0];
            end else begin
                per = 16 / width;                       // words per 18-bit memory word
                w = mem[narrow_address(width, addr) / per];
                for (b = 0; b < width; b = b + 1)
                    get_word[b] = w[data_bit((narrow_address(width, addr) % per) * width + b)];
            end
        end
    endfunction

    // memory word index and its new 18-bit value after writing `data` (width < 36)
    task put_word(input integer width, input [13:0] addr, input [17:0] data, output integer index,
                  output [17:0] value);
        integer b, per;
        begin
            if (width == 18) begin
                index = addr[13:4];
                value = mem[index];
                if (addr[0]) value[8:0] = data[8:0];        // ADx[1:0]: byte enables
                if (addr[1]) value[17:9] = data[17:9];
            end else if (width == 9) begin
                index = addr[13:4];
                value = mem[index];
                if (addr[3]) value[17:9] = data[8:0]; else value[8:0] = data[8:0];
            end else begin
                per = 16 / width;
                index = narrow_address(width, addr) / per;
                value = mem[index];
                for (b = 0; b < width; b = b + 1)
                    value[data_bit((narrow_address(width, addr) % per) * width + b)] = data[b];
            end
        end
    endtask

    wire selected_a = {CSA2, CSA1, CSA0} == decode(CSDECODE_A);
    wire selected_b = {CSB2, CSB1, CSB0} == decode(CSDECODE_B);
    wire async_reset = RESETMODE == "ASYNC";

    wire reset_a = RSTA & async_reset;
    wire reset_b = RSTB & async_reset;

    // port A: writes (and, true dual port, reads)
    integer index_a;
    reg [17:0] value_a;
    always @(posedge clka or posedge reset_a) begin
        if (RSTA) read_a <= 0;
        else if (CEA && selected_a && WEA && PDP) begin
            // 36 bits in two memory words, byte enables on ADA[3:0]
            if (ada[0]) mem[{ada[13:5], 1'b0}][8:0] <= dia[8:0];
            if (ada[1]) mem[{ada[13:5], 1'b0}][17:9] <= dia[17:9];
            if (ada[2]) mem[{ada[13:5], 1'b1}][8:0] <= dib[8:0];
            if (ada[3]) mem[{ada[13:5], 1'b1}][17:9] <= dib[17:9];
        end else if (CEA && selected_a && !PDP) begin
            if (WEA) begin
                put_word(DATA_WIDTH_A, ada, dia, index_a, value_a);
                mem[index_a] <= value_a;
                if (WRITEMODE_A == "WRITETHROUGH") read_a <= get_word_of(DATA_WIDTH_A, ada, value_a);
                else if (WRITEMODE_A == "READBEFOREWRITE") read_a <= get_word(DATA_WIDTH_A, ada);
            end else
                read_a <= get_word(DATA_WIDTH_A, ada);
        end
    end

    // port B: reads (and, true dual port, writes)
    integer index_b;
    reg [17:0] value_b;
    always @(posedge clkb or posedge reset_b) begin
        if (RSTB) read_b <= 0;
        else if (CEB && selected_b) begin
            if (PDP)
                read_b <= {mem[{adb[13:5], 1'b1}], mem[{adb[13:5], 1'b0}]};
            else if (WEB) begin
                put_word(DATA_WIDTH_B, adb, dib, index_b, value_b);
                mem[index_b] <= value_b;
                if (WRITEMODE_B == "WRITETHROUGH") read_b <= get_word_of(DATA_WIDTH_B, adb, value_b);
                else if (WRITEMODE_B == "READBEFOREWRITE") read_b <= get_word(DATA_WIDTH_B, adb);
            end else
                read_b <= get_word(DATA_WIDTH_B, adb);
        end
    end

    // the word at `addr` within an 18-bit memory word `w` (for write-through)
    function [17:0] get_word_of(input integer width, input [13:0] addr, input [17:0] w);
        integer b, per;
        begin
            get_word_of = 0;
            if (width == 18) get_word_of = w;
            else if (width == 9) get_word_of = addr[3] ? w[17:9] : w[8:0];
            else begin
                per = 16 / width;
                for (b = 0; b < width; b = b + 1)
                    get_word_of[b] = w[data_bit((narrow_address(width, addr) % per) * width + b)];
            end
        end
    endfunction

    // optional output registers
    always @(posedge clka) if (OCEA) out_a <= read_a;
    always @(posedge clkb) if (OCEB) out_b <= read_b;
    wire [35:0] do_a = (REGMODE_A == "OUTREG") ? out_a : read_a;
    wire [35:0] do_b = (REGMODE_B == "OUTREG") ? out_b : read_b;
    // in 36-bit mode port B's 36 bits come out on DOB:DOA
    wire [17:0] doa = PDP ? do_b[17:0] : do_a[17:0];
    wire [17:0] dob = PDP ? do_b[35:18] : do_b[17:0];
    assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = doa;
    assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = dob;
endmodule
