//go:build amd64 && !purego

#include "textflag.h"

// func packB16AVX(kc int, src *float32, ldb int, dst *float32)
//
// Copies kc rows of 16 floats, row stride ldb, into dst contiguously: one
// full panel of packB.
TEXT ·packB16AVX(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8

loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop
	VZEROUPPER
	RET

// func transpose8x8Panel(blocks int, src *float32, ldb int, dst *float32)
//
// For each of `blocks` 8×8 blocks along the rows of B: reads 8 floats from
// each of 8 rows (row stride ldb, block b at column 8b) and writes them
// transposed as 8 runs of 8 floats with stride 16 floats (one half of the
// 16-wide packed B rows): dst[(8b+i)·16 + r] = src[r·ldb + 8b + i].
TEXT ·transpose8x8Panel(SB), NOSPLIT, $0-32
	MOVQ blocks+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9   // 3·ldb
	LEAQ (SI)(R8*4), R10  // row 4

loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (R10), Y4
	VMOVUPS (R10)(R8*1), Y5
	VMOVUPS (R10)(R8*2), Y6
	VMOVUPS (R10)(R9*1), Y7

	// Interleave row pairs: Y8 = r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5], ...
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15

	// Four-row columns: Y0 = r0..r3[0] | r0..r3[4], Y1 = r0..r3[1] | [5], ...
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7

	// Join the halves: column i = low(rows 0-3), low(rows 4-7) for i < 4
	// and the high lanes for i ≥ 4.
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15

	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 64(DI)
	VMOVUPS Y10, 128(DI)
	VMOVUPS Y11, 192(DI)
	VMOVUPS Y12, 256(DI)
	VMOVUPS Y13, 320(DI)
	VMOVUPS Y14, 384(DI)
	VMOVUPS Y15, 448(DI)

	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $512, DI
	DECQ CX
	JNZ loop
	VZEROUPPER
	RET

// func packA6TransAVX(kc int, src *float32, lda int, dst *float32)
//
// Copies kc runs of 6 floats, stride lda, into dst contiguously: one full
// panel of packATrans.
TEXT ·packA6TransAVX(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8

loop:
	VMOVUPS (SI), X0
	VMOVQ 16(SI), X1
	VMOVUPS X0, (DI)
	VMOVQ X1, 16(DI)
	ADDQ R8, SI
	ADDQ $24, DI
	DECQ CX
	JNZ loop
	RET

// func packA6AVX(blocks int, src *float32, lda int, dst *float32)
//
// For each of `blocks` runs of 8 k steps: reads 8 floats from each of 6
// rows of A (stride lda) and writes them interleaved, 6 per k step:
// dst[(8b+i)·6 + r] = src[r·lda + 8b + i]. It is the 8×8 transpose of
// transpose8x8Panel with rows 6 and 7 zero, keeping 6 of each column.
TEXT ·packA6AVX(SB), NOSPLIT, $0-32
	MOVQ blocks+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9   // 3·lda
	LEAQ (SI)(R8*4), R10  // row 4

loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (R10), Y4
	VMOVUPS (R10)(R8*1), Y5

	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VXORPS Y14, Y14, Y14 // rows 6 and 7 interleaved: zero
	VXORPS Y15, Y15, Y15

	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7

	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15

	// Column i: rows 0-3 in the low lane, rows 4-5 at the start of the high.
	VMOVUPS X8, (DI)
	VEXTRACTF128 $1, Y8, X0
	VMOVQ X0, 16(DI)
	VMOVUPS X9, 24(DI)
	VEXTRACTF128 $1, Y9, X1
	VMOVQ X1, 40(DI)
	VMOVUPS X10, 48(DI)
	VEXTRACTF128 $1, Y10, X2
	VMOVQ X2, 64(DI)
	VMOVUPS X11, 72(DI)
	VEXTRACTF128 $1, Y11, X3
	VMOVQ X3, 88(DI)
	VMOVUPS X12, 96(DI)
	VEXTRACTF128 $1, Y12, X4
	VMOVQ X4, 112(DI)
	VMOVUPS X13, 120(DI)
	VEXTRACTF128 $1, Y13, X5
	VMOVQ X5, 136(DI)
	VMOVUPS X14, 144(DI)
	VEXTRACTF128 $1, Y14, X6
	VMOVQ X6, 160(DI)
	VMOVUPS X15, 168(DI)
	VEXTRACTF128 $1, Y15, X7
	VMOVQ X7, 184(DI)

	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $192, DI
	DECQ CX
	JNZ loop
	VZEROUPPER
	RET
