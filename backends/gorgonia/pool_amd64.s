//go:build amd64 && !purego && !openblas

#include "textflag.h"

// Broadcast constants of poolKey32 and the lane offsets of the stride-2 windows.
DATA poolConst<>+0(SB)/4, $0x7fffffff // magnitude mask, and the key of every NaN
DATA poolConst<>+4(SB)/4, $0x7f800000 // +Inf's bits
DATA poolConst<>+8(SB)/4, $2          // offset of a window's third column
DATA poolConst<>+12(SB)/4, $16        // columns per block of eight windows
DATA poolConst<>+16(SB)/4, $0         // each lane's first column: 0, 2, ..., 14
DATA poolConst<>+20(SB)/4, $2
DATA poolConst<>+24(SB)/4, $4
DATA poolConst<>+28(SB)/4, $6
DATA poolConst<>+32(SB)/4, $8
DATA poolConst<>+36(SB)/4, $10
DATA poolConst<>+40(SB)/4, $12
DATA poolConst<>+44(SB)/4, $14
GLOBL poolConst<>(SB), RODATA|NOPTR, $48

// KEY turns the eight float32 in Y into poolKey32's int32 keys in place
// (Y12 magnitude mask, Y13 +Inf bits; clobbers Y10, Y11).
#define KEY(Y) \
	VPAND Y12, Y, Y10 \
	VPSRAD $31, Y, Y11 \
	VPXOR Y11, Y10, Y \
	VPSUBD Y11, Y, Y \
	VPCMPGTD Y13, Y10, Y10 \
	VPBLENDVB Y10, Y12, Y, Y

// func poolRowKeys3s2AVX2(row *float32, keys, ats *int32, blocks, base int)
//
// For windows j = 0 .. 8*blocks-1 of a row (columns 2j, 2j+1, 2j+2) sets
// keys[j] to the window's largest poolKey32 and ats[j] to base plus the
// column of its first occurrence. Reads row[0 .. 16*blocks+1].
TEXT ·poolRowKeys3s2AVX2(SB), NOSPLIT, $0-40
	MOVQ row+0(FP), SI
	MOVQ keys+8(FP), DI
	MOVQ ats+16(FP), DX
	MOVQ blocks+24(FP), CX
	VPBROADCASTD poolConst<>+0(SB), Y12
	VPBROADCASTD poolConst<>+4(SB), Y13
	VPBROADCASTD poolConst<>+8(SB), Y14
	VPBROADCASTD poolConst<>+12(SB), Y15
	VMOVDQU poolConst<>+16(SB), Y9 // first columns of this block's windows
	VPBROADCASTD base+32(FP), Y8
	VPADDD Y8, Y9, Y9
	TESTQ CX, CX
	JEQ done

loop:
	VMOVDQU 0(SI), Y0  // columns 0..7 of the block
	VMOVDQU 32(SI), Y1 // 8..15
	VMOVDQU 8(SI), Y2  // 2..9
	VMOVDQU 40(SI), Y3 // 10..17
	KEY(Y0)
	KEY(Y1)
	KEY(Y2)
	KEY(Y3)
	// Even columns (each window's first), odd (second), and the even
	// columns two further on (third), in window order.
	VSHUFPS $0x88, Y1, Y0, Y4
	VPERMQ $0xD8, Y4, Y4
	VSHUFPS $0xDD, Y1, Y0, Y5
	VPERMQ $0xD8, Y5, Y5
	VSHUFPS $0x88, Y3, Y2, Y6
	VPERMQ $0xD8, Y6, Y6
	// The second column wins only when strictly above the first, the
	// third only when strictly above both: the first maximum wins.
	VPCMPGTD Y4, Y5, Y7   // second > first
	VPBLENDVB Y7, Y5, Y4, Y4
	VPSRLD $31, Y7, Y8    // offset 1 where the second won, else 0
	VPCMPGTD Y4, Y6, Y7   // third > best
	VPBLENDVB Y7, Y6, Y4, Y4
	VPBLENDVB Y7, Y14, Y8, Y8
	VPADDD Y9, Y8, Y8
	VMOVDQU Y4, 0(DI)
	VMOVDQU Y8, 0(DX)
	VPADDD Y15, Y9, Y9
	ADDQ $64, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNE loop

done:
	VZEROUPPER
	RET
