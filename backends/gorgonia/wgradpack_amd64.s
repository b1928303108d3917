//go:build amd64 && !purego && !openblas

#include "textflag.h"

// TRANSPOSE8 reads 8 floats from each of 8 rows, row r at SI plus its
// byte offset in AX, BX, R8..R13, and writes them transposed as 8 runs of
// 8 floats with stride 16 floats from DI: DI[i·16 + r] = row r[i].
#define TRANSPOSE8 \
	VMOVUPS (SI)(AX*1), Y0; \
	VMOVUPS (SI)(BX*1), Y1; \
	VMOVUPS (SI)(R8*1), Y2; \
	VMOVUPS (SI)(R9*1), Y3; \
	VMOVUPS (SI)(R10*1), Y4; \
	VMOVUPS (SI)(R11*1), Y5; \
	VMOVUPS (SI)(R12*1), Y6; \
	VMOVUPS (SI)(R13*1), Y7; \
	VUNPCKLPS Y1, Y0, Y8; \
	VUNPCKHPS Y1, Y0, Y9; \
	VUNPCKLPS Y3, Y2, Y10; \
	VUNPCKHPS Y3, Y2, Y11; \
	VUNPCKLPS Y5, Y4, Y12; \
	VUNPCKHPS Y5, Y4, Y13; \
	VUNPCKLPS Y7, Y6, Y14; \
	VUNPCKHPS Y7, Y6, Y15; \
	VSHUFPS $0x44, Y10, Y8, Y0; \
	VSHUFPS $0xEE, Y10, Y8, Y1; \
	VSHUFPS $0x44, Y11, Y9, Y2; \
	VSHUFPS $0xEE, Y11, Y9, Y3; \
	VSHUFPS $0x44, Y14, Y12, Y4; \
	VSHUFPS $0xEE, Y14, Y12, Y5; \
	VSHUFPS $0x44, Y15, Y13, Y6; \
	VSHUFPS $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8; \
	VPERM2F128 $0x20, Y5, Y1, Y9; \
	VPERM2F128 $0x20, Y6, Y2, Y10; \
	VPERM2F128 $0x20, Y7, Y3, Y11; \
	VPERM2F128 $0x31, Y4, Y0, Y12; \
	VPERM2F128 $0x31, Y5, Y1, Y13; \
	VPERM2F128 $0x31, Y6, Y2, Y14; \
	VPERM2F128 $0x31, Y7, Y3, Y15; \
	VMOVUPS Y8, (DI); \
	VMOVUPS Y9, 64(DI); \
	VMOVUPS Y10, 128(DI); \
	VMOVUPS Y11, 192(DI); \
	VMOVUPS Y12, 256(DI); \
	VMOVUPS Y13, 320(DI); \
	VMOVUPS Y14, 384(DI); \
	VMOVUPS Y15, 448(DI)

// LOADOFFS loads 8 row offsets (in floats) from (DX) as byte offsets.
#define LOADOFFS \
	MOVQ 0(DX), AX; \
	MOVQ 8(DX), BX; \
	MOVQ 16(DX), R8; \
	MOVQ 24(DX), R9; \
	MOVQ 32(DX), R10; \
	MOVQ 40(DX), R11; \
	MOVQ 48(DX), R12; \
	MOVQ 56(DX), R13; \
	SHLQ $2, AX; \
	SHLQ $2, BX; \
	SHLQ $2, R8; \
	SHLQ $2, R9; \
	SHLQ $2, R10; \
	SHLQ $2, R11; \
	SHLQ $2, R12; \
	SHLQ $2, R13

// func transposeRunAVX2(n int, src *float32, offs *[16]int, dst *float32)
//
// dst[i·16 + r] = src[offs[r] + i] for i in [0, n), r in [0, 16); n ≥ 8.
// Rows 0-7 fill the low half of each 16-float output row, rows 8-15 the
// high half. After the whole blocks of 8 pixels, the last n mod 8 pixels
// are done as the block of the last 8 pixels, which rewrites a few
// pixels with the same values.
TEXT ·transposeRunAVX2(SB), NOSPLIT, $0-32
	MOVQ offs+16(FP), DX
	LOADOFFS
	MOVQ n+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+24(FP), DI

low:
	CMPQ CX, $8
	JLT lowTail
	TRANSPOSE8
	ADDQ $32, SI
	ADDQ $512, DI
	SUBQ $8, CX
	JMP low

lowTail:
	TESTQ CX, CX
	JZ high
	// Back up by 8 − CX pixels: SI − 4·(8 − CX), DI − 64·(8 − CX).
	LEAQ -32(SI)(CX*4), SI
	SHLQ $6, CX
	LEAQ -512(DI)(CX*1), DI
	TRANSPOSE8

high:
	MOVQ offs+16(FP), DX
	ADDQ $64, DX
	LOADOFFS
	MOVQ n+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+24(FP), DI
	ADDQ $32, DI

highLoop:
	CMPQ CX, $8
	JLT highTail
	TRANSPOSE8
	ADDQ $32, SI
	ADDQ $512, DI
	SUBQ $8, CX
	JMP highLoop

highTail:
	TESTQ CX, CX
	JZ done
	LEAQ -32(SI)(CX*4), SI
	SHLQ $6, CX
	LEAQ -512(DI)(CX*1), DI
	TRANSPOSE8

done:
	VZEROUPPER
	RET

// func splitPairsAVX2(n int, src *float32, first, second *float32)
//
// first[j] = src[2j], second[j] = src[2j+1] for j in [0, n), n ≥ 8: eight
// pairs at a time, and the last n mod 8 as the last eight pairs again
// (the same values written twice).
TEXT ·splitPairsAVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ first+16(FP), DI
	MOVQ second+24(FP), DX

pairs:
	CMPQ CX, $8
	JLT pairsTail
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	// Y2 = s0 s2 s8 s10 | s4 s6 s12 s14, Y3 the odd ones likewise; the
	// 64-bit permute puts the quarters in order.
	VSHUFPS $0x88, Y1, Y0, Y2
	VSHUFPS $0xDD, Y1, Y0, Y3
	VPERMPD $0xD8, Y2, Y2
	VPERMPD $0xD8, Y3, Y3
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, (DX)
	ADDQ $64, SI
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, CX
	JMP pairs

pairsTail:
	TESTQ CX, CX
	JZ pairsDone
	// Back up by 8 − CX pairs.
	LEAQ -64(SI)(CX*8), SI
	LEAQ -32(DI)(CX*4), DI
	LEAQ -32(DX)(CX*4), DX
	MOVQ $8, CX
	JMP pairs

pairsDone:
	VZEROUPPER
	RET
